"""An ASL definition parsed once into typed states, with every path, template and expression compiled.

``parse_definition`` refuses a bad definition with every problem it finds, each naming the
state and field (``state 'Build': Next 'Deploy' is not a state``), so nothing is discovered
half-way through an execution. Each state type has its parser in ``_PARSERS``; the fields
types share are read by ``chained``, ``results`` and ``fallible``, in the order the States
Language lists them. Each state is parsed in its query language (``QueryLanguage`` at the
top, or on the state): a field of the other language is refused (``languages``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from stepline.engine.definition.fields import FieldCompiler
from stepline.engine.definition.languages import language_of, misplaced
from stepline.engine.definition.objects import item_batcher, item_reader, result_writer
from stepline.engine.definition.rules import compile_rule
from stepline.engine.definition.states import (
    UNSET,
    ChainedState,
    ChoiceRule,
    ChoiceState,
    Evaluator,
    FailState,
    FallibleState,
    MapState,
    ParallelState,
    PassState,
    Predicate,
    QueryLanguage,
    ResultState,
    Scope,
    State,
    StateMachineDefinition,
    StateType,
    SucceedState,
    TaskState,
    WaitState,
)
from stepline.engine.definition.timestamps import parse_timestamp
from stepline.engine.errors import QUERY_EVALUATION_ERROR, StatesError
from stepline.engine.jsonata import is_expression
from stepline.errors import InvalidInput

STATE_TYPES = frozenset(StateType)
# Step Functions' largest Seconds and TimeoutSeconds (its quotas: 99999999 seconds).
MAX_SECONDS = 99_999_999


class AslDefinitionError(InvalidInput):
    """A definition the engine cannot run, with every problem found in it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the state machine definition is not valid:\n" + "\n".join(f"  {p}" for p in problems))


def parse_definition(definition: str | dict[str, Any]) -> StateMachineDefinition:
    if isinstance(definition, str):
        try:
            raw = json.loads(definition)
        except json.JSONDecodeError as error:
            raise AslDefinitionError(
                [f"the definition is not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"]
            ) from None
        except RecursionError:
            raise AslDefinitionError(["the definition nests arrays or objects too deeply to be read"]) from None
        text = definition
    else:
        raw, text = definition, json.dumps(definition)
    if not isinstance(raw, dict):
        raise AslDefinitionError(["the definition must be a JSON object with StartAt and States"])
    builder = _Builder()
    language, problem = language_of(raw, QueryLanguage.JSONPATH)
    if problem:
        builder.problem("the state machine", problem)
    builder.machine_language = language
    root = builder.scope(raw, "", "the state machine")
    label = f"a whole number of seconds, 1 to {MAX_SECONDS}"
    builder.jsonata = False  # the machine's own fields take no {% %}
    timeout = builder.whole(raw, "TimeoutSeconds", "the state machine", minimum=1, label=label)
    if timeout is not None and timeout > MAX_SECONDS:
        builder.problem("the state machine", f"TimeoutSeconds must be {label}")
    if builder.problems:
        raise AslDefinitionError(builder.problems)
    return StateMachineDefinition(root, builder.scopes, text, raw, language, timeout)


class _Builder(FieldCompiler):
    def __init__(self) -> None:
        super().__init__()
        self.scopes: dict[str, Scope] = {}
        self.names: dict[str, str] = {}
        self.machine_language = QueryLanguage.JSONPATH

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
        language, problem = language_of(body, self.machine_language)
        if problem:
            self.problem(where, problem)
        for message in misplaced(body, language):
            self.problem(where, message)
        # Whether anything in the state may read the context object: building it costs. A JSONata
        # state reads it only as $states.context.
        text = json.dumps(body)
        reads = "context" if language is QueryLanguage.JSONATA else "$$"
        needs_context = reads in text or kind == StateType.MAP
        outer, self.jsonata = self.jsonata, language is QueryLanguage.JSONATA
        try:
            state = _PARSERS[StateType(kind)](self, _Site(name, body, where, scope_path, needs_context))
        finally:
            self.jsonata = outer
        state.language = language
        return state

    # --- the fields types share ----------------------------------------------------------------

    def paths(self, state: State, body: dict[str, Any], where: str) -> None:
        if self.jsonata:
            state.input_path = state.output_path = self.path({}, "InputPath", where, default="$")
        else:
            state.input_path = self.path(body, "InputPath", where, default="$")
            state.output_path = self.path(body, "OutputPath", where, default="$")
        state.output = self.output(body, where)

    def chained(self, state: ChainedState, body: dict[str, Any], where: str) -> None:
        state.next = body.get("Next")
        state.end = body.get("End") is True
        if state.next is not None and state.end:
            self.problem(where, "has both Next and End")
        if state.next is None and not state.end:
            self.problem(where, "has neither Next nor End")
        self.paths(state, body, where)
        state.assign = self.assign(body, where)

    def results(self, state: ResultState, body: dict[str, Any], where: str) -> None:
        self.chained(state, body, where)
        state.result_path = self.path({}, "ResultPath", where, default="$") if self.jsonata else None
        if not self.jsonata:
            state.result_path = self.reference(body, "ResultPath", where)
        state.parameters = self.template(body, "Arguments" if self.jsonata else "Parameters", where)

    def fallible(self, state: FallibleState, body: dict[str, Any], where: str) -> None:
        self.results(state, body, where)
        if not self.jsonata:
            state.result_selector = self.template(body, "ResultSelector", where)
        state.retry = self.retriers(body.get("Retry", []), where)
        state.catch = self.catchers(body.get("Catch", []), where)


class _Site:
    """Where a state is being parsed: its name, body, the name for messages, its scope."""

    __slots__ = ("body", "name", "needs_context", "scope_path", "where")

    def __init__(self, name: str, body: dict[str, Any], where: str, scope_path: str, needs_context: bool) -> None:
        self.name, self.body, self.where, self.scope_path = name, body, where, scope_path
        self.needs_context = needs_context


# --- one parser per state type ------------------------------------------------------------------


def _pass(builder: _Builder, site: _Site) -> PassState:
    state = PassState(name=site.name, raw=site.body, needs_context=site.needs_context)
    builder.results(state, site.body, site.where)
    if "Result" in site.body and not builder.jsonata:
        state.result = site.body["Result"]
    state.plain = not builder.jsonata and state.result is UNSET and state.parameters is None and state.assign is None
    state.plain = state.plain and all(
        path is not None and not path.steps and path.variable is None and not path.context_rooted
        for path in (state.input_path, state.output_path, state.result_path)
    )
    return state


def _task(builder: _Builder, site: _Site) -> TaskState:
    body, where = site.body, site.where
    state = TaskState(name=site.name, raw=body, needs_context=site.needs_context)
    builder.fallible(state, body, where)
    resource = body.get("Resource")
    if not isinstance(resource, str) or not resource:
        builder.problem(where, "Resource is missing")
    else:
        state.resource = resource
    for key, path_key in (("TimeoutSeconds", "TimeoutSecondsPath"), ("HeartbeatSeconds", "HeartbeatSecondsPath")):
        if key in body and path_key in body:
            builder.problem(where, f"has both {key} and {path_key}")
    label = f"a positive whole number of seconds, at most {MAX_SECONDS}"
    timeout = builder.whole(body, "TimeoutSeconds", where, minimum=1, label=label)
    heartbeat = builder.whole(body, "HeartbeatSeconds", where, minimum=1, label=label)
    for key, value in (("TimeoutSeconds", timeout), ("HeartbeatSeconds", heartbeat)):
        if value is not None and value > MAX_SECONDS:
            builder.problem(where, f"{key} must be {label}")
    state.timeout_seconds = float(timeout) if timeout else None
    state.heartbeat_seconds = float(heartbeat) if heartbeat else None
    state.timeout_from = builder.computed(body, "TimeoutSeconds", where) or builder.lookup(
        body, "TimeoutSecondsPath", where
    )
    state.heartbeat_from = builder.computed(body, "HeartbeatSeconds", where) or builder.lookup(
        body, "HeartbeatSecondsPath", where
    )
    if state.timeout_seconds and state.heartbeat_seconds and state.heartbeat_seconds >= state.timeout_seconds:
        builder.problem(where, "HeartbeatSeconds must be smaller than TimeoutSeconds")
    return state


def _choice(builder: _Builder, site: _Site) -> ChoiceState:
    body, where = site.body, site.where
    state = ChoiceState(name=site.name, raw=body, needs_context=site.needs_context)
    builder.paths(state, body, where)
    state.assign = builder.assign(body, where)
    choices = body.get("Choices")
    if not isinstance(choices, list) or not choices:
        builder.problem(where, "Choices is missing or empty")
        choices = []
    for index, rule in enumerate(choices):
        rule_where = f"{where}: Choices[{index}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("Next"), str):
            builder.problem(rule_where, "needs a Next")
            continue
        predicate = _condition(builder, rule, rule_where) if builder.jsonata else _rule(builder, rule, rule_where)
        if predicate is not None:
            assign, output = builder.assign(rule, rule_where), builder.output(rule, rule_where)
            state.choices.append(ChoiceRule(predicate, rule["Next"], assign, output))
    state.default = body.get("Default")
    return state


def _rule(builder: _Builder, rule: dict[str, Any], where: str) -> Predicate | None:
    if "Condition" in rule:
        builder.problem(where, 'SCHEMA_VALIDATION_FAILED: The field "Condition" is only supported in JSONata states')
        return None
    return compile_rule(rule, where, builder.problem)


def _condition(builder: _Builder, rule: dict[str, Any], where: str) -> Predicate | None:
    """A JSONata choice rule: its Condition, ``{% %}`` giving true or false (or a literal boolean)."""
    condition = rule.get("Condition")
    if "Variable" in rule or any(key in rule for key in ("And", "Or", "Not")):
        builder.problem(where, "a JSONata choice rule has a Condition instead of Variable, And, Or and Not")
        return None
    if isinstance(condition, bool):
        return lambda data, context: condition
    if not isinstance(condition, str) or not is_expression(condition):
        builder.problem(where, "Condition must be true, false or a {% %} expression")
        return None
    evaluate = builder.expression(condition, where, "Condition")
    if evaluate is None:
        return None
    text = condition

    def test(data: Any, context: Any) -> bool:
        value = evaluate(data, context)
        if not isinstance(value, bool):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{text[2:-2].strip()}' specified for the field 'Condition' returned an "
                f"unexpected data type; expected a boolean, got {json.dumps(value)[:100]}",
            )
        return value

    return test


def _wait(builder: _Builder, site: _Site) -> WaitState:
    body, where = site.body, site.where
    state = WaitState(name=site.name, raw=body, needs_context=site.needs_context)
    builder.chained(state, body, where)
    given = [key for key in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if key in body]
    if len(given) != 1:
        builder.problem(where, "needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath")
    label = f"a whole number of seconds, 0 to {MAX_SECONDS}"
    seconds = builder.whole(body, "Seconds", where, minimum=0, label=label)
    if seconds is not None and seconds > MAX_SECONDS:
        builder.problem(where, f"Seconds must be {label}")
    state.seconds = seconds
    timestamp = body.get("Timestamp")
    if "Timestamp" in body and not (builder.jsonata and is_expression(timestamp)):
        if parse_timestamp(timestamp) is None:
            builder.problem(where, f"Timestamp {timestamp!r} is not an RFC 3339 timestamp")
        else:
            state.timestamp = timestamp
    state.seconds_from = builder.computed(body, "Seconds", where) or builder.lookup(body, "SecondsPath", where)
    state.timestamp_from = builder.computed(body, "Timestamp", where) or builder.lookup(body, "TimestampPath", where)
    return state


def _succeed(builder: _Builder, site: _Site) -> SucceedState:
    state = SucceedState(name=site.name, raw=site.body, needs_context=site.needs_context)
    builder.paths(state, site.body, site.where)
    return state


def _fail(builder: _Builder, site: _Site) -> FailState:
    body, where = site.body, site.where
    for literal, dynamic in (("Error", "ErrorPath"), ("Cause", "CausePath")):
        if literal in body and dynamic in body:
            builder.problem(where, f"has both {literal} and {dynamic}")
    state = FailState(name=site.name, raw=body, needs_context=site.needs_context)
    for literal, dynamic in (("Error", "ErrorPath"), ("Cause", "CausePath")):
        value = body.get(literal)
        computed: Evaluator | None = builder.computed(body, literal, where)
        if computed is None and dynamic in body and not builder.jsonata:
            computed = builder.dynamic_string(body, dynamic, where)
        if literal == "Error":
            state.error, state.error_from = (None if computed else value), computed
        else:
            state.cause, state.cause_from = (None if computed else value), computed
    return state


def _parallel(builder: _Builder, site: _Site) -> ParallelState:
    body, where = site.body, site.where
    state = ParallelState(name=site.name, raw=body, needs_context=site.needs_context)
    builder.fallible(state, body, where)
    branches = body.get("Branches")
    if not isinstance(branches, list) or not branches:
        builder.problem(where, "Branches is missing or empty")
        return state
    for index, branch in enumerate(branches):
        if not isinstance(branch, dict):
            builder.problem(where, f"Branches[{index}] must be an object")
            continue
        path = _child(site.scope_path, f"{state.name}/{index}")
        state.branches.append(builder.scope(branch, path, f"branch {index} of {where}"))
    return state


def _map(builder: _Builder, site: _Site) -> MapState:
    body, where = site.body, site.where
    state = MapState(name=site.name, raw=body, needs_context=site.needs_context)
    builder.fallible(state, body, where)
    processor = body.get("ItemProcessor", body.get("Iterator"))
    if not isinstance(processor, dict):
        builder.problem(where, "ItemProcessor (or Iterator) is missing")
    else:
        config = processor.get("ProcessorConfig", {})
        mode = config.get("Mode", "INLINE") if isinstance(config, dict) else None
        if mode not in {"INLINE", "DISTRIBUTED"}:
            builder.problem(where, f"ProcessorConfig Mode {mode!r} is not INLINE or DISTRIBUTED")
        state.distributed = mode == "DISTRIBUTED"
        if state.distributed:
            state.execution_type = config.get("ExecutionType", "STANDARD")
            if state.execution_type not in {"STANDARD", "EXPRESS"}:
                builder.problem(
                    where, f"ProcessorConfig ExecutionType {state.execution_type!r} is not STANDARD or EXPRESS"
                )
        state.processor = builder.scope(processor, _child(site.scope_path, state.name), f"the processor of {where}")
    _map_fields(builder, state, body, where)
    return state


def _map_fields(builder: _Builder, state: MapState, body: dict[str, Any], where: str) -> None:
    if "ItemSelector" in body and "Parameters" in body:
        builder.problem(where, "has both ItemSelector and Parameters")
    # A Map's Parameters are the older name of ItemSelector: they shape each item, not the input.
    state.item_selector = builder.template(body, "ItemSelector", where) or state.parameters
    state.parameters = None
    if builder.jsonata:
        if "Arguments" in body:
            builder.problem(where, 'SCHEMA_VALIDATION_FAILED: The field "Arguments" is not supported in Map states')
        items = body.get("Items")
        if items is not None and not is_expression(items) and not isinstance(items, list):
            builder.problem(where, "Items must be an array or a {% %} expression")
        state.items_from = builder.jsonata_template(items, where, "Items") if items is not None else None
    else:
        state.items_from = builder.lookup(body, "ItemsPath", where) if "ItemsPath" in body else None
    state.max_concurrency = (
        builder.whole(body, "MaxConcurrency", where, minimum=0, label="a whole number, 0 or more") or 0
    )
    state.max_concurrency_from = builder.computed(body, "MaxConcurrency", where) or builder.lookup(
        body, "MaxConcurrencyPath", where
    )
    count = builder.whole(body, "ToleratedFailureCount", where, minimum=0, label="a whole number, 0 or more")
    state.tolerated_failure_count = count
    if "ToleratedFailurePercentage" in body and not (
        builder.jsonata and is_expression(body["ToleratedFailurePercentage"])
    ):
        percentage = body["ToleratedFailurePercentage"]
        if isinstance(percentage, bool) or not isinstance(percentage, int | float) or not 0 <= percentage <= 100:
            builder.problem(where, "ToleratedFailurePercentage must be a number from 0 to 100")
        else:
            state.tolerated_failure_percentage = float(percentage)
    state.tolerated_count_from = builder.computed(body, "ToleratedFailureCount", where) or builder.lookup(
        body, "ToleratedFailureCountPath", where
    )
    state.tolerated_percentage_from = builder.computed(body, "ToleratedFailurePercentage", where) or builder.lookup(
        body, "ToleratedFailurePercentagePath", where
    )
    state.label = body.get("Label")
    if not state.distributed and ("ItemReader" in body or "ResultWriter" in body):
        builder.problem(where, "ItemReader and ResultWriter need ProcessorConfig Mode DISTRIBUTED")
    elif state.distributed:
        state.reader = item_reader(builder, body["ItemReader"], where) if "ItemReader" in body else None
        state.writer = result_writer(builder, body["ResultWriter"], where) if "ResultWriter" in body else None
    batcher = body.get("ItemBatcher")
    if batcher is not None:
        if not state.distributed:
            builder.problem(where, "ItemBatcher needs ProcessorConfig Mode DISTRIBUTED")
        elif not isinstance(batcher, dict):
            builder.problem(where, "ItemBatcher must be an object")
        else:
            state.batcher = item_batcher(builder, batcher, f"{where}: ItemBatcher")


_PARSERS: dict[StateType, Callable[[_Builder, _Site], State]] = {
    StateType.PASS: _pass,
    StateType.TASK: _task,
    StateType.CHOICE: _choice,
    StateType.WAIT: _wait,
    StateType.SUCCEED: _succeed,
    StateType.FAIL: _fail,
    StateType.PARALLEL: _parallel,
    StateType.MAP: _map,
}


def _child(scope_path: str, name: str) -> str:
    return f"{scope_path}/{name}" if scope_path else name


def _targets(state: State) -> list[tuple[str, str]]:
    """Every state name ``state`` can go to, labelled with the field that names it."""
    targets = []
    if isinstance(state, ChainedState) and state.next is not None:
        targets.append(("Next", state.next))
    if isinstance(state, ChoiceState):
        if state.default is not None:
            targets.append(("Default", state.default))
        targets.extend((f"Choices[{i}].Next", rule.next) for i, rule in enumerate(state.choices))
    if isinstance(state, FallibleState):
        targets.extend((f"Catch[{i}].Next", catcher.next) for i, catcher in enumerate(state.catch))
    return targets
