"""An ASL definition parsed once into typed states, with every path and template compiled.

``parse_definition`` refuses a bad definition with every problem it finds, each naming the
state and field (``state 'Build': Next 'Deploy' is not a state``), so nothing is discovered
half-way through an execution.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stepline.engine.errors import ALL, RUNTIME, StatesError
from stepline.engine.intrinsics import Intrinsic, IntrinsicSyntaxError, looks_intrinsic
from stepline.engine.paths import JsonPath, PathNotFound, PathSyntaxError, check_reference_path, compile_path

Evaluator = Callable[[Any, Any], Any]
Predicate = Callable[[Any, Any], bool]

STATE_TYPES = frozenset({"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
UNSET: Any = object()  # a Pass state without Result


class DefinitionError(ValueError):
    """A definition the engine cannot run, with every problem found in it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the state machine definition is not valid:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(slots=True)
class Retrier:
    error_equals: list[str]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: bool = False


@dataclass(slots=True)
class Catcher:
    error_equals: list[str]
    next: str
    result_path: JsonPath | None


@dataclass(slots=True)
class State:
    name: str
    type: str
    next: str | None = None
    end: bool = False
    input_path: JsonPath | None = None  # None: InputPath null, the input becomes {}
    output_path: JsonPath | None = None
    result_path: JsonPath | None = None  # None: ResultPath null, the result is discarded
    parameters: Evaluator | None = None
    result_selector: Evaluator | None = None
    retry: list[Retrier] = field(default_factory=list)
    catch: list[Catcher] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # Whether any template or path of the state reads the context object ($$): building it costs.
    needs_context: bool = True
    # Pass
    result: Any = UNSET
    # Task
    resource: str = ""
    timeout_seconds: float | None = None
    timeout_seconds_path: JsonPath | None = None
    heartbeat_seconds: float | None = None
    heartbeat_seconds_path: JsonPath | None = None
    # Choice
    choices: list[tuple[Predicate, str]] = field(default_factory=list)
    default: str | None = None
    # Wait
    seconds: float | None = None
    timestamp: str | None = None
    seconds_path: JsonPath | None = None
    timestamp_path: JsonPath | None = None
    # Fail
    error: str | None = None
    cause: str | None = None
    error_from: Evaluator | None = None
    cause_from: Evaluator | None = None
    # Parallel and Map
    branches: list[Scope] = field(default_factory=list)
    items_path: JsonPath | None = None
    item_selector: Evaluator | None = None
    max_concurrency: int = 0
    max_concurrency_path: JsonPath | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None


@dataclass(slots=True)
class Scope:
    """A StartAt and its States: the whole machine, a Parallel branch or a Map's processor."""

    start_at: str
    states: dict[str, State]
    path: str  # "" for the machine; "Parallel/0", "Map" … for nested scopes


@dataclass(slots=True)
class StateMachineDefinition:
    root: Scope
    scopes: dict[str, Scope]
    text: str
    raw: dict[str, Any]

    def state(self, scope: str, name: str) -> State:
        return self.scopes[scope].states[name]

    def tasks(self) -> list[State]:
        return [state for scope in self.scopes.values() for state in scope.states.values() if state.type == "Task"]


def parse_definition(definition: str | dict[str, Any]) -> StateMachineDefinition:
    if isinstance(definition, str):
        try:
            raw = json.loads(definition)
        except json.JSONDecodeError as error:
            raise DefinitionError(
                [f"the definition is not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"]
            ) from None
        text = definition
    else:
        raw, text = definition, json.dumps(definition)
    if not isinstance(raw, dict):
        raise DefinitionError(["the definition must be a JSON object with StartAt and States"])
    builder = _Builder()
    root = builder.scope(raw, "", "the state machine")
    if builder.problems:
        raise DefinitionError(builder.problems)
    return StateMachineDefinition(root, builder.scopes, text, raw)


class _Builder:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.scopes: dict[str, Scope] = {}
        self.names: dict[str, str] = {}

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def scope(self, raw: dict[str, Any], path: str, where: str) -> Scope:
        start_at = raw.get("StartAt")
        states_raw = raw.get("States")
        if not isinstance(start_at, str):
            self.problem(where, "StartAt is missing or not a string")
        if not isinstance(states_raw, dict) or not states_raw:
            self.problem(where, "States is missing or empty")
            states_raw = {}
        states: dict[str, State] = {}
        for name, body in states_raw.items():
            if name in self.names:
                self.problem(f"state {name!r}", f"the name is used twice ({self.names[name]} and {where})")
            self.names[name] = where
            if len(name) > 80:
                self.problem(f"state {name!r}", f"the name has {len(name)} characters; the limit is 80")
            if not isinstance(body, dict):
                self.problem(f"state {name!r}", "must be an object")
                continue
            state = self.state(name, body, path)
            if state is not None:
                states[name] = state
        if isinstance(start_at, str) and states_raw and start_at not in states_raw:
            self.problem(where, f"StartAt {start_at!r} is not one of its states")
        for state in states.values():
            for label, target in _targets(state):
                if target not in states_raw:
                    self.problem(f"state {state.name!r}", f"{label} {target!r} is not a state in {where}")
        scope = Scope(start_at if isinstance(start_at, str) else "", states, path)
        self.scopes[path] = scope
        return scope

    def state(self, name: str, body: dict[str, Any], scope_path: str) -> State | None:
        where = f"state {name!r}"
        kind = body.get("Type")
        if kind not in STATE_TYPES:
            self.problem(where, f"Type {kind!r} is not one of {', '.join(sorted(STATE_TYPES))}")
            return None
        state = State(name=name, type=kind, raw=body)
        dynamic = {
            key: body.get(key) for key in ("Parameters", "ResultSelector", "ItemSelector", "ErrorPath", "CausePath")
        }
        state.needs_context = "$$" in json.dumps(dynamic) or kind == "Map"
        terminal = kind in {"Choice", "Succeed", "Fail"}
        if not terminal:
            state.next = body.get("Next")
            state.end = body.get("End") is True
            if state.next is not None and state.end:
                self.problem(where, "has both Next and End")
            if state.next is None and not state.end:
                self.problem(where, "has neither Next nor End")
        if kind != "Fail":
            state.input_path = self.path(body, "InputPath", where, default="$")
            state.output_path = self.path(body, "OutputPath", where, default="$")
        if kind in {"Pass", "Task", "Parallel", "Map"}:
            state.result_path = self.reference(body, "ResultPath", where)
            state.parameters = self.template(body, "Parameters", where)
        if kind in {"Task", "Parallel", "Map"}:
            state.result_selector = self.template(body, "ResultSelector", where)
            state.retry = self.retriers(body.get("Retry", []), where)
            state.catch = self.catchers(body.get("Catch", []), where)
        getattr(self, f"_{kind.lower()}")(state, body, where, scope_path)
        return state

    # --- per type --------------------------------------------------------------------------

    def _pass(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        if "Result" in body:
            state.result = body["Result"]

    def _task(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        resource = body.get("Resource")
        if not isinstance(resource, str) or not resource:
            self.problem(where, "Resource is missing")
        else:
            state.resource = resource
        state.timeout_seconds = self.positive(body, "TimeoutSeconds", where)
        state.heartbeat_seconds = self.positive(body, "HeartbeatSeconds", where)
        state.timeout_seconds_path = self.path(body, "TimeoutSecondsPath", where, default=None)
        state.heartbeat_seconds_path = self.path(body, "HeartbeatSecondsPath", where, default=None)
        if state.timeout_seconds and state.heartbeat_seconds and state.heartbeat_seconds >= state.timeout_seconds:
            self.problem(where, "HeartbeatSeconds must be smaller than TimeoutSeconds")

    def _choice(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        choices = body.get("Choices")
        if not isinstance(choices, list) or not choices:
            self.problem(where, "Choices is missing or empty")
            choices = []
        for index, rule in enumerate(choices):
            rule_where = f"{where}: Choices[{index}]"
            if not isinstance(rule, dict) or not isinstance(rule.get("Next"), str):
                self.problem(rule_where, "needs a Next")
                continue
            predicate = self.rule(rule, rule_where)
            if predicate is not None:
                state.choices.append((predicate, rule["Next"]))
        state.default = body.get("Default")

    def _wait(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        given = [key for key in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if key in body]
        if len(given) != 1:
            self.problem(where, "needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath")
        if "Seconds" in body:
            seconds = body["Seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
                self.problem(where, "Seconds must be a whole number of seconds, 0 or more")
            else:
                state.seconds = seconds
        if "Timestamp" in body:
            if parse_timestamp(body["Timestamp"]) is None:
                self.problem(where, f"Timestamp {body['Timestamp']!r} is not an RFC 3339 timestamp")
            else:
                state.timestamp = body["Timestamp"]
        state.seconds_path = self.path(body, "SecondsPath", where, default=None)
        state.timestamp_path = self.path(body, "TimestampPath", where, default=None)

    def _succeed(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        return

    def _fail(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        for literal, dynamic in (("Error", "ErrorPath"), ("Cause", "CausePath")):
            if literal in body and dynamic in body:
                self.problem(where, f"has both {literal} and {dynamic}")
        state.error = body.get("Error")
        state.cause = body.get("Cause")
        state.error_from = self.dynamic_string(body, "ErrorPath", where)
        state.cause_from = self.dynamic_string(body, "CausePath", where)

    def _parallel(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        branches = body.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.problem(where, "Branches is missing or empty")
            return
        for index, branch in enumerate(branches):
            if not isinstance(branch, dict):
                self.problem(where, f"Branches[{index}] must be an object")
                continue
            state.branches.append(
                self.scope(branch, _child(scope_path, f"{state.name}/{index}"), f"branch {index} of {where}")
            )

    def _map(self, state: State, body: dict[str, Any], where: str, scope_path: str) -> None:
        processor = body.get("ItemProcessor", body.get("Iterator"))
        if not isinstance(processor, dict):
            self.problem(where, "ItemProcessor (or Iterator) is missing")
        else:
            mode = processor.get("ProcessorConfig", {}).get("Mode", "INLINE")
            if mode != "INLINE":
                self.problem(where, f"ProcessorConfig Mode {mode!r} is not supported; the engine runs INLINE maps")
            state.branches.append(self.scope(processor, _child(scope_path, state.name), f"the processor of {where}"))
        state.items_path = self.path(body, "ItemsPath", where, default="$")
        if "ItemSelector" in body and "Parameters" in body:
            self.problem(where, "has both ItemSelector and Parameters")
        state.item_selector = self.template(body, "ItemSelector", where) or state.parameters
        state.parameters = None
        concurrency = body.get("MaxConcurrency", 0)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
            self.problem(where, "MaxConcurrency must be a whole number, 0 or more")
        else:
            state.max_concurrency = concurrency
        state.max_concurrency_path = self.path(body, "MaxConcurrencyPath", where, default=None)
        if "ToleratedFailureCount" in body:
            state.tolerated_failure_count = int(body["ToleratedFailureCount"])
        if "ToleratedFailurePercentage" in body:
            state.tolerated_failure_percentage = float(body["ToleratedFailurePercentage"])

    # --- fields ----------------------------------------------------------------------------

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

    # --- choice rules ----------------------------------------------------------------------

    def rule(self, rule: dict[str, Any], where: str) -> Predicate | None:
        for combinator in ("And", "Or"):
            if combinator in rule:
                parts = [self.rule(sub, f"{where}.{combinator}[{i}]") for i, sub in enumerate(rule[combinator] or [])]
                if not parts or any(part is None for part in parts):
                    if not parts:
                        self.problem(where, f"{combinator} needs at least one rule")
                    return None
                checks = [part for part in parts if part is not None]
                if combinator == "And":
                    return lambda data, context: all(check(data, context) for check in checks)
                return lambda data, context: any(check(data, context) for check in checks)
        if "Not" in rule:
            inner = self.rule(rule["Not"], f"{where}.Not") if isinstance(rule["Not"], dict) else None
            if inner is None:
                return None
            return lambda data, context: not inner(data, context)
        variable = rule.get("Variable")
        operators = [key for key in rule if key in _COMPARISONS or key in _TESTS]
        if len(operators) != 1:
            self.problem(where, "needs exactly one comparison operator (StringEquals, NumericLessThan, IsPresent, …)")
            return None
        if not isinstance(variable, str):
            self.problem(where, "needs a Variable path")
            return None
        try:
            path = compile_path(variable)
        except PathSyntaxError as error:
            self.problem(where, f"Variable: {error}")
            return None
        operator = operators[0]
        expected = rule[operator]
        if operator in _TESTS:
            if not isinstance(expected, bool):
                self.problem(where, f"{operator} takes true or false")
                return None
            return _type_test(path, operator, expected)
        kind, compare = _COMPARISONS[operator]
        if operator.endswith("Path"):
            try:
                other = compile_path(expected)
            except (PathSyntaxError, TypeError) as error:
                self.problem(where, f"{operator}: {error}")
                return None
            return _comparison(path, kind, compare, other_path=other)
        if not _literal_fits(kind, expected):
            self.problem(where, f"{operator} needs a {kind} value, not {json.dumps(expected)}")
            return None
        return _comparison(path, kind, compare, literal=expected)


def _constant(value: Any) -> Evaluator:
    return lambda data, context: value


def _nothing(data: Any, context: Any) -> Any:
    return None


def _child(scope_path: str, name: str) -> str:
    return f"{scope_path}/{name}" if scope_path else name


def _targets(state: State) -> list[tuple[str, str]]:
    targets = []
    if state.next is not None:
        targets.append(("Next", state.next))
    if state.default is not None:
        targets.append(("Default", state.default))
    targets.extend((f"Choices[{i}].Next", next_state) for i, (_, next_state) in enumerate(state.choices))
    targets.extend((f"Catch[{i}].Next", catcher.next) for i, catcher in enumerate(state.catch))
    return targets


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return repr(text if len(text) <= 200 else text[:200] + "…")


# --- choice comparison semantics ---------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_COMPARISONS: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {}
for _kind in ("String", "Numeric", "Timestamp"):
    for _suffix, _fn in _COMPARE.items():
        _COMPARISONS[f"{_kind}{_suffix}"] = (_kind, _fn)
        _COMPARISONS[f"{_kind}{_suffix}Path"] = (_kind, _fn)
_COMPARISONS["BooleanEquals"] = ("Boolean", _COMPARE["Equals"])
_COMPARISONS["BooleanEqualsPath"] = ("Boolean", _COMPARE["Equals"])
_COMPARISONS["StringMatches"] = ("Pattern", lambda a, b: bool(b.fullmatch(a)))
_TESTS = frozenset({"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"})

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _literal_fits(kind: str, value: Any) -> bool:
    if kind == "String":
        return isinstance(value, str)
    if kind == "Numeric":
        return _is_number(value)
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind == "Timestamp":
        return parse_timestamp(value) is not None
    return isinstance(value, str)  # StringMatches pattern


def _pattern(text: str) -> re.Pattern[str]:
    pieces, position = [], 0
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            pieces.append(re.escape(text[position + 1]))
            position += 2
            continue
        pieces.append(".*" if char == "*" else re.escape(char))
        position += 1
    return re.compile("".join(pieces), re.DOTALL)


def _coerce(kind: str, value: Any) -> Any:
    """The value as the comparison sees it, or None when it is of the wrong type (no match)."""
    if kind in {"String", "Pattern"}:
        return value if isinstance(value, str) else None
    if kind == "Numeric":
        return value if _is_number(value) else None
    if kind == "Boolean":
        return value if isinstance(value, bool) else None
    return parse_timestamp(value)


def _resolve_variable(path: JsonPath, data: Any, context: Any) -> Any:
    try:
        return path.evaluate(data, context)
    except PathNotFound:
        raise StatesError(
            RUNTIME,
            f"Invalid path {path.text!r}: the choice state's condition path references an invalid value",
        ) from None


def _comparison(
    path: JsonPath,
    kind: str,
    compare: Callable[[Any, Any], bool],
    *,
    literal: Any = None,
    other_path: JsonPath | None = None,
) -> Predicate:
    fixed = _pattern(literal) if kind == "Pattern" else _coerce(kind, literal) if other_path is None else None

    def check(data: Any, context: Any) -> bool:
        left = _coerce(kind, _resolve_variable(path, data, context))
        right = fixed if other_path is None else _coerce(kind, _resolve_variable(other_path, data, context))
        if left is None or right is None:
            return False
        return compare(left, right)

    return check


def _type_test(path: JsonPath, operator: str, expected: bool) -> Predicate:
    def check(data: Any, context: Any) -> bool:
        if operator == "IsPresent":
            return path.exists(data, context) == expected
        value = _resolve_variable(path, data, context)
        outcome = {
            "IsNull": value is None,
            "IsNumeric": _is_number(value),
            "IsString": isinstance(value, str),
            "IsBoolean": isinstance(value, bool),
            "IsTimestamp": parse_timestamp(value) is not None,
        }[operator]
        return outcome == expected

    return check
