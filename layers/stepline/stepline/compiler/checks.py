"""Static checks on any ASL definition, before it goes anywhere near a runtime.

Every ``Next``/``Default``/``Catch`` target resolves within its scope, every state is
reachable, names are unique and at most 80 characters, the definition fits Step Functions'
1 MiB as ``definition_json`` writes it (the exact text ``stepline deploy`` sends), and an
upper bound on history events per execution stays under the 25,000 that Step Functions
allows (a pipeline whose worst case exceeds it could fail part-way for no reason of its own).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

MAX_STATE_NAME = 80
MAX_DEFINITION_BYTES = 1024 * 1024  # CreateStateMachine's limit on the definition, in UTF-8 bytes
MAX_HISTORY_EVENTS = 25_000

# Worst-case history events a state adds once entered (Step Functions' event types):
# Entered + Exited for every state, plus for a Task each attempt's Scheduled, Started,
# Submitted and Succeeded/Failed/TimedOut, and for a Parallel its Started and Succeeded/Failed.
_EVENTS_PER_STATE = 2
_EVENTS_PER_TASK_ATTEMPT = 4
_EVENTS_PER_PARALLEL = 2
_EXECUTION_EVENTS = 2  # ExecutionStarted + ExecutionSucceeded/Failed


def definition_json(definition: Mapping[str, Any]) -> str:
    """The definition as it is measured and sent: compact, non-ASCII kept as UTF-8."""
    return json.dumps(definition, separators=(",", ":"), ensure_ascii=False)


def definition_bytes(definition: Mapping[str, Any]) -> int:
    return len(definition_json(definition).encode("utf-8"))


def check_definition(definition: Mapping[str, Any], measured: str = "", growth: int = 0) -> list[str]:
    """Every problem found, as sentences naming the state and field; empty when usable.

    The size is measured on ``definition`` as given: a definition whose resources are still
    ``${Placeholder}`` strings grows when they are filled in, so the compiler measures it with
    each placeholder at the longest ARN it can become (``compile_checked`` passes how many
    bytes that adds as ``growth``), and says so in ``measured``."""
    problems: list[str] = []
    names: dict[str, str] = {}
    _check_scope(definition, "the state machine", problems, names)
    size = definition_bytes(definition) + growth
    if size > MAX_DEFINITION_BYTES:
        problems.append(
            f"the definition is {size:,} bytes{measured}; Step Functions accepts at most {MAX_DEFINITION_BYTES:,} "
            "(use fewer actions, or shorter configurations)"
        )
    if not problems:
        bound = history_event_bound(definition)
        if bound > MAX_HISTORY_EVENTS:
            problems.append(
                f"an execution could record up to {bound:,} history events; Step Functions stops "
                f"executions at {MAX_HISTORY_EVENTS:,} (use fewer actions or fewer retries)"
            )
    return problems


def _check_scope(scope: Mapping[str, Any], where: str, problems: list[str], names: dict[str, str]) -> None:
    states = scope.get("States")
    start = scope.get("StartAt")
    if not isinstance(states, dict) or not states:
        problems.append(f"{where} has no States")
        return
    if start not in states:
        problems.append(f"{where}: StartAt {start!r} is not one of its states")
    for name, state in states.items():
        if name in names:
            problems.append(f"state name {name!r} is used twice ({names[name]} and {where})")
        names[name] = where
        if len(name) > MAX_STATE_NAME:
            problems.append(f"state {name!r} has a name of {len(name)} characters; the limit is {MAX_STATE_NAME}")
        for field, target in _transitions(state):
            if target not in states:
                problems.append(f"state {name!r}: {field} {target!r} is not a state in {where}")
        kind = state.get("Type")
        ends = state.get("End") is True or "Next" in state
        if kind not in {"Choice", "Succeed", "Fail"} and not ends:
            problems.append(f"state {name!r} has neither Next nor End")
        for index, branch in enumerate(state.get("Branches", [])):
            _check_scope(branch, f"branch {index} of {name!r}", problems, names)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                _check_scope(state[key], f"the {key} of {name!r}", problems, names)
    reachable = _reachable(states, start)
    for name in states:
        if name not in reachable:
            problems.append(f"state {name!r} cannot be reached from {start!r} in {where}")


def _transitions(state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if "Next" in state:
        yield "Next", state["Next"]
    if "Default" in state:
        yield "Default", state["Default"]
    for index, choice in enumerate(state.get("Choices", [])):
        if "Next" in choice:
            yield f"Choices[{index}].Next", choice["Next"]
    for index, catcher in enumerate(state.get("Catch", [])):
        if "Next" in catcher:
            yield f"Catch[{index}].Next", catcher["Next"]


def _reachable(states: Mapping[str, Any], start: Any) -> set[str]:
    seen: set[str] = set()
    pending = [start] if start in states else []
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(target for _, target in _transitions(states[name]) if target in states)
    return seen


def history_event_bound(definition: Mapping[str, Any]) -> int:
    """Events if every state ran once with every retry used: safe for loop-free definitions."""
    return _EXECUTION_EVENTS + _scope_events(definition)


def _scope_events(scope: Mapping[str, Any]) -> int:
    total = 0
    for state in scope.get("States", {}).values():
        total += _EVENTS_PER_STATE
        kind = state.get("Type")
        if kind == "Task":
            attempts = 1 + sum(int(retrier.get("MaxAttempts", 3)) for retrier in state.get("Retry", []))
            total += attempts * _EVENTS_PER_TASK_ATTEMPT
        elif kind == "Parallel":
            total += _EVENTS_PER_PARALLEL + sum(_scope_events(branch) for branch in state["Branches"])
        elif kind == "Map":
            raise ValueError("a Map state's history depends on its items; it cannot be bounded statically")
    return total
