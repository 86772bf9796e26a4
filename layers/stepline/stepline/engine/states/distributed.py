"""A distributed map's Map Run: its ARN, its batches, its child executions and their ends.

The processor runs as a state machine of its own, ``<machine>/<label>`` (the Map's Label, or
its name), created on the engine beside its parent; each item or batch is an execution of it
whose ``parent_frame`` is the Map's frame and ``parent_slot`` its index, so its end comes back
to the Map (``StateKind.nested_ended``). Children start inside the Map's step and, like an
inline Map's iterations, are written only if they are still running at a commit. Executions
are named by UUID, as Step Functions names them (``arn:…:execution:<machine>/<label>:<uuid>``):
the Map Run's UUID (``arn:…:mapRun:<machine>/<label>:<uuid>``) with the item's index as its
last group, so a run's children sort, and are written, in the order they start.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from stepline.engine import errors, executions, machines
from stepline.engine.definition import MapState
from stepline.engine.errors import StatesError
from stepline.engine.history import record
from stepline.engine.model import Ending, Execution, ExecutionStatus, Frame
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active


def batches(state: MapState, data: Any, bound: Any, items: list[Any]) -> list[Any]:
    """The items grouped as the ItemBatcher says: ``{"Items": [...], "BatchInput": ...}`` each."""
    batcher = state.batcher
    if batcher is None:
        return items
    max_items = _limit(batcher.max_items, batcher.max_items_from, data, bound, "MaxItemsPerBatch")
    max_bytes = _limit(batcher.max_bytes, batcher.max_bytes_from, data, bound, "MaxInputBytesPerBatch")
    shared = batcher.batch_input(data, bound) if batcher.batch_input is not None else None
    envelope = len(dumps({"Items": [], **({"BatchInput": shared} if shared is not None else {})}).encode())
    grouped: list[list[Any]] = []
    size = 0
    for item in items:
        item_size = len(dumps(item).encode()) + 1
        if max_bytes is not None and envelope + item_size > max_bytes:
            raise StatesError(
                errors.RUNTIME,
                f"An item of state '{state.name}' is larger than MaxInputBytesPerBatch ({max_bytes} bytes)",
            )
        full = grouped and (
            (max_items is not None and len(grouped[-1]) >= max_items)
            or (max_bytes is not None and envelope + size + item_size > max_bytes)
        )
        if not grouped or full:
            grouped.append([])
            size = 0
        grouped[-1].append(item)
        size += item_size
    return [{"Items": group, **({"BatchInput": shared} if shared is not None else {})} for group in grouped]


def _limit(static: int | None, computed: Any, data: Any, bound: Any, field: str) -> int | None:
    if computed is None:
        return static
    value = computed(data, bound)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 1:
        raise StatesError(errors.RUNTIME, f"The {field} must be a whole number, 1 or more, not {dumps(value)}")
    return int(value)


def started(active: Active, execution: Execution, frame: Frame, state: MapState) -> None:
    """The Map Run begins: its processor's state machine exists, MapRunStarted is recorded."""
    label = state.label or state.name
    name = f"{execution.machine_name}/{label}"
    processor = {
        **{key: value for key, value in (state.raw.get("ItemProcessor") or {}).items() if key != "ProcessorConfig"},
        "QueryLanguage": execution.definition.language.value,
    }
    child_machine = machines.derive(active, name, processor, execution.role_arn)
    run = f"{execution.machine_arn.replace(':stateMachine:', ':mapRun:')}/{label}:{uuid.uuid4()}"
    frame.data.update(map_run=run, child_machine=child_machine)
    record(active, execution, frame, "MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": run})


def start_child(active: Active, execution: Execution, frame: Frame, index: int, data_in: Any) -> None:
    name = f"{frame.data['map_run'][-36:-12]}{index:012x}"
    child = executions.start_child(active, frame.data["child_machine"], name, data_in, frame.id, index)
    assert frame.progress is not None
    frame.progress.children[child.arn] = index


def ending_of(active: Active, frame: Frame, child: Execution) -> tuple[int | None, Ending]:
    """Which iteration ``child`` was and how it ended (None: not one of this Map's, or already heard)."""
    progress = frame.progress
    index = progress.children.pop(child.arn, None) if progress is not None else None
    if index is None or child.status is ExecutionStatus.RUNNING:
        return None, Ending()
    active.touch(frame)
    if child.status is ExecutionStatus.SUCCEEDED:
        return index, Ending(output=child.output, text=child.output_text)
    return index, Ending(error=child.error, cause=child.cause, failed=True)


def stop_children(active: Active, frame: Frame) -> None:
    """The Map Run failed: every child still running is aborted."""
    progress = frame.progress
    for arn in list(progress.children) if progress is not None else []:
        child = executions.load(active, arn)
        if child is not None and child.status is ExecutionStatus.RUNNING:
            child.parent_frame = None
            executions.abort(active, child)
    if progress is not None:
        progress.children.clear()


def failed(active: Active, execution: Execution, frame: Frame, error: str | None, cause: str | None) -> None:
    details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
    record(active, execution, frame, "MapRunFailed", "mapRunFailedEventDetails", details)


def succeeded(active: Active, execution: Execution, frame: Frame) -> None:
    record(active, execution, frame, "MapRunSucceeded", None, None)
