"""The fields states share, compiled once: paths, payload templates, Retry and Catch.

Each method reports what is wrong through ``problem`` (naming the state and field) and returns
None or a harmless stand-in, so one pass over a definition finds every problem in it.
"""

from __future__ import annotations

import json
from typing import Any

from stepline.engine.definition.states import Catcher, Evaluator, Retrier
from stepline.engine.errors import ALL, RUNTIME, StatesError
from stepline.engine.intrinsics import Intrinsic, IntrinsicSyntaxError, looks_intrinsic
from stepline.engine.paths import JsonPath, PathNotFound, PathSyntaxError, check_reference_path, compile_path


class FieldCompiler:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

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
        target = f" specified for the field {field!r}" if field else ""

        def evaluate(data: Any, context: Any) -> Any:
            try:
                return path.evaluate(data, context)
            except PathNotFound:
                source = "the context object" if path.context_rooted else f"the input {_short(data)}"
                raise StatesError(
                    RUNTIME, f"The JSONPath {path.text!r}{target} could not be found in {source}"
                ) from None

        return evaluate

    def template(self, body: dict[str, Any], key: str, where: str) -> Evaluator | None:
        if key not in body:
            return None
        return self.compile_template(body[key], f"{where}: {key}")

    def compile_template(self, raw: Any, where: str) -> Evaluator:
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
            catchers.append(Catcher(errors, item["Next"], self.reference(item, "ResultPath", item_where)))
        return catchers

    def error_equals(self, item: Any, where: str, *, last: bool) -> list[str] | None:
        errors = item.get("ErrorEquals") if isinstance(item, dict) else None
        if not isinstance(errors, list) or not errors or not all(isinstance(e, str) for e in errors):
            self.problem(where, "ErrorEquals must be a non-empty list of error names")
            return None
        if ALL in errors and (len(errors) > 1 or not last):
            self.problem(where, "States.ALL must appear alone, in the last retrier or catcher")
        return errors


def _constant(value: Any) -> Evaluator:
    return lambda data, context: value


def _nothing(data: Any, context: Any) -> Any:
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return repr(text if len(text) <= 200 else text[:200] + "…")
