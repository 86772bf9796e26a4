"""The Waiters port's contract, run against both adapters: DynamoDB (under moto) and SQLite.
Each step of the completions protocol is once-only in the store itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.local.waiters import SqliteWaiters
from stepline.ports.waiters import Completion, Waiter, Waiters
from tests.moto_env import create_table, moto_aws

pytestmark = pytest.mark.functional

DONE = Completion(succeeded=True)
BROKEN = Completion(succeeded=False, error="BuildFailed", cause="phase BUILD FAILED")


@pytest.fixture(params=["dynamodb", "sqlite"])
def waiters(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Waiters]:
    if request.param == "sqlite":
        local = SqliteWaiters(tmp_path / "waiters.sqlite")
        yield local
        local.close()
        return
    with moto_aws(monkeypatch):
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "TaskTokensTable", "tokens")
        yield DynamoWaiters(client, "tokens")


def waiter(token: str = "t1") -> Waiter:
    return Waiter(key="build#k1", kind="build", token=token, action="Build.Build", context={"variables": None})


def test_a_waiter_is_stored_then_linked_then_answered_once(waiters: Waiters) -> None:
    # Given a registered waiter
    stored = waiters.register(waiter(), now=100.0)
    assert (stored.state, stored.since, stored.work, stored.outcome) == ("WAITING", 100.0, {}, None)
    assert waiters.find("build#b1") is None
    # When its work is attached
    assert waiters.attach("build#k1", "build#b1", {"id": "b1"}) is None
    # Then the work finds it
    found = waiters.find("build#b1")
    assert found is not None
    assert (found.key, found.token, found.work) == ("build#k1", "t1", {"id": "b1"})
    # And it is answered once, only with the token it holds
    assert waiters.answered("build#k1", "another-token", DONE) is False
    assert waiters.answered("build#k1", "t1", DONE) is True
    assert waiters.answered("build#k1", "t1", DONE) is False
    answered = waiters.get("build#k1")
    assert answered is not None
    assert (answered.state, answered.outcome) == ("ANSWERED", DONE)


def test_a_new_attempt_waits_again_keeping_its_work_and_outcome_and_the_same_attempt_changes_nothing(
    waiters: Waiters,
) -> None:
    waiters.register(waiter(), now=100.0)
    waiters.attach("build#k1", "build#b1", {"id": "b1"})
    waiters.answered("build#k1", "t1", BROKEN)
    # When the same attempt registers again (invoked twice), Then it stays answered
    same = waiters.register(waiter(), now=200.0)
    assert (same.state, same.outcome) == ("ANSWERED", BROKEN)
    # When a new attempt of the task registers with its own token
    again = waiters.register(waiter("t2"), now=300.0)
    # Then it waits again, with the work and the outcome the first attempt learnt, since unchanged
    assert (again.state, again.token, again.work, again.outcome, again.since) == (
        "WAITING",
        "t2",
        {"id": "b1"},
        BROKEN,
        100.0,
    )


def test_an_early_completion_is_kept_once_and_taken_by_the_attach(waiters: Waiters) -> None:
    # Given a build that ended before anyone waited for it
    assert waiters.keep_early("build#b1", BROKEN) is True
    assert waiters.keep_early("build#b1", DONE) is False  # a redelivery keeps nothing more
    assert waiters.find("build#b1") is None
    # When the waiter registers and attaches that build
    waiters.register(waiter(), now=100.0)
    # Then the attach hands over the early completion, once
    assert waiters.attach("build#k1", "build#b1", {"id": "b1"}) == BROKEN
    assert waiters.attach("build#k1", "build#b1", {"id": "b1"}) is None
    found = waiters.find("build#b1")
    assert found is not None
    assert found.key == "build#k1"
    # And a linked work keeps no early completion
    assert waiters.keep_early("build#b1", DONE) is False


def test_stale_lists_only_waiting_waiters_registered_before_the_time(waiters: Waiters) -> None:
    waiters.register(waiter(), now=100.0)
    waiters.register(
        Waiter(key="ecs#k2", kind="ecs", token="t", action="Deploy.Deploy"),
        now=500.0,
    )
    waiters.register(Waiter(key="sfn#k3", kind="sfn", token="t", action="Test.Smoke"), now=50.0)
    waiters.answered("sfn#k3", "t", DONE)
    assert [w.key for w in waiters.stale(registered_before=400.0)] == ["build#k1"]
    assert [w.key for w in waiters.stale(registered_before=1000.0)] == ["build#k1", "ecs#k2"]
