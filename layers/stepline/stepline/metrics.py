"""Delivery metrics of a pipeline over a window, from its execution history (DORA's four):

- **deployment frequency**: succeeded executions per day (each took a change all the way through);
- **lead time for changes**: from the commit's time (its source's ``CommitterDate``, else its
  ``AuthorDate``, the output variables CodePipeline documents for git sources) to the end of
  the succeeded execution that shipped it; the median, over the executions whose commit time
  is known;
- **change failure rate**: failed executions over finished ones (succeeded or failed; a stopped
  execution is neither);
- **time to restore**: from the end of the execution that turned the pipeline red (the first
  failure after a success) to the end of the next succeeded one; the median over restorations
  in the window, and the failure still unrestored, if any.

An execution counts in the window it ended in. ``compute`` is pure, over ``Delivery`` records;
``delivery_of`` reads one from a ``PipelineRun`` (both runtimes' history reads as one, see
stepline.status) and ``read_deliveries`` walks a pipeline's executions through the Workflows port.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from stepline.ports.workflows import execution_arn
from stepline.status import format_duration, run_of, run_status

if TYPE_CHECKING:
    from stepline.ports.pipelines import RegisteredPipeline
    from stepline.ports.workflows import Workflows
    from stepline.status import PipelineRun

DAY = 86_400.0
HISTORY_LIMIT = 1_000  # executions read back at most: the newest, which a window needs


@dataclass(frozen=True)
class Delivery:
    """One execution as the metrics see it."""

    execution: str
    status: str  # InProgress, Succeeded, Failed, Stopped (stepline.status's words)
    started: float
    ended: float | None
    commit: str = ""
    committed: float | None = None  # the commit's time, when its source said


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD (UTC)
    succeeded: int
    failed: int


@dataclass(frozen=True)
class Metrics:
    pipeline: str
    since: float
    until: float
    deployments: int
    failures: int
    deployments_per_day: float
    lead_time: float | None  # seconds, the median
    lead_times: int  # how many succeeded executions had a commit time
    change_failure_rate: float | None  # 0..1; None when nothing finished
    time_to_restore: float | None  # seconds, the median
    restorations: int
    failing_since: float | None  # the pipeline is red: since when (the failure not yet restored)
    days: list[Day] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "since": _iso(self.since),
            "until": _iso(self.until),
            "deployments": self.deployments,
            "failures": self.failures,
            "deploymentsPerDay": round(self.deployments_per_day, 3),
            "leadTimeSeconds": _round(self.lead_time),
            "leadTimeSamples": self.lead_times,
            "changeFailureRate": None if self.change_failure_rate is None else round(self.change_failure_rate, 4),
            "timeToRestoreSeconds": _round(self.time_to_restore),
            "restorations": self.restorations,
            "failingSince": None if self.failing_since is None else _iso(self.failing_since),
            "days": [{"day": d.day, "succeeded": d.succeeded, "failed": d.failed} for d in self.days],
        }


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def compute(pipeline: str, deliveries: Iterable[Delivery], since: float, until: float) -> Metrics:
    """The metrics of the executions that ended in [since, until], in any order given."""
    finished = sorted(
        (d for d in deliveries if d.ended is not None and d.status in {"Succeeded", "Failed"}),
        key=lambda d: d.ended or 0.0,
    )
    window = [d for d in finished if since <= (d.ended or 0.0) <= until]
    succeeded = [d for d in window if d.status == "Succeeded"]
    failed = [d for d in window if d.status == "Failed"]
    leads = [(d.ended or 0.0) - d.committed for d in succeeded if d.committed is not None]
    restores, failing_since = _restorations(finished, since, until)
    span_days = max((until - since) / DAY, 1 / 24)
    return Metrics(
        pipeline=pipeline,
        since=since,
        until=until,
        deployments=len(succeeded),
        failures=len(failed),
        deployments_per_day=len(succeeded) / span_days,
        lead_time=_median([max(0.0, lead) for lead in leads]),
        lead_times=len(leads),
        change_failure_rate=len(failed) / len(window) if window else None,
        time_to_restore=_median(restores),
        restorations=len(restores),
        failing_since=failing_since,
        days=_days(window, since, until),
    )


def _restorations(finished: Sequence[Delivery], since: float, until: float) -> tuple[list[float], float | None]:
    """Each red spell that ended in the window, how long it lasted; and when the pipeline
    turned red if it still is. ``finished`` is in the order the executions ended."""
    restores: list[float] = []
    red_since: float | None = None
    for delivery in finished:
        ended = delivery.ended or 0.0
        if ended > until:
            break
        if delivery.status == "Failed" and red_since is None:
            red_since = ended
        elif delivery.status == "Succeeded" and red_since is not None:
            if ended >= since:
                restores.append(ended - red_since)
            red_since = None
    return restores, red_since


def _days(window: Sequence[Delivery], since: float, until: float) -> list[Day]:
    """A bar per day of the window (UTC), oldest first: at most the last 90 days of it."""
    first = datetime.fromtimestamp(max(since, until - 89 * DAY), UTC).date()
    last = datetime.fromtimestamp(until, UTC).date()
    counts: dict[str, list[int]] = {}
    day = first
    while day <= last:
        counts[day.isoformat()] = [0, 0]
        day += timedelta(days=1)
    for delivery in window:
        key = datetime.fromtimestamp(delivery.ended or 0.0, UTC).date().isoformat()
        if key in counts:
            counts[key][0 if delivery.status == "Succeeded" else 1] += 1
    return [Day(key, ok, bad) for key, (ok, bad) in counts.items()]


def numbers(metrics: Metrics) -> list[tuple[str, str, str]]:
    """(title, value, note) of each metric, as the page and the CLI say them."""
    rate = metrics.change_failure_rate
    red = f"failing since {_iso(metrics.failing_since)}" if metrics.failing_since is not None else ""
    return [
        ("Deployment frequency", f"{metrics.deployments_per_day:.2f}/day", f"{metrics.deployments} succeeded"),
        (
            "Lead time for changes",
            format_duration(metrics.lead_time) or "—",
            f"median of {metrics.lead_times}, commit to success",
        ),
        ("Change failure rate", "—" if rate is None else f"{rate:.0%}", f"{metrics.failures} failed"),
        (
            "Time to restore",
            format_duration(metrics.time_to_restore) or "—",
            red or f"median of {metrics.restorations} restorations",
        ),
    ]


def _commit_time(run: PipelineRun) -> float | None:
    """The commit's time from the first source that gives one (CommitterDate, else AuthorDate)."""
    for action in run.actions:
        for namespace in action.variables.values():
            if not isinstance(namespace, dict) or not namespace.get("CommitId"):
                continue
            for key in ("CommitterDate", "AuthorDate"):
                try:
                    return datetime.fromisoformat(str(namespace.get(key) or "")).timestamp()
                except ValueError:
                    continue
    return None


def delivery_of(run: PipelineRun) -> Delivery:
    commit, _ = run.commit()
    return Delivery(run.execution_name, run.status, run.started, run.ended, commit, _commit_time(run))


def read_deliveries(entry: RegisteredPipeline, workflows: Workflows, since: float) -> list[Delivery]:
    """The pipeline's executions that may have ended since ``since``, read from its history
    (the newest ``HISTORY_LIMIT``; earlier ones started before the window's restorations matter)."""
    deliveries = []
    for listed in workflows.executions(entry.state_machine_arn, limit=HISTORY_LIMIT):
        stopped = listed.get("stopDate")
        if isinstance(stopped, datetime) and stopped.timestamp() < since - 30 * DAY:
            break  # long before the window: not even a red spell reaching into it
        status = run_status(str(listed.get("status")))
        if status not in {"Succeeded", "Failed"}:
            continue
        run = run_of(entry, workflows, execution_arn(entry.state_machine_arn, str(listed["name"])))
        deliveries.append(delivery_of(run))
    return deliveries


def window_start(text: str, now: float) -> float:
    """``--since``: ``7d``, ``12h``, ``30m`` before now, or an ISO date/time (UTC unless it says)."""
    units = {"d": DAY, "h": 3600.0, "m": 60.0}
    if text[:-1].isdigit() and text[-1:] in units:
        return now - int(text[:-1]) * units[text[-1]]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give a span before now (7d, 12h, 30m) or a date (2026-05-01, 2026-05-01T09:00)"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
