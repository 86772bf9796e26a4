"""The DeploymentWindow rule's cron expressions (stepline.control.cron), table-driven."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stepline.control.cron import Cron
from stepline.errors import InvalidInput

WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("* * * * * ?", 0),  # always open
        ("* * 9-17 ? * MON-FRI", 0),  # office hours, now inside
        ("* * 9-17 ? * MON-FRI *", 0),  # with the optional year
        ("* 0 11 ? * *", 3600 - 30 + 1),  # only at 11:00: opens at the next minute boundary past it
        ("* * 9-17 ? * SAT,SUN", 3 * 86400 - 10 * 3600 + 9 * 3600 - 30 + 1),  # Saturday 09:00
        ("* 5/15 * ? * *", 5 * 60 - 30 + 1),  # minutes 5, 20, 35, 50: 10:05
        ("* * * 25 DEC ?", 23 * 86400 - 10 * 3600 - 30 + 1),  # Christmas day
        ("* * * ? * 1", 4 * 86400 - 10 * 3600 - 30 + 1),  # day 1 is Sunday
    ],
)
def test_when_the_window_opens(expression: str, seconds: int) -> None:
    assert Cron(expression).opens_in(WEDNESDAY_10) == seconds


def test_a_window_that_never_opens_says_so() -> None:
    assert Cron("* * * 30 FEB ?").opens_in(WEDNESDAY_10) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * *", "give 6 fields and an optional year (got 3)"),
        ("5 * * ? * *", "the seconds field must be *"),
        ("* 60 * ? * *", "'60' is outside 0-59"),
        ("* * * L * ?", "uses L, W or #"),
        ("* * * ? * 6#3", "uses L, W or #"),
        ("* * * ? * FUNDAY", "'FUNDAY' is not a number"),
    ],
)
def test_expressions_stepline_cannot_read_are_refused_naming_the_field(expression: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Cron(expression)
    assert message in str(refused.value)
