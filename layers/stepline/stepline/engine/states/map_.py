"""Map (INLINE): one child frame per item, at most MaxConcurrency at a time; the list of their
outputs, unless more iterations fail than ToleratedFailureCount/Percentage allow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors, frames
from stepline.engine.dataflow import context, lookup, select
from stepline.engine.definition import MapState
from stepline.engine.errors import StatesError
from stepline.engine.history import record
from stepline.engine.model import Ending, Execution, Frame, Phase, StateKind
from stepline.engine.retry import handle_error
from stepline.engine.states.results import complete
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active

# What a Map's frame keeps while its iterations run.
_PROGRESS = ("items", "next", "running", "results", "failures", "limit", "selected")


def enter(active: Active, execution: Execution, frame: Frame, state: MapState, raw: Any) -> None:
    selected = select(state.input_path, raw)
    items = lookup(state.items_path, selected, "ItemsPath", state.name) if state.items_path else selected
    if not isinstance(items, list):
        raise StatesError(
            errors.QUERY_EVALUATION_ERROR,
            f"Map state input must be an array: the ItemsPath of {state.name!r} selected {dumps(items)[:100]}",
        )
    limit = state.max_concurrency
    if state.max_concurrency_path is not None:
        limit = int(lookup(state.max_concurrency_path, selected, "MaxConcurrencyPath", state.name))
    record(active, execution, frame, "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
    frame.phase = Phase.WAITING_CHILDREN
    frame.data.update(
        items=items,
        next=0,
        running=0,
        results=[None] * len(items),
        failures=0,
        limit=limit or len(items) or 1,
        selected=selected,
    )
    active.touch(frame)
    if not items:
        _done(active, execution, frame, state)
        return
    _start_iterations(active, execution, frame, state)


def _start_iterations(active: Active, execution: Execution, frame: Frame, state: MapState) -> None:
    data = frame.data
    processor = state.processor
    assert processor is not None
    while data["next"] < len(data["items"]) and data["running"] < data["limit"]:
        index = data["next"]
        item = data["items"][index]
        map_item = {"Index": index, "Value": item}
        iteration_input = item
        if state.item_selector is not None:
            item_context = context(active, execution, frame, state)
            item_context["Map"] = {"Item": map_item}
            iteration_input = state.item_selector(data["selected"], item_context)
        data["next"] += 1
        data["running"] += 1
        details = {"name": state.name, "index": index}
        record(active, execution, frame, "MapIterationStarted", "mapIterationStartedEventDetails", details)
        extra = {"map_item": map_item}
        frames.begin(active, execution, frame, index, processor.path, processor.start_at, iteration_input, extra)
    active.touch(frame)


def iteration_ended(
    active: Active, execution: Execution, parent: Frame, state: MapState, child: Frame, ending: Ending
) -> None:
    data = parent.data
    data["running"] -= 1
    details = {"name": state.name, "index": child.slot}
    if ending.failed:
        record(active, execution, parent, "MapIterationFailed", "mapIterationFailedEventDetails", details)
        data["failures"] += 1
        failure = {"Error": ending.error, **({"Cause": ending.cause} if ending.cause is not None else {})}
        data["results"][child.slot] = failure
        if not _tolerated(state, data["failures"], len(data["items"])):
            _give_up(active, execution, parent, state, ending)
            return
    else:
        record(active, execution, parent, "MapIterationSucceeded", "mapIterationSucceededEventDetails", details)
        data["results"][child.slot] = ending.output
    active.touch(parent)
    if data["next"] < len(data["items"]):
        _start_iterations(active, execution, parent, state)
    elif data["running"] == 0:
        _done(active, execution, parent, state)


def _give_up(active: Active, execution: Execution, frame: Frame, state: MapState, ending: Ending) -> None:
    """More iterations failed than tolerated: the Map fails (with the iteration's error, if no tolerance)."""
    frames.cancel_children(active, frame)
    record(active, execution, frame, "MapStateFailed", None, None)
    error, cause = ending.error, ending.cause
    if state.tolerated_failure_count is not None or state.tolerated_failure_percentage is not None:
        error = errors.EXCEED_TOLERATED_FAILURE_THRESHOLD
        cause = f"The specified tolerated failure threshold was exceeded ({frame.data['failures']} failed)"
    handle_error(active, execution, frame, state, error or "", cause)


def _tolerated(state: MapState, failures: int, total: int) -> bool:
    if state.tolerated_failure_count is not None and failures <= state.tolerated_failure_count:
        return True
    if state.tolerated_failure_percentage is not None and total:
        return failures * 100 / total <= state.tolerated_failure_percentage
    return False


def _done(active: Active, execution: Execution, frame: Frame, state: MapState) -> None:
    results = frame.data["results"]
    for key in _PROGRESS:
        frame.data.pop(key, None)
    record(active, execution, frame, "MapStateSucceeded", None, None)
    complete(active, execution, frame, state, results)


KIND: StateKind[MapState] = StateKind(enter, child_ended=iteration_ended)
