"""The DeploymentWindow rule's cron expressions: six fields and an optional year, as
CodePipeline's rule reference gives them — seconds (``*``), minutes, hours, day of month, month
(1-12 or JAN-DEC), day of week (1-7 or SUN-SAT, Sunday 1) — with ``* ? , - /``. A minute is in
the window when every field matches it. ``L``, ``W`` and ``#`` are refused by name."""

from __future__ import annotations

from datetime import datetime, timedelta

from stepline.errors import InvalidInput

_MONTHS = {
    name: index
    for index, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)]
_LOOKAHEAD = timedelta(days=366 * 5)


class Cron:
    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) not in (6, 7):
            raise InvalidInput(f"Cron {expression!r}: give 6 fields and an optional year (got {len(fields)})")
        if fields[0] not in {"*", "0"}:
            raise InvalidInput(f"Cron {expression!r}: the seconds field must be * (windows are whole minutes)")
        names = [{}, {}, {}, _MONTHS, _DAYS, {}]
        given = [*fields[1:6], fields[6] if len(fields) == 7 else "*"]
        self.sets = [
            _field(text, bounds, words, expression) for text, bounds, words in zip(given, _BOUNDS, names, strict=True)
        ]

    def matches(self, moment: datetime) -> bool:
        minute, hour, day, month, weekday, year = self.sets
        sunday_first = (moment.isoweekday() % 7) + 1
        return (
            moment.minute in minute
            and moment.hour in hour
            and moment.day in day
            and moment.month in month
            and sunday_first in weekday
            and moment.year in year
        )

    def opens_in(self, now: datetime) -> int | None:
        """Seconds until the window is open (0: it is), or None if it never opens in five years."""
        moment = now.replace(second=0, microsecond=0)
        if self.matches(moment):
            return 0
        end = moment + _LOOKAHEAD
        while moment < end:
            if not self._day_matches(moment):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            elif moment.hour not in self.sets[1]:
                moment = (moment + timedelta(hours=1)).replace(minute=0)
            else:
                moment += timedelta(minutes=1)
            if self.matches(moment):
                return int((moment - now).total_seconds()) + 1
        return None

    def _day_matches(self, moment: datetime) -> bool:
        _, _, day, month, weekday, year = self.sets
        sunday_first = (moment.isoweekday() % 7) + 1
        return moment.day in day and moment.month in month and sunday_first in weekday and moment.year in year


def _field(text: str, bounds: tuple[int, int], words: dict[str, int], expression: str) -> set[int]:
    low, high = bounds
    if any(mark in text for mark in ("L", "W", "#")) and not any(word in text for word in words):
        raise InvalidInput(f"Cron {expression!r}: {text!r} uses L, W or #, which Stepline does not read yet")
    values: set[int] = set()
    for item in text.split(","):
        part, step = item, 1
        if "/" in item:
            part, step_text = item.split("/", 1)
            step = _number(step_text, words, expression)
        if part in {"*", "?"}:
            start, stop = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, stop = _number(first, words, expression), _number(last, words, expression)
        else:
            start = _number(part, words, expression)
            stop = high if "/" in text else start
        if not (low <= start <= high and low <= stop <= high) or step < 1:
            raise InvalidInput(f"Cron {expression!r}: {text!r} is outside {low}-{high}")
        values.update(range(start, stop + 1, step))
    return values


def _number(text: str, words: dict[str, int], expression: str) -> int:
    if text.upper() in words:
        return words[text.upper()]
    if not text.isdigit():
        raise InvalidInput(f"Cron {expression!r}: {text!r} is not a number")
    return int(text)
