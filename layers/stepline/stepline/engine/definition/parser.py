"""An ASL definition parsed once into typed states, with every path and template compiled.

``parse_definition`` refuses a bad definition with every problem it finds, each naming the
state and field (``state 'Build': Next 'Deploy' is not a state``), so nothing is discovered
half-way through an execution. Each state type has its parser in ``_PARSERS``; the fields
types share are read by ``chained``, ``results`` and ``fallible``, in the order the States
Language lists them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from stepline.engine.definition.fields import FieldCompiler
from stepline.engine.definition.rules import compile_rule
from stepline.engine.definition.states import (
    ChainedState,
    ChoiceState,
    FailState,
    FallibleState,
    MapState,
    ParallelState,
    PassState,
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

STATE_TYPES = frozenset(StateType)
_DYNAMIC_FIELDS = ("Parameters", "ResultSelector", "ItemSelector", "ErrorPath", "CausePath")


class DefinitionError(ValueError):
    """A definition the engine cannot run, with every problem found in it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the state machine definition is not valid:\n" + "\n".join(f"  {p}" for p in problems))


def parse_definition(definition: str | dict[str, Any]) -> StateMachineDefinition:
    if isinstance(definition, str):
        try:
            raw = json.loads(definition)
        except json.JSONDecodeError as error:
            raise DefinitionError(
                [f"the definition is not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"]
            ) from None
        except RecursionError:
            raise DefinitionError(["the definition nests arrays or objects too deeply to be read"]) from None
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


class _Builder(FieldCompiler):
    def __init__(self) -> None:
        super().__init__()
        self.scopes: dict[str, Scope] = {}
        self.names: dict[str, str] = {}

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
        needs_context = "$$" in json.dumps({key: body.get(key) for key in _DYNAMIC_FIELDS}) or kind == StateType.MAP
        return _PARSERS[StateType(kind)](self, _Site(name, body, where, scope_path, needs_context))

    # --- the fields types share ----------------------------------------------------------------

    def paths(self, state: State, body: dict[str, Any], where: str) -> None:
        state.input_path = self.path(body, "InputPath", where, default="$")
        state.output_path = self.path(body, "OutputPath", where, default="$")

    def chained(self, state: ChainedState, body: dict[str, Any], where: str) -> None:
        state.next = body.get("Next")
        state.end = body.get("End") is True
        if state.next is not None and state.end:
            self.problem(where, "has both Next and End")
        if state.next is None and not state.end:
            self.problem(where, "has neither Next nor End")
        self.paths(state, body, where)

    def results(self, state: ResultState, body: dict[str, Any], where: str) -> None:
        self.chained(state, body, where)
        state.result_path = self.reference(body, "ResultPath", where)
        state.parameters = self.template(body, "Parameters", where)

    def fallible(self, state: FallibleState, body: dict[str, Any], where: str) -> None:
        self.results(state, body, where)
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
    if "Result" in site.body:
        state.result = site.body["Result"]
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
    state.timeout_seconds = builder.positive(body, "TimeoutSeconds", where)
    state.heartbeat_seconds = builder.positive(body, "HeartbeatSeconds", where)
    state.timeout_seconds_path = builder.path(body, "TimeoutSecondsPath", where, default=None)
    state.heartbeat_seconds_path = builder.path(body, "HeartbeatSecondsPath", where, default=None)
    if state.timeout_seconds and state.heartbeat_seconds and state.heartbeat_seconds >= state.timeout_seconds:
        builder.problem(where, "HeartbeatSeconds must be smaller than TimeoutSeconds")
    return state


def _choice(builder: _Builder, site: _Site) -> ChoiceState:
    body, where = site.body, site.where
    state = ChoiceState(name=site.name, raw=body, needs_context=site.needs_context)
    builder.paths(state, body, where)
    choices = body.get("Choices")
    if not isinstance(choices, list) or not choices:
        builder.problem(where, "Choices is missing or empty")
        choices = []
    for index, rule in enumerate(choices):
        rule_where = f"{where}: Choices[{index}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("Next"), str):
            builder.problem(rule_where, "needs a Next")
            continue
        predicate = compile_rule(rule, rule_where, builder.problem)
        if predicate is not None:
            state.choices.append((predicate, rule["Next"]))
    state.default = body.get("Default")
    return state


def _wait(builder: _Builder, site: _Site) -> WaitState:
    body, where = site.body, site.where
    state = WaitState(name=site.name, raw=body, needs_context=site.needs_context)
    builder.chained(state, body, where)
    given = [key for key in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if key in body]
    if len(given) != 1:
        builder.problem(where, "needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath")
    if "Seconds" in body:
        seconds = body["Seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            builder.problem(where, "Seconds must be a whole number of seconds, 0 or more")
        else:
            state.seconds = seconds
    if "Timestamp" in body:
        if parse_timestamp(body["Timestamp"]) is None:
            builder.problem(where, f"Timestamp {body['Timestamp']!r} is not an RFC 3339 timestamp")
        else:
            state.timestamp = body["Timestamp"]
    state.seconds_path = builder.path(body, "SecondsPath", where, default=None)
    state.timestamp_path = builder.path(body, "TimestampPath", where, default=None)
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
    return FailState(
        name=site.name,
        raw=body,
        needs_context=site.needs_context,
        error=body.get("Error"),
        cause=body.get("Cause"),
        error_from=builder.dynamic_string(body, "ErrorPath", where),
        cause_from=builder.dynamic_string(body, "CausePath", where),
    )


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
        mode = processor.get("ProcessorConfig", {}).get("Mode", "INLINE")
        if mode != "INLINE":
            builder.problem(where, f"ProcessorConfig Mode {mode!r} is not supported; the engine runs INLINE maps")
        state.processor = builder.scope(processor, _child(site.scope_path, state.name), f"the processor of {where}")
    state.items_path = builder.path(body, "ItemsPath", where, default="$")
    if "ItemSelector" in body and "Parameters" in body:
        builder.problem(where, "has both ItemSelector and Parameters")
    # A Map's Parameters are the older name of ItemSelector: they shape each item, not the input.
    state.item_selector = builder.template(body, "ItemSelector", where) or state.parameters
    state.parameters = None
    concurrency = body.get("MaxConcurrency", 0)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
        builder.problem(where, "MaxConcurrency must be a whole number, 0 or more")
    else:
        state.max_concurrency = concurrency
    state.max_concurrency_path = builder.path(body, "MaxConcurrencyPath", where, default=None)
    if "ToleratedFailureCount" in body:
        state.tolerated_failure_count = int(body["ToleratedFailureCount"])
    if "ToleratedFailurePercentage" in body:
        state.tolerated_failure_percentage = float(body["ToleratedFailurePercentage"])
    return state


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
        targets.extend((f"Choices[{i}].Next", next_state) for i, (_, next_state) in enumerate(state.choices))
    if isinstance(state, FallibleState):
        targets.extend((f"Catch[{i}].Next", catcher.next) for i, catcher in enumerate(state.catch))
    return targets
