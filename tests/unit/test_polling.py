"""Polling (PollForSourceChanges: "true") on one machine: a CodeCommit source mapped to a real
git repository, the real LocalRuntime's engine and SQLite registry. The first poll records the
head, each new head starts one execution, a poll repeated after a crash starts nothing twice,
and events never start a polled source (CodePipeline's double start)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.definition import parse_pipeline
from stepline.definition.rules import validate
from stepline.triggers.changes import RepositoryChange
from stepline.triggers.polling import poll
from stepline.triggers.starting import start_matching
from tests.helpers import watching
from tests.unit.test_local_server_api import Served


def polled_document() -> dict[str, Any]:
    document = watching("reminders", repository="FriendReminders", branch="main")
    document["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"] = "true"
    return document


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STEPLINE_SOURCES", f"FriendReminders={tmp_path / 'app'}")
    state = Served(tmp_path)
    applied = state.call("POST", "/api/pipelines", {"declaration": polled_document()})
    assert applied["statusCode"] == 201, applied["body"]
    yield state
    state.runtime.close()


def polled(served: Served) -> Any:
    return poll(wiring.registry(), wiring.workflows(), wiring.source_heads(), wiring.records())


def test_each_new_head_starts_one_execution_and_a_repeated_poll_starts_nothing(served: Served) -> None:
    # Given the registered pipeline, When polled the first time, Then it records the head only
    first = polled(served)
    assert (first.started, first.skipped) == ([], {})
    assert served.runtime.executions("reminders") == []
    # When a commit lands and the next poll comes
    head = served.repo.commit("second", {"reminders.py": "print('hi')\n"})
    second = polled(served)
    # Then one execution starts, pinned to that commit, as CodePipeline records a poll
    [started] = second.started
    trigger = json.loads(served.runtime.engine.describe_execution(started)["input"])["trigger"]
    assert trigger["type"] == "PollForSourceChanges"
    assert trigger["revisions"]["Source"]["commitId"] == head
    # When nothing changed, Then nothing starts
    assert polled(served).started == []
    # When the poller crashed after starting but before recording (the record rolled back)
    wiring.records().put("poll#reminders#Source", {"revision": "0" * 40})
    again = polled(served)
    # Then it finds the same commit, and the execution named after it exists already
    assert (again.started, again.already_started) == ([], ["reminders"])
    assert len(served.runtime.executions("reminders")) == 1


def test_events_skip_a_polled_source_so_one_change_starts_once(served: Served) -> None:
    change = RepositoryChange(
        provider="CodeCommit",
        repository="FriendReminders",
        reference_type="branch",
        reference_name="main",
        commit_id="a" * 40,
        old_commit_id="b" * 40,
        event_id="event-1",
    )
    report = start_matching(change, wiring.registry(), wiring.workflows(), None)
    assert report.started == []
    assert report.skipped == {
        "reminders": ["Source: PollForSourceChanges is true: the poller starts it (events would start it twice)"]
    }


def test_an_unreadable_source_is_reported_and_the_others_are_still_polled(served: Served) -> None:
    broken = polled_document()
    broken["name"] = "broken"
    broken["stages"][0]["actions"][0]["configuration"]["RepositoryName"] = "NotMapped"
    assert served.call("POST", "/api/pipelines", {"declaration": broken})["statusCode"] == 201
    report = polled(served)
    assert list(report.skipped) == ["broken"]
    assert "no local repository is mapped for CodeCommit repository 'NotMapped'" in report.skipped["broken"][0]


def test_validate_warns_about_nothing_for_a_polled_source() -> None:
    problems = validate(parse_pipeline(polled_document(), "p.json").pipeline)
    assert [str(problem) for problem in problems] == []
