"""Picking up where the last commit left every unfinished execution.

Run when an engine opens its database, and after an engine fault (whose group of steps was
rolled back, so memory is read again from disk). Frames come back in their phases: ready
ones are stepped again (a task attempt in INVOKE is called again, with the same parameters
and token: at least once), timers are re-armed, a running Parallel or Map gets its lists
back, a nested execution that ended meanwhile answers its task, and ends the listeners had
not all heard of are told again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stepline.engine import errors, executions, timers
from stepline.engine.clock import ManualClock
from stepline.engine.model import READY_PHASES, ExecutionStatus, Frame, Phase, Progress
from stepline.engine.states import task

if TYPE_CHECKING:
    from stepline.engine.active import Active


def recover(active: Active) -> None:
    store = active.store
    stored_clock = store.get_meta("clock")
    if stored_clock is not None and isinstance(active.clock, ManualClock):
        active.clock.set(float(stored_clock))
    top = store.query("SELECT coalesce(max(id), 0) FROM frames")[0][0]
    active.frame_seq = max(top, int(store.get_meta("frame_seq") or 0))
    active.next_frame = active.frame_seq + 1
    rows = store.query(
        "SELECT id, execution_arn, parent, slot, scope, state, phase, input, data, token FROM frames "
        "WHERE active = 1 ORDER BY id"
    )
    for frame_id, arn, parent, slot, scope, state, phase, data_in, data, token in rows:
        execution = executions.load(active, arn)
        if execution is None or execution.status is not ExecutionStatus.RUNNING:
            continue
        frame = Frame(
            frame_id, arn, parent, slot, scope, state, Phase(phase), json.loads(data_in), json.loads(data), token
        )
        frame.input_text, frame.saved, frame.input_saved = data_in, True, True
        active.frames[frame_id] = frame
        execution.frames[frame_id] = frame
        if token:
            active.tokens[token] = frame_id
        if frame.phase in READY_PHASES:
            active.ready.append(frame_id)
        timers.restore(active, frame)
    for (arn,) in store.query("SELECT arn FROM executions WHERE status = 'RUNNING' ORDER BY rowid"):
        execution = executions.load(active, arn)
        if execution is not None and not execution.frames:
            executions.root(active, execution)  # started, and nothing since: its root frame was not written
        if execution is not None:
            executions.arm_deadline(active, execution)
    _restore_lists(active)
    for frame in list(active.frames.values()):
        if frame.phase is Phase.WAITING_EXECUTION:
            with store.transaction(), active.batch():
                child = executions.load(active, frame.data.get("child", ""))
                if child is not None:
                    task.nested_ended(active, frame, child)
    known = set(active.finished)
    unannounced = store.query("SELECT execution_arn FROM unannounced")
    active.finished += [arn for (arn,) in unannounced if arn not in known]


def _restore_lists(active: Active) -> None:
    """Each running Parallel's and Map's items, results and running children, as last written."""
    parents = [frame for frame in active.frames.values() if frame.phase is Phase.WAITING_CHILDREN]
    if not parents:
        return
    store = active.store
    items = {frame: (listed, inputs) for frame, listed, inputs in store.query("SELECT * FROM map_items")}
    results: dict[int, list[tuple[int, str]]] = {}
    for frame_id, slot, value in store.query("SELECT frame, slot, value FROM results"):
        results.setdefault(frame_id, []).append((slot, value))
    for frame in parents:
        if "results" in frame.data:
            _adopt_older(active, frame)
            continue
        listed, inputs = items.get(frame.id, (None, None))
        progress = Progress(
            [None] * frame.data["total"],
            json.loads(listed) if listed is not None else None,
            json.loads(inputs) if inputs is not None else None,
            items_saved=True,
        )
        for slot, value in results.get(frame.id, []):
            progress.results[slot] = json.loads(value)
        frame.progress = progress
    for execution in list(active.executions.values()):
        parent = active.frames.get(execution.parent_frame) if execution.parent_frame is not None else None
        if parent is not None and parent.progress is not None and execution.parent_slot is not None:
            parent.progress.children[execution.arn] = execution.parent_slot


def _adopt_older(active: Active, frame: Frame) -> None:
    """A Parallel or Map an older engine was running kept its lists in the frame's data: move them."""
    data: dict[str, Any] = frame.data
    progress = Progress(data.pop("results"), data.pop("items", None), data.pop("inputs", None))
    progress.children = data.pop("children", None) or {}
    data["total"] = len(progress.results)
    frame.progress = progress
    live = {child.slot for child in active.frames.values() if child.parent == frame.id}
    live.update(progress.children.values())
    begun = data.get("next", data["total"])
    with active.store.transaction(), active.batch():
        for slot in range(begun):
            if slot not in live:
                active.result(frame, slot, json.dumps(progress.results[slot], separators=(",", ":")))


def after_fault(active: Active, execution_arn: str, message: str) -> None:
    """The faulty group was rolled back: reload what memory held from disk, then fail the execution."""
    active.forget_everything()
    recover(active)
    with active.store.transaction(), active.batch():
        execution = executions.load(active, execution_arn)
        if execution is not None and execution.status is ExecutionStatus.RUNNING:
            executions.fail(active, execution, errors.RUNTIME, message)
    active.notify()
