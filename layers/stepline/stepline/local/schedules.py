"""Schedules on one machine: `stepline apply FILE --schedule EXPR` records one per pipeline,
and `stepline serve` asks its clock which are due (``schedules.sqlite`` in the data directory).

Each tick starts, for each schedule, its latest due time since the one before (a server that
was down starts a missed schedule once, not once per missed time), named after the pipeline
and that time: a tick repeated after a crash starts nothing new. On AWS, EventBridge
Scheduler does the same job (``stepline deploy --schedule``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from stepline.adapters.local.schedules import SqliteSchedules
from stepline.observability import logger
from stepline.ports.pipelines import Registry
from stepline.ports.workflows import Workflows
from stepline.triggers.polling import POLL_SECONDS
from stepline.triggers.schedules import execution_name, parse_schedule, scheduled_input
from stepline.triggers.starting import TriggerReport, start_one

TICK_SECONDS = 15.0


def fire_due(schedules: SqliteSchedules, registry: Registry, workflows: Workflows, now: float) -> TriggerReport:
    """Start every schedule due since its last check; then record the check."""
    report = TriggerReport()
    for schedule in schedules.all():
        due = parse_schedule(schedule.expression).latest_due(schedule.checked_at, now)
        entry = registry.get(schedule.pipeline)
        if due is not None and entry is not None:
            start_one(
                entry, execution_name(entry.name, due), scheduled_input(schedule.expression, due), workflows, report
            )
            logger.info("schedule fired", extra={"pipeline": entry.name, "due": due.isoformat()})
        elif due is not None:
            report.skipped[schedule.pipeline] = ["the pipeline is not registered any more"]
        schedules.checked(schedule.pipeline, now)  # after the start: a crash in between starts it again, once
    return report


class ScheduleClock:
    """`stepline serve`'s clock: a thread that fires due schedules every ``tick`` seconds, and
    polls the sources that ask for it (PollForSourceChanges) about once a minute."""

    def __init__(
        self,
        schedules: SqliteSchedules,
        registry: Registry,
        workflows: Workflows,
        clock: Callable[[], float],
        tick: float = TICK_SECONDS,
        poller: Callable[[], object] | None = None,
        poll_every: float = POLL_SECONDS,
    ) -> None:
        self.schedules = schedules
        self.registry = registry
        self.workflows = workflows
        self.clock = clock
        self.tick = tick
        self.poller = poller  # polled sources (PollForSourceChanges), checked every poll_every seconds
        self.poll_every = poll_every
        self._polled_at = float("-inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stepline-schedules", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fire_due(self.schedules, self.registry, self.workflows, self.clock())
                if self.poller is not None and self.clock() - self._polled_at >= self.poll_every:
                    self._polled_at = self.clock()
                    self.poller()
            except Exception:  # one bad tick (a locked database) must not stop the clock
                logger.exception("schedules or polls failed; trying again at the next tick")
            self._stop.wait(self.tick)
