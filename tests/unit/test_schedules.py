"""Schedules: EventBridge Scheduler's rate and cron expressions read and refused as it reads
them, due times computed in UTC, and on one machine `stepline apply --schedule` plus the
server's clock starting a pipeline once per due time (a real LocalRuntime: engine, SQLite)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.errors import InvalidInput
from stepline.local.schedules import ScheduleClock, fire_due
from stepline.triggers.schedules import execution_name, parse_schedule
from tests.unit.test_local_server_api import Served, document


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("expression", "after", "until", "due"),
    [
        ("rate(5 minutes)", "2026-12-02T12:01:00", "2026-12-02T12:09:59", "2026-12-02T12:05:00"),
        ("rate(1 hour)", "2026-12-02T12:00:00", "2026-12-02T14:30:00", "2026-12-02T14:00:00"),
        ("rate(2 days)", "2026-12-02T00:00:00", "2026-12-02T23:59:00", None),
        # 06:00 on weekdays: from Friday noon to Monday noon the latest is Monday's
        ("cron(0 6 ? * MON-FRI *)", "2026-12-04T12:00:00", "2026-12-07T12:00:00", "2026-12-07T06:00:00"),
        ("cron(0 6 ? * MON-FRI *)", "2026-12-05T07:00:00", "2026-12-07T05:59:00", None),  # the weekend
        ("cron(30 12 1 * ? *)", "2026-11-15T00:00:00", "2026-12-02T00:00:00", "2026-12-01T12:30:00"),
        ("cron(0/15 * * * ? *)", "2026-12-02T12:00:00", "2026-12-02T12:44:00", "2026-12-02T12:30:00"),
        ("cron(0 9 ? * 1 *)", "2026-11-30T00:00:00", "2026-12-07T00:00:00", "2026-12-06T09:00:00"),  # 1 is Sunday
        ("cron(0 0 1 JAN ? 2027)", "2026-01-01T00:00:00", "2026-12-31T23:59:00", None),
    ],
)
def test_the_latest_due_time_is_read_as_eventbridge_scheduler_reads_the_expression(
    expression: str, after: str, until: str, due: str | None
) -> None:
    found = parse_schedule(expression).latest_due(at(after), at(until))
    assert (found.strftime("%Y-%m-%dT%H:%M:%S") if found else None) == due


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("every day", "write rate(VALUE UNIT) or cron("),
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 minute)", "write rate(1 minute) or rate(5 minutes)"),
        ("cron(0 6 * * *)", "cron takes 6 fields, not 5"),
        ("cron(0 6 * * * *)", "exactly one of day-of-month and day-of-week must be ?"),
        ("cron(0 6 L * ? *)", "L, W and # are not supported"),
        ("cron(0 25 * * ? *)", "hours '25' is outside 0-23"),
        ("cron(0 6 ? * FUNDAY *)", "day-of-week 'FUNDAY' is not a number or a name"),
    ],
)
def test_an_expression_scheduler_would_refuse_is_refused_with_the_reason(expression: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_schedule(expression)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A real LocalRuntime with a git repository, as the local server tests make it."""
    monkeypatch.chdir(tmp_path)
    state = Served(tmp_path)
    yield state
    state.runtime.close()


def executions(served: Served) -> list[dict[str, Any]]:
    return served.runtime.executions("app")


def test_apply_with_a_schedule_starts_once_per_due_time_by_the_clock(served: Served) -> None:
    # Given a pipeline applied at 12:01 with a schedule every five minutes
    wiring.install_clock(lambda: at("2026-12-02T12:01:00"))
    applied = served.call(
        "POST", "/api/pipelines", {"declaration": document(served.repo.path), "schedule": "rate(5 minutes)"}
    )
    assert applied["statusCode"] == 201, applied["body"]
    assert json.loads(applied["body"])["startsOn"][-1] == "on schedule rate(5 minutes)"
    store, registry, workflows = wiring.local_schedules(), wiring.registry(), wiring.workflows()
    # When the clock reads 12:04, Then nothing is due
    assert fire_due(store, registry, workflows, at("2026-12-02T12:04:00")).started == []
    # When it reads 12:06, Then the 12:05 run starts, named after that time, telling its schedule
    report = fire_due(store, registry, workflows, at("2026-12-02T12:06:00"))
    due = datetime(2026, 12, 2, 12, 5, tzinfo=UTC)
    assert [arn.rsplit(":", 1)[1] for arn in report.started] == [execution_name("app", due)]
    trigger = json.loads(served.runtime.engine.describe_execution(report.started[0])["input"])["trigger"]
    assert trigger["schedule"] == {"expression": "rate(5 minutes)", "scheduledTime": "2026-12-02T12:05:00Z"}
    # When a tick repeats after a crash between starting and recording (the check rolled back)
    store.checked("app", at("2026-12-02T12:04:00"))
    again = fire_due(store, registry, workflows, at("2026-12-02T12:06:30"))
    # Then the same due time is found, and nothing new starts
    assert (again.started, again.already_started) == ([], ["app"])
    # When the server was down from 12:07 to 12:31, Then the latest missed time starts once
    assert len(fire_due(store, registry, workflows, at("2026-12-02T12:31:00")).started) == 1
    assert len(executions(served)) == 2


def test_applying_again_without_a_schedule_removes_it_and_a_bad_one_is_refused(served: Served) -> None:
    body = {"declaration": document(served.repo.path), "schedule": "rate(1 minute)"}
    assert served.call("POST", "/api/pipelines", body)["statusCode"] == 201
    assert [s.expression for s in wiring.local_schedules().all()] == ["rate(1 minute)"]
    assert served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})["statusCode"] == 201
    assert wiring.local_schedules().all() == []
    refused = served.call("POST", "/api/pipelines", {**body, "schedule": "cron(0 6 * * *)", "source": "app.yaml"})
    assert refused["statusCode"] == 400
    assert json.loads(refused["body"])["message"] == "app.yaml: schedule 'cron(0 6 * * *)': cron takes 6 fields, not 5"


def test_the_servers_clock_fires_due_schedules_on_its_own(served: Served) -> None:
    # Given a schedule every minute, applied an hour ago, and the server's clock thread
    wiring.install_clock(lambda: time.time() - 3600)
    body = {"declaration": document(served.repo.path), "schedule": "rate(1 minute)"}
    assert served.call("POST", "/api/pipelines", body)["statusCode"] == 201
    clock = ScheduleClock(wiring.local_schedules(), wiring.registry(), wiring.workflows(), time.time, tick=0.05)
    clock.start()
    try:
        # Then, without anyone asking, the latest missed minute starts (waiting for that, not for a time)
        deadline = time.monotonic() + 30
        while not executions(served) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        clock.stop()
    assert len(executions(served)) == 1
