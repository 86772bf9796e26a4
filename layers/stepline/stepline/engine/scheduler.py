"""What runs when: the run loop, group commits, and the workers that call tasks.

The loop fires due timers, then steps ready frames in *groups*: consecutive steps share one
transaction of at most ``MAX_GROUP`` steps, and a step that has a task to call ends its group,
so the commit comes before the call. API calls and waits commit on their own. So a crash can
lose only steps nothing outside has seen, which recovery redoes identically.
``durability="transition"`` makes every group one step.

Task attempts are called on the loop's thread, or on a pool of ``workers`` threads; either
way outside any transaction, their results recorded in transactions of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from stepline.engine import calls, executions, recovery, timers
from stepline.engine.active import Active
from stepline.engine.clock import ManualClock
from stepline.engine.model import Invocation
from stepline.engine.steps import Fault, step

MAX_GROUP = 64  # steps committed together at most, bounding what a crash makes the engine redo
_POLL = 0.05  # seconds between looks at in-flight tasks
_IDLE = 0.25  # longest wait for a timer or an outside answer before looking again


class Scheduler:
    def __init__(self, active: Active, *, workers: int, group: int) -> None:
        self.active = active
        self.group = group
        self.inflight = 0
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
            invocation = None
            with active.lock:
                timers.fire_due(active)
                if not active.ready:
                    if not self._idle_wait(skip_waits, block, deadline):
                        return
                    continue
                try:
                    invocation = self._group()
                except Fault as fault:
                    recovery.after_fault(active, fault.execution, fault.message)
                    continue
            if invocation is not None:
                self._dispatch(invocation)

    def awaiting_outside(self) -> bool:
        """Only an outside answer (a task token, a heartbeat) or a task's timeout can move things now."""
        with self.active.lock:
            return not self.active.ready and not self.inflight and timers.next_skippable(self.active) is None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def _group(self) -> Invocation | None:
        """Ready steps in one transaction, committed before any of them reaches outside."""
        active = self.active
        with active.store.transaction(), active.batch():
            for _ in range(self.group):
                if not active.ready:
                    break
                invocation = step(active, active.ready.popleft())
                if invocation is not None:
                    return invocation
        return None

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
