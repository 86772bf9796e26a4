"""Frames begun and ended: the threads of control of an execution.

A frame lives in ``Active.frames`` and its execution's ``frames`` while it runs. It has a row
of the ``frames`` table only while it is alive at a commit (``batch``): one born and ended
between two commits is never written, and one that ends loses its row at the next commit.
A new frame is made ready at its scope's first state; its history links on from its
parent's last event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.model import Execution, Frame, Phase

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
    extra: dict[str, Any] | None = None,
    input_text: str | None = None,
    *,
    write: bool = True,
) -> Frame:
    """A frame at ``state`` of ``scope`` with input ``data_in``, ready to enter it.

    ``slot`` is the branch's index in a Parallel or the item's in a Map (0 for the root).
    ``write=False``: not written unless it moves before a commit (an execution's root frame
    at its start, which recovery can make again from the execution's row).
    """
    data = dict(extra) if extra else {}
    if parent is None:
        data["last_event"] = execution.event_count
        parent_id = None
    else:
        data["last_event"] = parent.data.get("last_event", 0)
        if "map_item" in parent.data and "map_item" not in data:
            data["map_item"] = parent.data["map_item"]
        parent_id = parent.id
    frame = Frame(
        active.new_frame_id(),
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
    execution.frames[frame.id] = frame
    if write:
        active.touch(frame)
    active.ready.append(frame.id)
    return frame


def end(active: Active, execution: Execution, frame: Frame, phase: Phase) -> None:
    """``frame`` is over (``phase``: done, failed or cancelled): out of memory, and of the database
    at the next commit."""
    frame.active = False
    frame.phase = phase
    if frame.token:
        active.tokens.pop(frame.token, None)
    active.frames.pop(frame.id, None)
    execution.frames.pop(frame.id, None)
    active.touch(frame)


def cancel_children(active: Active, parent: Frame) -> None:
    """End every frame under ``parent`` (a Parallel branch failed, a Map gave up)."""
    execution = active.executions.get(parent.execution)
    if execution is None:
        return  # it ended in this very step (its history full), and its frames with it
    under: dict[int | None, list[Frame]] = {}
    for frame in execution.frames.values():
        under.setdefault(frame.parent, []).append(frame)
    below = under.get(parent.id, [])
    while below:
        frame = below.pop()
        below.extend(under.get(frame.id, []))
        end(active, execution, frame, Phase.CANCELLED)


def forget_execution(active: Active, execution: Execution) -> None:
    """An execution ended: its frames are over."""
    for frame in list(execution.frames.values()):
        end(active, execution, frame, Phase.CANCELLED)
