"""The fields states share, compiled once: paths, payload templates, Retry and Catch.

Each method reports what is wrong through ``problem`` (naming the state and field) and returns
None or a harmless stand-in, so one pass over a definition finds every problem in it. JSONPath
fields compile to paths and ``.$`` templates (reading ``$``, ``$$`` and ``$name`` variables);
JSONata fields to templates whose ``{% %}`` strings are expressions (``jsonata``).
"""

from __future__ import annotations

import json
from typing import Any

from stepline.engine.definition.states import Catcher, Evaluator, Retrier
from stepline.engine.errors import ALL, RUNTIME, StatesError
from stepline.engine.intrinsics import Intrinsic, IntrinsicSyntaxError, looks_intrinsic
from stepline.engine.jsonata import Expression, JsonataSyntaxError, is_expression
from stepline.engine.paths import (
    VARIABLE_NAME,
    JsonPath,
    PathNotFound,
    PathSyntaxError,
    check_reference_path,
    compile_path,
)

RESERVED_VARIABLES = frozenset({"states"})


class FieldCompiler:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.jsonata = False  # the query language of the state being compiled

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def whole(self, body: dict[str, Any], key: str, where: str, *, minimum: int, label: str) -> int | None:
        """A field that holds a whole number, or (JSONata) a ``{% %}`` computing one."""
        if key not in body or (self.jsonata and is_expression(body[key])):
            return None
        value = body[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(where, f"{key} must be {label}")
            return None
        return value

    def path(self, body: dict[str, Any], key: str, where: str, default: str | None) -> JsonPath | None:
        value = body.get(key, default)
        if value is None:
            return None
        try:
            return compile_path(value)
        except PathSyntaxError as error:
            self.problem(where, f"{key}: {error}")
            return None

    def reference(self, body: dict[str, Any], key: str, where: str) -> JsonPath | None:
        value = body.get(key, "$")
        if value is None:
            return None
        try:
            return check_reference_path(value)
        except PathSyntaxError as error:
            self.problem(where, f"{key}: {error}")
            return None

    def positive(self, body: dict[str, Any], key: str, where: str) -> float | None:
        if key not in body:
            return None
        value = body[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.problem(where, f"{key} must be a positive whole number of seconds")
            return None
        return float(value)

    def dynamic_string(self, body: dict[str, Any], key: str, where: str) -> Evaluator | None:
        if key not in body:
            return None
        return self.value_expression(body[key], f"{where}: {key}")

    def value_expression(self, text: Any, where: str, field: str | None = None) -> Evaluator | None:
        """A path or intrinsic call as an evaluator; ``field`` names the ``.$`` key it fills, if any."""
        if not isinstance(text, str):
            self.problems.append(f"{where}: needs a path or an intrinsic function")
            return None
        try:
            if looks_intrinsic(text):
                return Intrinsic(text).evaluate
            path = compile_path(text)
        except (PathSyntaxError, IntrinsicSyntaxError) as error:
            self.problems.append(f"{where}: {error}")
            return None
        target = f" specified for the field '{field}'" if field else ""

        def evaluate(data: Any, context: Any) -> Any:
            try:
                return path.evaluate(data, context)
            except PathNotFound:
                raise StatesError(RUNTIME, not_found(path, target, data)) from None

        return evaluate

    def lookup(self, body: dict[str, Any], key: str, where: str) -> Evaluator | None:
        """A ``…Path`` field (SecondsPath, ItemsPath …): the value it selects, or States.Runtime naming it."""
        path = self.path(body, key, where, default=None)
        if path is None:
            return None
        return _lookup(path, key)

    def computed(self, body: dict[str, Any], key: str, where: str) -> Evaluator | None:
        """A JSONata state's field whose value may be ``{% %}`` (TimeoutSeconds, Items …)."""
        value = body.get(key)
        if not self.jsonata or not isinstance(value, str) or not is_expression(value):
            return None
        return self.expression(value, where, key)

    def expression(self, text: str, where: str, field: str) -> Evaluator | None:
        try:
            return Expression(text, field).evaluate
        except JsonataSyntaxError as error:
            self.problem(where, f"{field}: {error}")
            return None

    def jsonata_template(self, raw: Any, where: str, field: str) -> Evaluator:
        """Any JSON value whose ``{% %}`` strings, at any depth, are evaluated (Arguments, Output …)."""
        if _static(raw, jsonata=True):
            return _constant(raw)  # built once, as a Pass's Result is
        if isinstance(raw, dict):
            fields = [(name, self.jsonata_template(value, where, field)) for name, value in raw.items()]
            return lambda data, context: {name: evaluate(data, context) for name, evaluate in fields}
        if isinstance(raw, list):
            items = [self.jsonata_template(item, where, field) for item in raw]
            return lambda data, context: [evaluate(data, context) for evaluate in items]
        if is_expression(raw):
            return self.expression(raw, where, field) or _nothing
        return _constant(raw)

    def assign(self, body: dict[str, Any], where: str) -> Evaluator | None:
        """Assign: an object of variable names; its values templates of the state's language."""
        if "Assign" not in body:
            return None
        raw = body["Assign"]
        if not isinstance(raw, dict):
            self.problem(where, "Assign must be an object of variable names and values")
            return None
        for key in raw:
            name = key[:-2] if key.endswith(".$") and not self.jsonata else key
            if not VARIABLE_NAME.fullmatch(name) or name in RESERVED_VARIABLES:
                reason = "is reserved" if name in RESERVED_VARIABLES else "is not a valid variable name"
                self.problem(where, f"Assign: {name!r} {reason} (letters, digits and _, not starting with a digit)")
        if self.jsonata:
            return self.jsonata_template(raw, where, "Assign")
        return self.compile_template(raw, f"{where}: Assign")

    def output(self, body: dict[str, Any], where: str) -> Evaluator | None:
        if not self.jsonata or "Output" not in body:
            return None
        return self.jsonata_template(body["Output"], where, "Output")

    def template(self, body: dict[str, Any], key: str, where: str) -> Evaluator | None:
        if key not in body:
            return None
        if self.jsonata:
            return self.jsonata_template(body[key], where, key)
        return self.compile_template(body[key], f"{where}: {key}")

    def compile_template(self, raw: Any, where: str) -> Evaluator:
        if _static(raw, jsonata=False):
            return _constant(raw)  # built once, as a Pass's Result is
        if isinstance(raw, dict):
            fields: list[tuple[str, Evaluator]] = []
            for name, value in raw.items():
                if name.endswith(".$"):
                    fields.append((name[:-2], self.dynamic_field(name, value, where)))
                else:
                    fields.append((name, self.compile_template(value, f"{where}.{name}")))
            return lambda data, context: {name: evaluate(data, context) for name, evaluate in fields}
        if isinstance(raw, list):
            items = [self.compile_template(item, f"{where}[{i}]") for i, item in enumerate(raw)]
            return lambda data, context: [evaluate(data, context) for evaluate in items]
        return _constant(raw)

    def dynamic_field(self, name: str, value: Any, where: str) -> Evaluator:
        return self.value_expression(value, f"{where}.{name}", field=name) or _nothing

    def retriers(self, raw: Any, where: str) -> list[Retrier]:
        retriers: list[Retrier] = []
        for index, item in enumerate(raw if isinstance(raw, list) else []):
            item_where = f"{where}: Retry[{index}]"
            errors = self.error_equals(item, item_where, last=index == len(raw) - 1)
            if errors is None:
                continue
            retrier = Retrier(errors)
            retrier.interval_seconds = float(item.get("IntervalSeconds", 1))
            retrier.max_attempts = int(item.get("MaxAttempts", 3))
            retrier.backoff_rate = float(item.get("BackoffRate", 2.0))
            if "MaxDelaySeconds" in item:
                retrier.max_delay_seconds = float(item["MaxDelaySeconds"])
            retrier.jitter = item.get("JitterStrategy", "NONE") == "FULL"
            if retrier.interval_seconds < 1 or retrier.max_attempts < 0 or retrier.backoff_rate < 1:
                self.problem(
                    item_where,
                    "IntervalSeconds must be at least 1, MaxAttempts at least 0, BackoffRate at least 1",
                )
            retriers.append(retrier)
        return retriers

    def catchers(self, raw: Any, where: str) -> list[Catcher]:
        catchers: list[Catcher] = []
        for index, item in enumerate(raw if isinstance(raw, list) else []):
            item_where = f"{where}: Catch[{index}]"
            errors = self.error_equals(item, item_where, last=index == len(raw) - 1)
            if errors is None:
                continue
            if not isinstance(item.get("Next"), str):
                self.problem(item_where, "needs a Next")
                continue
            result_path = None if self.jsonata else self.reference(item, "ResultPath", item_where)
            catcher = Catcher(errors, item["Next"], result_path)
            catcher.assign = self.assign(item, item_where)
            catcher.output = self.output(item, item_where)
            catchers.append(catcher)
        return catchers

    def error_equals(self, item: Any, where: str, *, last: bool) -> list[str] | None:
        errors = item.get("ErrorEquals") if isinstance(item, dict) else None
        if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
            self.problem(where, "ErrorEquals must be a non-empty list of error names")
            return None
        if ALL in errors and (len(errors) > 1 or not last):
            self.problem(where, "States.ALL must appear alone, in the last retrier or catcher")
        return errors


def _static(raw: Any, *, jsonata: bool) -> bool:
    """Whether a template has nothing to evaluate: no ``.$`` field (JSONPath), no ``{% %}`` (JSONata)."""
    if isinstance(raw, dict):
        if not jsonata and any(name.endswith(".$") for name in raw):
            return False
        return all(_static(value, jsonata=jsonata) for value in raw.values())
    if isinstance(raw, list):
        return all(_static(item, jsonata=jsonata) for item in raw)
    return not (jsonata and is_expression(raw))


def _constant(value: Any) -> Evaluator:
    return lambda data, context: value


def _nothing(data: Any, context: Any) -> Any:
    return None


def not_found(path: JsonPath, target: str, data: Any) -> str:
    """Step Functions' cause for a path that selects nothing (as recorded: "The JSONPath
    '$.application.address' specified for the field 'address.$' could not be found in the
    input '{"flagged":false}'")."""
    if path.variable is not None:
        return f"The JSONPath '{path.text}'{target} could not be found: no variable '{path.variable}' is in scope"
    source = "the context object" if path.context_rooted else f"the input '{_short(data)}'"
    return f"The JSONPath '{path.text}'{target} could not be found in {source}"


def _lookup(path: JsonPath, key: str) -> Evaluator:
    def evaluate(data: Any, context: Any) -> Any:
        try:
            return path.evaluate(data, context)
        except PathNotFound:
            raise StatesError(
                RUNTIME, f"Invalid path '{path.text}' : No results for path: {path.bracketed()}"
            ) from None

    return evaluate


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 10_000 else text[:10_000] + "…"
