"""Picking up where the last committed transaction left every unfinished execution.

Run when an engine opens its database, and after an engine fault (whose group of steps was
rolled back, so memory is read again from disk). Frames come back in their phases: ready
ones are stepped again (a task attempt in INVOKE is called again: at least once), timers are
re-armed, a nested execution that ended meanwhile answers its task, and ends the listeners
had not all heard of are told again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from stepline.engine import errors, executions, timers
from stepline.engine.clock import ManualClock
from stepline.engine.model import READY_PHASES, ExecutionStatus, Frame, Phase
from stepline.engine.states import task

if TYPE_CHECKING:
    from stepline.engine.active import Active


def recover(active: Active) -> None:
    stored_clock = active.store.get_meta("clock")
    if stored_clock is not None and isinstance(active.clock, ManualClock):
        active.clock.set(float(stored_clock))
    rows = active.store.query(
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
        active.frames[frame_id] = frame
        if token:
            active.tokens[token] = frame_id
        if frame.phase in READY_PHASES:
            active.ready.append(frame_id)
        timers.restore(active, frame)
    for frame in list(active.frames.values()):
        if frame.phase is Phase.WAITING_EXECUTION:
            with active.store.transaction(), active.batch():
                task.nested_ended(active, frame, frame.data.get("child", ""))
    known = set(active.finished)
    unannounced = active.store.query("SELECT execution_arn FROM unannounced")
    active.finished += [arn for (arn,) in unannounced if arn not in known]


def after_fault(active: Active, execution_arn: str, message: str) -> None:
    """The faulty group was rolled back: reload what memory held from disk, then fail the execution."""
    active.forget_everything()
    recover(active)
    with active.store.transaction():
        execution = executions.load(active, execution_arn)
        if execution is not None and execution.status is ExecutionStatus.RUNNING:
            for frame in [f for f in active.frames.values() if f.execution == execution_arn]:
                active.frames.pop(frame.id, None)
            # Some of this execution's frames may exist only on disk: end them there.
            active.store.db.execute(
                "UPDATE frames SET active = 0, phase = ? WHERE execution_arn = ? AND active = 1",
                (Phase.CANCELLED, execution_arn),
            )
            with active.batch():
                executions.fail(active, execution, errors.RUNTIME, message)
    active.notify()
