"""Map: one iteration per item, at most MaxConcurrency at a time; the list of their outputs, unless
more iterations fail than ToleratedFailureCount/Percentage allow.

INLINE (the default): each iteration is a child frame of the Map's, in a variable scope of
its own (``MapIterationStarted`` … events in the execution's history).

DISTRIBUTED: the items (after ItemSelector) are grouped by the ItemBatcher, if any, into
``{"Items": [...], "BatchInput": ...}``, and each item or batch is a child execution of the
processor (``states.distributed``), recorded in the parent's history as a Map Run:
``MapRunStarted`` with its ARN, then ``MapRunSucceeded`` or ``MapRunFailed``. A child sees
none of the parent's variables, and any failure beyond the tolerated ones (none by
default) fails the Map with ``States.ExceedToleratedFailureThreshold``. Its items may be read
from S3 (ItemReader) and its results written there or shaped (ResultWriter): ``states.map_io``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors, frames
from stepline.engine.dataflow import bindings, entered
from stepline.engine.definition import Evaluator, MapState
from stepline.engine.errors import StatesError
from stepline.engine.history import record
from stepline.engine.model import Ending, Execution, Frame, Phase, Progress, StateKind
from stepline.engine.retry import handle_error, raised
from stepline.engine.states import distributed, map_io
from stepline.engine.states.results import complete
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active

# What a Map's frame keeps in its row while its iterations run (``Progress`` holds its lists).
_PROGRESS = ("total", "next", "running", "failures", "limit", "tolerated", "map_run", "child_machine", "writer")
# Step Functions' default MaxConcurrency for a distributed map (its guide: up to 10,000 children at once).
DISTRIBUTED_CONCURRENCY = 10_000


def enter(active: Active, execution: Execution, frame: Frame, state: MapState, raw: Any) -> None:
    data, bound = entered(active, execution, frame, state, raw)
    items = map_io.read_items(active, state, data, bound) if state.reader is not None else _items(state, data, bound)
    target = map_io.destination(state, data, bound)
    limit = _max_concurrency(state, data, bound)
    tolerated = [_tolerance(state, data, bound, which) for which in ("count", "percentage")]
    inputs = _selected(active, execution, frame, state, data, raw, items)
    if state.distributed:
        inputs = distributed.batches(state, data, bound, inputs if inputs is not None else items)
    frame.phase = Phase.WAITING_CHILDREN
    total = len(inputs) if inputs is not None else len(items)
    frame.progress = Progress([None] * total, items, inputs)
    frame.data.update(
        total=total,
        next=0,
        running=0,
        failures=0,
        limit=limit or (DISTRIBUTED_CONCURRENCY if state.distributed else total) or 1,
        tolerated=tolerated,
    )
    if target is not None:
        frame.data["writer"] = target
    if state.distributed:
        distributed.started(active, execution, frame, state)
    else:
        record(active, execution, frame, "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
    active.touch(frame)
    if not total:
        _done(active, execution, frame, state)
        return
    _start_iterations(active, execution, frame, state)


def _items(state: MapState, data: Any, bound: Any) -> list[Any]:
    items = state.items_from(data, bound) if state.items_from is not None else data
    if not isinstance(items, list):
        kind = "object" if isinstance(items, dict) else type(items).__name__ if items is not None else "null"
        raise StatesError(
            errors.QUERY_EVALUATION_ERROR,
            f"Map state input must be an array but was: {kind} ({dumps(items)[:100]})",
        )
    return items


def _max_concurrency(state: MapState, data: Any, bound: Any) -> int:
    if state.max_concurrency_from is None:
        return state.max_concurrency
    value = state.max_concurrency_from(data, bound)
    field = "MaxConcurrency" if state.jsonata else "MaxConcurrencyPath"
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        shown = value if isinstance(value, str) else dumps(value)
        raise StatesError(
            errors.RUNTIME,
            f'The {field} field refers to value "{shown}" which is not a valid integer: {state.raw.get(field)}',
        )
    if value < 0:
        raise StatesError(
            errors.RUNTIME, f"Expected non-negative integer for MaxConcurrency, got '{int(value)}' instead."
        )
    return int(value)


def _tolerance(state: MapState, data: Any, bound: Any, which: str) -> float | None:
    static = state.tolerated_failure_count if which == "count" else state.tolerated_failure_percentage
    computed: Evaluator | None = state.tolerated_count_from if which == "count" else state.tolerated_percentage_from
    if computed is None:
        return static
    value = computed(data, bound)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatesError(errors.RUNTIME, f"The tolerated failure {which} of state '{state.name}' is not a number")
    if which == "count" and (value < 0 or int(value) != value):
        raise StatesError(errors.RUNTIME, "ToleratedFailureCount cannot be negative.")
    if which == "percentage" and not 0 <= value <= 100:
        raise StatesError(errors.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    return float(value)


def _selected(
    active: Active, execution: Execution, frame: Frame, state: MapState, data: Any, raw: Any, items: list[Any]
) -> list[Any] | None:
    """Each item through ItemSelector (None: no selector, the items are the iterations' inputs).

    The selector reads the state's input and ``$$.Map.Item`` (``$states.context.Map.Item``).
    """
    if state.item_selector is None:
        return None
    base = bindings(active, execution, frame, state)
    selected = []
    for index, item in enumerate(items):
        item_bound = type(base)(base, base.variables)
        item_bound["Map"] = {"Item": {"Index": index, "Value": item}}
        if state.jsonata:
            selected.append(state.item_selector(None, item_bound.with_states(input=raw)))
        else:
            selected.append(state.item_selector(data, item_bound))
    return selected


def _start_iterations(active: Active, execution: Execution, frame: Frame, state: MapState) -> None:
    data, progress = frame.data, frame.progress
    processor = state.processor
    assert processor is not None
    assert progress is not None
    assert progress.items is not None
    items, inputs, total, limit = progress.items, progress.inputs, data["total"], data["limit"]
    index, running = data["next"], data["running"]
    while index < total and running < limit:
        iteration_input = inputs[index] if inputs is not None else items[index]
        data["next"], data["running"] = index + 1, running + 1
        if state.distributed:
            distributed.start_child(active, execution, frame, index, iteration_input)
        else:
            details = {"name": state.name, "index": index}
            record(active, execution, frame, "MapIterationStarted", "mapIterationStartedEventDetails", details)
            extra = {"map_item": {"Index": index, "Value": items[index]}}
            frames.begin(active, execution, frame, index, processor.path, processor.start_at, iteration_input, extra)
        index, running = index + 1, running + 1
    active.touch(frame)


def iteration_ended(
    active: Active, execution: Execution, parent: Frame, state: MapState, child: Frame, ending: Ending
) -> None:
    """An inline iteration (a child frame) ended."""
    details = {"name": state.name, "index": child.slot}
    kind = "MapIterationFailed" if ending.failed else "MapIterationSucceeded"
    record(active, execution, parent, kind, f"{kind[0].lower()}{kind[1:]}EventDetails", details)
    ended(active, execution, parent, state, child.slot, ending)


def ended(active: Active, execution: Execution, parent: Frame, state: MapState, index: int, ending: Ending) -> None:
    """Iteration ``index`` ended (inline or distributed): the next ones start, or the Map ends."""
    data, progress = parent.data, parent.progress
    assert progress is not None
    data["running"] -= 1
    total = data["total"]
    if ending.failed:
        data["failures"] += 1
        failure = {"Error": ending.error, **({"Cause": ending.cause} if ending.cause is not None else {})}
        progress.results[index] = failure
        if not _tolerated(state, data["tolerated"], data["failures"], total):
            _give_up(active, execution, parent, state, ending)
            return
        active.result(parent, index, dumps(failure))
    else:
        progress.results[index] = ending.output
        active.result(parent, index, dumps(ending.output) if ending.text is None else ending.text)
    if data["next"] < total:
        _start_iterations(active, execution, parent, state)
    elif data["running"] == 0:
        _done(active, execution, parent, state)


def _give_up(active: Active, execution: Execution, frame: Frame, state: MapState, ending: Ending) -> None:
    """More iterations failed than tolerated: the Map fails (inline, with the iteration's error when
    it tolerates none)."""
    error, cause = ending.error, ending.cause
    count, percentage = frame.data["tolerated"]
    if state.distributed or count is not None or percentage is not None:
        error = errors.EXCEED_TOLERATED_FAILURE_THRESHOLD
        cause = "The specified tolerated failure threshold was exceeded"
    if state.distributed:
        distributed.stop_children(active, frame)
        distributed.failed(active, execution, frame, error, cause)
    else:
        frames.cancel_children(active, frame)
        record(active, execution, frame, "MapStateFailed", None, None)
    _forget_progress(active, frame)
    handle_error(active, execution, frame, state, error, cause)


def _tolerated(state: MapState, tolerated: list[float | None], failures: int, total: int) -> bool:
    count, percentage = tolerated
    if count is not None and failures <= count:
        return True
    if percentage is not None and total:
        return failures * 100 / total <= percentage + 1e-9
    return False


def _done(active: Active, execution: Execution, frame: Frame, state: MapState) -> None:
    assert frame.progress is not None
    results: Any = frame.progress.results
    if state.distributed:
        if state.writer is not None:
            try:
                results = map_io.written(active, frame, state, len(results))
            except StatesError as error:
                distributed.failed(active, execution, frame, error.error, error.cause)
                _forget_progress(active, frame)
                raise
        distributed.succeeded(active, execution, frame)
    else:
        record(active, execution, frame, "MapStateSucceeded", None, None)
    _forget_progress(active, frame)
    complete(active, execution, frame, state, results)


def _forget_progress(active: Active, frame: Frame) -> None:
    for key in _PROGRESS:
        frame.data.pop(key, None)
    active.drop_lists(frame)


def child_execution_ended(active: Active, frame: Frame, child: Execution) -> None:
    """A distributed map's child execution ended: its output or failure is iteration's."""
    execution = active.executions[frame.execution]
    state = execution.definition.state(frame.scope, frame.state)
    assert isinstance(state, MapState)
    index, ending = distributed.ending_of(active, frame, child)
    if index is None:
        return
    try:
        ended(active, execution, frame, state, index, ending)
    except StatesError as error:
        raised(active, execution, frame, state, error)


KIND: StateKind[MapState] = StateKind(enter, child_ended=iteration_ended, nested_ended=child_execution_ended)
