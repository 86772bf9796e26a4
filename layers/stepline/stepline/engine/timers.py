"""Timers: Wait states, retry back-offs, tasks' TimeoutSeconds and HeartbeatSeconds, and executions'
deadlines (their state machine's TimeoutSeconds, ``deadlines``: each fires before any frame's
timer due at the same moment).

One heap of ``(due, frame id, version)``. A frame keeps the version of its current timer in
``data["timer"]``; arming a new one bumps it, so an entry whose version no longer matches (a
heartbeat moved the deadline, the task was answered) is stale and dropped when reached. Due
times are on the engine's clock, so a ``ManualClock`` passes days of waiting instantly.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from stepline.engine import executions
from stepline.engine.model import TASK_PHASES, TIMER_PHASES, Execution, Frame, Phase

if TYPE_CHECKING:
    from stepline.engine.active import Active
    from stepline.engine.definition import State


class Timers:
    __slots__ = ("deadlines", "heap")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, int]] = []
        # Executions' deadlines (their state machine's TimeoutSeconds): (due, execution ARN).
        self.deadlines: list[tuple[float, str]] = []

    def push(self, due: float, frame_id: int, version: int) -> None:
        heapq.heappush(self.heap, (due, frame_id, version))

    def clear(self) -> None:
        self.heap.clear()
        self.deadlines.clear()


def wait_until(active: Active, frame: Frame, phase: Phase, due: float) -> None:
    """Park ``frame`` in ``phase`` (a Wait's time, a retry's back-off) until ``due``."""
    frame.phase = phase
    frame.data["due"] = due
    frame.data["timer"] = frame.data.get("timer", 0) + 1
    active.touch(frame)
    active.timers.push(due, frame.id, frame.data["timer"])


def arm_task(active: Active, frame: Frame) -> None:
    """The task's deadline: its timeout, or its next heartbeat if that comes first."""
    due = frame.data["timeout_at"]
    if frame.data.get("heartbeat_at"):
        due = min(due, frame.data["heartbeat_at"])
    frame.data["timer"] = frame.data.get("timer", 0) + 1
    active.timers.push(due, frame.id, frame.data["timer"])


def restore(active: Active, frame: Frame) -> None:
    """Re-arm the timer of a frame read back from the database."""
    if frame.phase in TIMER_PHASES:
        active.timers.push(frame.data["due"], frame.id, frame.data.get("timer", 0))
    elif (frame.phase in TASK_PHASES or frame.phase is Phase.RETURNED) and "timeout_at" in frame.data:
        arm_task(active, frame)


def next_due(active: Active) -> float | None:
    heap, deadlines = active.timers.heap, active.timers.deadlines
    while deadlines and deadlines[0][1] not in active.executions:
        heapq.heappop(deadlines)  # that execution ended
    deadline = deadlines[0][0] if deadlines else None
    while heap:
        due, frame_id, version = heap[0]
        frame = active.frames.get(frame_id)
        if frame is not None and frame.active and frame.data.get("timer") == version:
            return due if deadline is None else min(due, deadline)
        heapq.heappop(heap)
    return deadline


def next_skippable(active: Active) -> float | None:
    """The next Wait state or retry back-off: what ``skip_waits`` may jump the clock to.

    A task's timeout is not skipped: jumping years ahead because nobody has answered a
    token yet would turn every unanswered callback into a timeout.
    """
    next_due(active)
    due_times = [
        due
        for due, frame_id, version in active.timers.heap
        if (frame := active.frames.get(frame_id)) is not None
        and frame.active
        and frame.data.get("timer") == version
        and frame.phase in TIMER_PHASES
    ]
    return min(due_times, default=None)


def due(active: Active) -> bool:
    """Whether a timer is due now."""
    when = next_due(active)
    return when is not None and when <= active.clock.now()


def fire_due(active: Active) -> None:
    """Move every frame whose timer is due, in the group in progress.

    A task whose call has returned but is not recorded yet (RETURNED, already in line) keeps its
    timer for after that step: its deadline then applies to what the step made of it (a
    callback now waiting for its token), or to nothing (the task settled).
    """
    now = active.clock.now()
    deadlines = active.timers.deadlines
    while deadlines and deadlines[0][0] <= now:
        _, arn = heapq.heappop(deadlines)
        execution = active.executions.get(arn)
        if execution is not None:
            executions.time_out(active, execution)
    later = []
    while (when := next_due(active)) is not None and when <= now:
        entry = heapq.heappop(active.timers.heap)
        frame = active.frames[entry[1]]
        if frame.phase is Phase.RETURNED:
            later.append(entry)
            continue
        execution = active.executions[frame.execution]
        _fired(active, execution, frame, execution.definition.state(frame.scope, frame.state))
    for entry in later:
        heapq.heappush(active.timers.heap, entry)


def _fired(active: Active, execution: Execution, frame: Frame, state: State) -> None:
    frame.data.pop("timer", None)
    if frame.phase is Phase.WAITING_TIMER:
        frame.phase = Phase.WAIT_OVER
    elif frame.phase is Phase.WAITING_RETRY:
        frame.phase = Phase.RETRY
    elif frame.phase in TASK_PHASES:
        timed_out = active.kinds[state.type].timed_out
        assert timed_out is not None, f"a {state.type} state has no task timeout"
        timed_out(active, execution, frame, state)
        return
    else:
        return
    active.touch(frame)
    active.ready.append(frame.id)
