"""Frames begun and cancelled: the threads of control of an execution.

A frame is a row of the ``frames`` table and, while its execution runs, an entry of
``Active.frames``. A new frame is written at once (its id is the row's) and made ready at its
scope's first state; its history links on from its parent's last event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.model import Execution, Frame, Phase
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active


def begin(
    active: Active,
    execution: Execution,
    parent: Frame | None,
    slot: int,
    scope: str,
    state: str,
    data_in: Any,
    extra: dict[str, Any],
) -> Frame:
    """A frame at ``state`` of ``scope`` with input ``data_in``, ready to enter it.

    ``slot`` is the branch's index in a Parallel or the item's in a Map (0 for the root).
    """
    data = dict(extra)
    if parent is None:
        data["last_event"] = execution.event_count
    else:
        data["last_event"] = parent.data.get("last_event", 0)
        if "map_item" in parent.data and "map_item" not in data:
            data["map_item"] = parent.data["map_item"]
    input_text = dumps(data_in)
    parent_id = parent.id if parent else None
    cursor = active.store.db.execute(
        "INSERT INTO frames (execution_arn, parent, slot, scope, state, phase, input, data, active) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (execution.arn, parent_id, slot, scope, state, Phase.ENTER, input_text, dumps(data)),
    )
    frame = Frame(
        int(cursor.lastrowid or 0),
        execution.arn,
        parent_id,
        slot,
        scope,
        state,
        Phase.ENTER,
        data_in,
        data,
        input_text=input_text,
    )
    active.frames[frame.id] = frame
    active.ready.append(frame.id)
    return frame


def cancel_children(active: Active, parent: Frame) -> None:
    """End every frame under ``parent`` (a Parallel branch failed, a Map gave up)."""
    for frame in [f for f in active.frames.values() if f.parent == parent.id]:
        cancel_children(active, frame)
        frame.active = False
        frame.phase = Phase.CANCELLED
        active.forget_token(frame)
        active.touch(frame)
        active.frames.pop(frame.id, None)


def forget_execution(active: Active, execution_arn: str) -> None:
    """Drop an ended execution's frames from memory; on disk, its status says they are over."""
    for frame in [f for f in active.frames.values() if f.execution == execution_arn]:
        frame.active = False
        frame.phase = Phase.CANCELLED
        active.forget_token(frame)
        active.frames.pop(frame.id, None)
