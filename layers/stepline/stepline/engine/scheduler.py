"""What runs when: the run loop, one commit per pause, and the workers that call tasks.

The loop fires due timers and steps ready frames in memory, as one *group*, until every
ready frame has paused (a task to call, a wait, a callback, its end) or ``MAX_CALLS`` tasks
are due to be called or ``MAX_GROUP`` steps were taken; the group is then written in one
transaction (``batch``), so frames born and ended inside it are never written, and only
then are its tasks called. The bounds keep a long run of pure states (a Map of many items)
from holding the lock for long or piling up memory, and what a crash makes the engine call
again small. API calls commit before they answer. So a crash can lose only steps nothing
outside has seen, which recovery redoes identically. ``durability="transition"`` makes
every group one step. StartExecution runs its execution ahead to its first pause inside its
own transaction (``run_ahead``): the calls it reaches are ``owed``, made by the loop first.

Task attempts are called on the loop's thread, or on a pool of ``workers`` threads; either
way outside the lock and any transaction. What a call returns is handed to its frame in
memory (``task.returned``) and recorded by the frame's next step, first in the next group,
in the commit made before any further call leaves.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stepline.engine import calls, executions, recovery, timers
from stepline.engine.active import Active
from stepline.engine.clock import ManualClock
from stepline.engine.model import Execution, Invocation
from stepline.engine.steps import Fault, step

MAX_GROUP = 10_000  # steps committed together at most: how long the lock is held, what a crash redoes
MAX_CALLS = 16  # task calls one commit lets out at most: what a crash makes the engine call again
RUN_AHEAD = 1_000  # steps StartExecution takes at most before it answers (the rest run in the loop)
_POLL = 0.05  # seconds between looks at in-flight tasks
_IDLE = 0.25  # longest wait for a timer or an outside answer before looking again


class Scheduler:
    def __init__(self, active: Active, *, workers: int, group: int) -> None:
        self.active = active
        self.group = group
        self.inflight = 0
        self.owed: list[Invocation] = []  # calls committed by a StartExecution, for the loop to make
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stepline-task") if workers else None

    def run(
        self,
        *,
        until: Callable[[], bool] | None = None,
        skip_waits: bool = False,
        block: bool = False,
        timeout: float | None = None,
    ) -> None:
        active = self.active
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if active.store.failure is not None:
                raise active.store.failure  # a write failed (a full disk): memory is ahead of the disk
            if active.finished:
                executions.announce(active)
            if until is not None and until():
                return
            with active.lock:
                if self.owed:
                    invocations, self.owed = self.owed, []
                elif not active.ready and not active.returned and not timers.due(active):
                    if not self._idle_wait(skip_waits, block, deadline):
                        return
                    continue
                else:
                    try:
                        invocations = self._group()
                    except Fault as fault:
                        recovery.after_fault(active, fault.execution, fault.message)
                        continue
            for invocation in invocations:
                self._dispatch(invocation)

    def awaiting_outside(self) -> bool:
        """Only an outside answer (a task token, a heartbeat) or a task's timeout can move things now."""
        with self.active.lock:
            active = self.active
            moving = active.ready or active.returned or self.inflight or self.owed
            return not moving and timers.next_skippable(active) is None

    def start(self, machine_arn: str, name: str | None, input: str) -> dict[str, Any]:
        """StartExecution, the new execution run ahead to its first pause in the start's own commit."""
        active = self.active
        try:
            return executions.start(
                active, machine_arn, name, input, run_ahead=self.run_ahead if self.group > 1 else None
            )
        except Fault as fault:
            # An engine bug met while running ahead: the start was rolled back with its steps.
            # Memory is read again from disk, and the execution started plainly, then failed as
            # the loop fails one.
            with active.lock:
                self.owed.clear()  # their frames are read back ready to call: called from there
                active.forget_everything()
                recovery.recover(active)
            started = executions.start(active, machine_arn, name, input)
            recovery.after_fault(active, fault.execution, fault.message)
            return started

    def run_ahead(self, execution: Execution) -> None:
        """Inside StartExecution's transaction: step the new execution until it pauses, so an
        execution that never pauses costs one commit, and one that calls a task commits that
        call with its start (the call is made by the loop, after the commit). Other executions'
        ready frames wait their turn in the loop."""
        active = self.active
        others, active.ready = active.ready, deque()
        for frame_id in execution.frames:
            if others and others[-1] == frame_id:
                others.pop()
            active.ready.append(frame_id)
        try:
            for _ in range(RUN_AHEAD):
                if not active.ready:
                    break
                invocation = step(active, active.ready.popleft())
                if invocation is not None:
                    self.owed.append(invocation)
                    if len(self.owed) >= MAX_CALLS:
                        break
        finally:
            mine, active.ready = active.ready, others
            others.extend(mine)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def _group(self) -> list[Invocation]:
        """Due timers and ready steps in memory, committed in one transaction; then the calls to make."""
        active = self.active
        calls: list[Invocation] = []
        with active.store.transaction(), active.batch():
            timers.fire_due(active)
            for _ in range(self.group):
                if active.returned:
                    invocation = step(active, active.returned.popleft())
                elif active.ready:
                    invocation = step(active, active.ready.popleft())
                else:
                    break
                if invocation is not None:
                    calls.append(invocation)
                    if len(calls) >= MAX_CALLS:
                        break
        # Each has its TaskStarted written, so each is made, even if a later step of the group
        # cancelled its branch or ended its execution: what it returns is then ignored.
        return calls

    def _idle_wait(self, skip_waits: bool, block: bool, deadline: float | None) -> bool:
        """With the lock held and nothing ready: wait, skip time, or report idle (False)."""
        active = self.active
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        if self.inflight:
            active.changed.wait(timeout=min(remaining or _POLL, _POLL))
            return True
        next_due = timers.next_due(active)
        clock = active.clock
        skippable = timers.next_skippable(active) if skip_waits and isinstance(clock, ManualClock) else None
        if skippable is not None and isinstance(clock, ManualClock):
            clock.set(skippable)
            active.store.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', ?)", (str(skippable),))
            return True
        if not block:
            return False
        wait = _IDLE if next_due is None else max(0.0, min(next_due - clock.now(), _IDLE))
        active.changed.wait(timeout=wait if remaining is None else min(wait, remaining))
        return True

    def _dispatch(self, invocation: Invocation) -> None:
        if self.pool is None:
            calls.invoke(self.active, invocation)
            return
        with self.active.lock:
            self.inflight += 1
        self.pool.submit(self._invoke_in_pool, invocation)

    def _invoke_in_pool(self, invocation: Invocation) -> None:
        try:
            calls.invoke(self.active, invocation)
        finally:
            with self.active.lock:
                self.inflight -= 1
                self.active.changed.notify_all()
