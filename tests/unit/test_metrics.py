"""Delivery metrics computed from constructed execution histories, then from a real one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stepline import wiring
from stepline.api.app import handle
from stepline.cli.main import main
from stepline.metrics import DAY, Delivery, compute, read_deliveries, window_start
from tests.helpers import load_event
from tests.unit.test_local_server_api import Served, document

NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


def shipped(name: str, ended_days_ago: float, status: str = "Succeeded", lead_hours: float | None = 2.0) -> Delivery:
    ended = NOW - ended_days_ago * DAY
    committed = ended - lead_hours * HOUR if lead_hours is not None else None
    return Delivery(name, status, ended - 600, ended, commit=name * 8, committed=committed)


def test_the_four_metrics_of_a_week_with_one_red_spell() -> None:
    # Given a week: four deployments, a failure two days ago restored 6 hours later by a fix,
    # one execution stopped and one still running (neither counts), and one from last month
    history = [
        shipped("a", 6, lead_hours=1),
        shipped("b", 4, lead_hours=3),
        shipped("c", 2, status="Failed"),
        shipped("d", 2 - 0.25, lead_hours=5),  # the fix: 6 hours after c turned the pipeline red
        shipped("e", 1, lead_hours=None),  # no commit time known (a source without a namespace)
        Delivery("f", "Stopped", NOW - DAY, NOW - DAY + 60),
        Delivery("g", "InProgress", NOW - 60, None),
        shipped("old", 40),
    ]
    # When the metrics of the last 7 days are computed
    metrics = compute("app", history, NOW - 7 * DAY, NOW)
    # Then: 4 deployments in 7 days; lead time the median of 1, 3 and 5 hours; one failure of five finished
    assert (metrics.deployments, metrics.failures) == (4, 1)
    assert metrics.deployments_per_day == pytest.approx(4 / 7)
    assert (metrics.lead_time, metrics.lead_times) == (3 * HOUR, 3)
    assert metrics.change_failure_rate == pytest.approx(1 / 5)
    # And one restoration that took 6 hours, nothing red now
    assert (metrics.time_to_restore, metrics.restorations, metrics.failing_since) == (6 * HOUR, 1, None)
    # And a bar per day, the failure on its day
    assert len(metrics.days) == 8  # seven days back and today
    assert [(d.succeeded, d.failed) for d in metrics.days if d.day == "2026-05-29"] == [(1, 1)]  # c at noon, d at 18:00
    assert sum(d.succeeded for d in metrics.days) == 4


def test_a_pipeline_still_red_says_since_when_and_repeated_failures_are_one_spell() -> None:
    # Given a success, then three failures in a row, the last still the latest
    history = [shipped("a", 5), shipped("b", 3, "Failed"), shipped("c", 2, "Failed"), shipped("d", 1, "Failed")]
    # When computed
    metrics = compute("app", history, NOW - 7 * DAY, NOW)
    # Then three of four failed, nothing was restored, and it has been red since the first failure
    assert metrics.change_failure_rate == pytest.approx(3 / 4)
    assert (metrics.time_to_restore, metrics.restorations) == (None, 0)
    assert metrics.failing_since == NOW - 3 * DAY


def test_a_red_spell_begun_before_the_window_counts_when_restored_in_it() -> None:
    # Given a failure 10 days ago, restored 2 days ago
    history = [shipped("a", 10, "Failed"), shipped("b", 2)]
    # When the last 7 days are computed
    metrics = compute("app", history, NOW - 7 * DAY, NOW)
    # Then the restoration took 8 days, and the failure itself is outside the window's rate
    assert metrics.time_to_restore == 8 * DAY
    assert metrics.change_failure_rate == 0.0


def test_an_empty_history_has_no_rates_rather_than_zeros() -> None:
    metrics = compute("app", [], NOW - 30 * DAY, NOW)
    assert (metrics.deployments, metrics.deployments_per_day) == (0, 0.0)
    assert (metrics.lead_time, metrics.change_failure_rate, metrics.time_to_restore) == (None, None, None)
    as_json = metrics.as_json()
    assert as_json["since"] == "2026-05-01T12:00:00Z"
    assert as_json["changeFailureRate"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - 7 * DAY),
        ("12h", NOW - 12 * HOUR),
        ("30m", NOW - 30 * 60),
        ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC).timestamp()),
        ("2026-05-01T09:00+02:00", datetime(2026, 5, 1, 7, tzinfo=UTC).timestamp()),
    ],
)
def test_a_window_is_a_span_before_now_or_a_date(text: str, expected: float) -> None:
    assert window_start(text, NOW) == expected


def test_a_window_that_is_neither_is_named() -> None:
    with pytest.raises(ValueError, match=r"--since 'last week': give a span before now \(7d, 12h, 30m\) or a date"):
        window_start("last week", NOW)


@pytest.fixture
def red_after_green(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Served, str, str]]:
    """A pipeline run twice on the embedded engine from a real git repository: a success, then
    a failure (the second commit's build fails); yields the server and both commits."""
    monkeypatch.chdir(tmp_path)
    served = Served(tmp_path)
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    first = served.repo.git("rev-parse", "HEAD").strip()
    run = served.push("0" * 40, first)["started"][0]
    served.runtime.engine.run_until_done(run, timeout=60)
    served.repo.commit("break it", {"buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: ['false']\n"})
    second = served.repo.git("rev-parse", "HEAD").strip()
    run = served.push(first, second)["started"][0]
    served.runtime.engine.run_until_done(run, timeout=60)
    yield served, first, second
    served.runtime.close()


def test_deliveries_are_read_from_a_real_execution_history(red_after_green: tuple[Served, str, str]) -> None:
    _, first, second = red_after_green
    # When its deliveries are read through the Workflows port and computed
    [entry] = wiring.registry().all()
    deliveries = read_deliveries(entry, wiring.workflows(), 0.0)
    metrics = compute("app", deliveries, 0.0, datetime.now(UTC).timestamp() + 1)
    # Then both executions are there with their commits, newest first, and the metrics follow
    assert [(d.status, d.commit) for d in deliveries] == [("Failed", second), ("Succeeded", first)]
    assert (metrics.deployments, metrics.failures, metrics.change_failure_rate) == (1, 1, 0.5)
    assert metrics.failing_since == deliveries[0].ended


def test_the_console_and_the_api_show_the_metrics(red_after_green: tuple[Served, str, str]) -> None:
    served, _, _ = red_after_green
    # When the metrics page is asked for the last 7 days
    event = load_event("api/cli-decision.json")
    event.update({"httpMethod": "GET", "path": "/pipelines/app/metrics", "body": None})
    event.update({"queryStringParameters": {"since": "7d"}, "multiValueQueryStringParameters": None})
    event["requestContext"] = {**event["requestContext"], "path": event["path"], "httpMethod": "GET"}
    event["headers"] = {"Authorization": f"Bearer {served.token}"}
    event["multiValueHeaders"] = {}
    page = handle(event, None)
    # Then it shows the four numbers, a chart with today's bar, and a way back
    assert page["statusCode"] == 200
    body = page["body"]
    assert "<small>Change failure rate</small><b>50%</b><small>1 failed</small>" in body
    assert "<small>Deployment frequency</small><b>0.14/day</b><small>1 succeeded</small>" in body
    assert "failing since " in body
    assert f"<title>{datetime.now(UTC).date().isoformat()}: 1 succeeded, 1 failed</title>" in body
    assert '<a class="back" href="/pipelines/app">' in body
    # And scripts read the same as JSON; a window that is not one is named
    as_json = json.loads(served.call("GET", "/api/pipelines/app/metrics")["body"])
    assert (as_json["deployments"], as_json["failures"], as_json["changeFailureRate"]) == (1, 1, 0.5)
    event["queryStringParameters"] = {"since": "lately"}
    refused = handle(event, None)
    assert refused["statusCode"] == 400
    assert "--since &#x27;lately&#x27;: give a span before now" in refused["body"]


def test_stepline_metrics_prints_them_and_their_json(
    red_after_green: tuple[Served, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    served, _, _ = red_after_green
    data = str(served.runtime.data)
    # When `stepline metrics` is asked for the pipeline, as text and as JSON
    assert main(["metrics", "app", "--since", "7d", "--data", data]) == 0
    text = capsys.readouterr().out
    assert main(["metrics", "app", "--output", "json", "--data", data]) == 0
    as_json = json.loads(capsys.readouterr().out)
    # Then each metric is a line, and the JSON is the API's document
    assert "  Change failure rate:    50%         1 failed" in text.splitlines()
    assert "  Deployment frequency:   0.14/day    1 succeeded" in text.splitlines()
    assert (as_json["deployments"], as_json["failures"]) == (1, 1)
    # And a pipeline that is not there, or a window that is not one, is named, exit 2
    assert main(["metrics", "nope", "--data", data]) == 2
    assert "stepline: no pipeline 'nope' in " in capsys.readouterr().err
    assert main(["metrics", "app", "--since", "lately", "--data", data]) == 2
    assert "stepline: --since 'lately': give a span before now" in capsys.readouterr().err
