"""Schedules: a pipeline started by a cron or rate expression, in EventBridge Scheduler's syntax.

``rate(5 minutes)`` / ``rate(1 hour)`` / ``rate(2 days)``, and
``cron(minutes hours day-of-month month day-of-week year)`` in UTC, with ``*``, ``,``, ``-``,
``/``, ``?`` (day-of-month or day-of-week, exactly one of them) and names (JAN, MON; Sunday
is 1). ``L``, ``W`` and ``#`` are refused by name. A rate fires on multiples of its interval
since the epoch (12:00, 12:05, … for five minutes), so every machine and every restart agrees.

On AWS an EventBridge Scheduler schedule invokes the trigger function with the time it was
due; on one machine ``stepline serve`` asks the clock. Either way the execution is named
after the pipeline and that time, so a schedule fires once per due time whoever repeats it.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from stepline.errors import InvalidInput
from stepline.observability import logger
from stepline.ports.pipelines import Registry
from stepline.ports.workflows import Workflows
from stepline.triggers.starting import TriggerReport, start_one

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.+)\)$")
UNITS = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = {name: index for index, name in enumerate(calendar.month_abbr) if name}
DAYS = {name.upper(): index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
# (name, lowest, highest, names) of cron's six fields
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, {name.upper(): number for name, number in MONTHS.items()}),
    ("day-of-week", 1, 7, DAYS),
    ("year", 1970, 2199, {}),
)
SCHEDULE_EVENT = "Stepline Schedule"  # the detail-type of what a schedule sends the trigger function
LOOK_BACK_DAYS = 366  # a cron schedule missed for longer than a year fires for its latest time only


@dataclass(frozen=True)
class Schedule:
    expression: str
    interval: int = 0  # seconds, for a rate
    sets: tuple[frozenset[int] | None, ...] = ()  # a cron's fields; None for "?"

    def latest_due(self, after: float, until: float) -> datetime | None:
        """The latest time the schedule was due in (after, until], or None."""
        if until <= after:
            return None
        if self.interval:
            due = int(until) // self.interval * self.interval
            return datetime.fromtimestamp(due, UTC) if due > after else None
        start = max(after, until - LOOK_BACK_DAYS * 86400)
        day = datetime.fromtimestamp(until, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        while day.timestamp() + 86400 > start:
            if self._day_matches(day):
                for hour in sorted(self.sets[1] or (), reverse=True):
                    for minute in sorted(self.sets[0] or (), reverse=True):
                        moment = day.replace(hour=hour, minute=minute)
                        if start < moment.timestamp() <= until:
                            return moment
            day -= timedelta(days=1)
        return None

    def _day_matches(self, day: datetime) -> bool:
        _, _, days_of_month, months, days_of_week, years = self.sets
        if months is not None and day.month not in months:
            return False
        if years is not None and day.year not in years:
            return False
        if days_of_month is not None and day.day not in days_of_month:
            return False
        weekday = (day.isoweekday() % 7) + 1  # Sunday is 1
        return days_of_week is None or weekday in days_of_week


def parse_schedule(expression: str) -> Schedule:
    """The schedule an expression says; InvalidInput naming what is wrong otherwise."""
    text = expression.strip()
    rate = RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise InvalidInput(f"schedule {expression!r}: a rate must be at least 1 {unit}")
        if (value == 1) != (rate.group(2) == unit):
            raise InvalidInput(f"schedule {expression!r}: write rate(1 {unit}) or rate({max(value, 2)} {unit}s)")
        return Schedule(text, interval=value * UNITS[unit])
    cron = CRON.match(text)
    if not cron:
        shapes = "rate(VALUE UNIT) or cron(minutes hours day-of-month month day-of-week year)"
        raise InvalidInput(f"schedule {expression!r}: write {shapes}")
    parts = cron.group(1).split()
    if len(parts) != 6:
        raise InvalidInput(f"schedule {expression!r}: cron takes 6 fields, not {len(parts)}")
    if (parts[2] == "?") == (parts[4] == "?"):
        raise InvalidInput(f"schedule {expression!r}: exactly one of day-of-month and day-of-week must be ?")
    sets = tuple(_field(part, spec, expression) for part, spec in zip(parts, FIELDS, strict=True))
    if sets[0] is None or sets[1] is None:
        raise InvalidInput(f"schedule {expression!r}: ? stands only for day-of-month or day-of-week")
    return Schedule(text, sets=sets)


def _field(part: str, spec: tuple[str, int, int, dict[str, int]], expression: str) -> frozenset[int] | None:
    name, low, high, names = spec
    if part == "?":
        return None
    if any(mark in part for mark in ("L", "W", "#")) and not any(n in part.upper() for n in names):
        raise InvalidInput(f"schedule {expression!r}: {name} {part!r}: L, W and # are not supported")
    values: set[int] = set()
    for piece in part.split(","):
        span, _, step_text = piece.partition("/")
        step = _number(step_text, {}, name, expression) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = _number(first_text, names, name, expression), _number(last_text, names, name, expression)
        else:
            first = _number(span, names, name, expression)
            last = high if step_text else first
        if not low <= first <= last <= high or step < 1:
            raise InvalidInput(f"schedule {expression!r}: {name} {piece!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(text: str, names: dict[str, int], field: str, expression: str) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise InvalidInput(f"schedule {expression!r}: {field} {text!r} is not a number or a name")
    return int(text)


def execution_name(pipeline: str, due: datetime) -> str:
    digest = hashlib.sha256(f"schedule\0{pipeline}\0{due.isoformat()}".encode()).hexdigest()
    return f"schedule-{due:%Y%m%dT%H%M%SZ}-{digest[:24]}"


def scheduled_input(expression: str, due: datetime) -> dict[str, object]:
    """The execution input: no revisions (each source fetches its branch head, as on a manual
    start), and the schedule that fired, for the logs and the console."""
    return {
        "trigger": {
            "type": "CloudWatchEvent",
            "eventId": f"schedule:{due.isoformat()}",
            "schedule": {"expression": expression, "scheduledTime": due.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "revisions": {},
        },
        "variables": {},
    }


class ScheduledStart(BaseModel):
    """What an EventBridge Scheduler schedule sends the trigger function (adapters/aws/schedules.py)."""

    model_config = ConfigDict(populate_by_name=True)

    pipeline: str = Field(min_length=1)
    expression: str
    scheduled_time: datetime = Field(alias="scheduledTime")


def start_scheduled(start: ScheduledStart, registry: Registry, workflows: Workflows) -> TriggerReport:
    """Start the pipeline for the time its schedule was due, once whoever repeats it."""
    report = TriggerReport()
    entry = registry.get(start.pipeline)
    if entry is None:
        report.skipped[start.pipeline] = ["the pipeline is not registered: stepline deploy it, or delete its schedule"]
        logger.warning("a schedule names no registered pipeline", extra={"pipeline": start.pipeline})
        return report
    due = start.scheduled_time.astimezone(UTC)
    start_one(entry, execution_name(entry.name, due), scheduled_input(start.expression, due), workflows, report)
    logger.info("schedule fired", extra={"pipeline": entry.name, "due": due.isoformat(), "started": report.started})
    return report
