"""Completions exactly once (stepline.actions.completions): every order in which a start, its
work's end, redeliveries, failures and the sweeper can meet answers the task exactly once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from stepline.actions.completions import (
    NEVER_STARTED_SECONDS,
    Answer,
    WorkKind,
    answered_before,
    attach,
    complete,
    register,
    sweep,
)
from stepline.adapters.local.waiters import SqliteWaiters
from stepline.ports.waiters import Completion, Waiter


class Throttled(Exception):
    """What a throttled service call raises in these tests."""


class Callbacks:
    """Step Functions as far as answers go: each token is answered once, later answers are
    refused as TaskTimedOut is (and the adapter ignores that); ``fail_next`` throttles."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, object]] = []
        self.fail_next = 0

    def _send(self, token: str, answer: object) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise Throttled("ThrottlingException")
        if any(sent == token for sent, _ in self.delivered):
            return  # TaskTimedOut: already answered; the adapter logs it and carries on
        self.delivered.append((token, answer))

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self._send(token, dict(output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._send(token, (error, cause))


class Work:
    """A kind of work whose answers and polls the tests control."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.ended: dict[str, Completion] = {}
        self.answer_fails = 0
        self.poll_fails = False

    def answer(self, waiter: Waiter, completion: Completion) -> Answer:
        if self.answer_fails:
            self.answer_fails -= 1
            raise Throttled("BatchGetBuilds throttled")
        if completion.succeeded:
            return Answer(output={"artifacts": {}, "variables": {"BuildId": waiter.work.get("id", "")}})
        return Answer(error=completion.error, cause=completion.cause)

    def poll(self, waiting: list[Waiter]) -> dict[str, Completion]:
        if self.poll_fails:
            raise Throttled("poll throttled")
        return {w.key: self.ended[w.work["id"]] for w in waiting if w.work.get("id") in self.ended}

    def kind(self) -> WorkKind:
        return WorkKind(answer=self.answer, poll=self.poll)


@pytest.fixture
def waiters(tmp_path: Path) -> Iterator[SqliteWaiters]:
    store = SqliteWaiters(tmp_path / "waiters.sqlite")
    yield store
    store.close()


DONE = Completion(succeeded=True)


def start(waiters: SqliteWaiters, work: Work, callbacks: Callbacks, token: str = "t1", build: str = "b1") -> Waiter:
    """What an action does: register, start (unless an earlier attempt did), attach."""
    waiter = register(waiters, Waiter(key="build#k", kind="build", token=token, action="Build.Build"), now=1000.0)
    if answered_before(waiter, work.kind(), waiters, callbacks) is not None:
        return waiter
    build = waiter.work.get("id") or build
    work.running.add(build)
    attach(waiters, waiter, f"build#{build}", {"id": build}, work.kind(), callbacks)
    return waiter


def test_the_event_answers_the_waiting_task_once_and_a_redelivery_changes_nothing(waiters: SqliteWaiters) -> None:
    work, callbacks = Work(), Callbacks()
    start(waiters, work, callbacks)
    assert complete("build#b1", DONE, work.kind(), waiters, callbacks) == "succeeded: Build.Build"
    assert complete("build#b1", DONE, work.kind(), waiters, callbacks) == "ignored: Build.Build was answered already"
    assert callbacks.delivered == [("t1", {"artifacts": {}, "variables": {"BuildId": "b1"}})]


def test_an_event_before_the_waiter_is_kept_and_answered_when_the_work_is_attached(waiters: SqliteWaiters) -> None:
    # Given a build whose end is reported before the action attached it
    work, callbacks = Work(), Callbacks()
    assert complete("build#b1", DONE, work.kind(), waiters, callbacks).startswith("kept:")
    assert callbacks.delivered == []
    # When the action registers and attaches it, Then the task is answered then and there, once
    start(waiters, work, callbacks)
    assert callbacks.delivered == [("t1", {"artifacts": {}, "variables": {"BuildId": "b1"}})]
    # And the event's redelivery answers nothing more
    assert complete("build#b1", DONE, work.kind(), waiters, callbacks).startswith("ignored")
    assert len(callbacks.delivered) == 1


def test_throttling_after_the_event_arrived_loses_nothing(waiters: SqliteWaiters) -> None:
    # Given a waiting build whose answer needs a call that is throttled (BatchGetBuilds)
    work, callbacks = Work(), Callbacks()
    start(waiters, work, callbacks)
    work.answer_fails = 1
    # When the event is handled, Then the handler fails and nothing is marked answered
    with pytest.raises(Throttled):
        complete("build#b1", DONE, work.kind(), waiters, callbacks)
    stored = waiters.get("build#k")
    assert stored is not None
    assert stored.state == "WAITING"
    # When Lambda retries the event, Then the task is answered
    assert complete("build#b1", DONE, work.kind(), waiters, callbacks) == "succeeded: Build.Build"
    assert [token for token, _ in callbacks.delivered] == ["t1"]


def test_a_failed_send_is_answered_by_the_retry(waiters: SqliteWaiters) -> None:
    work, callbacks = Work(), Callbacks()
    start(waiters, work, callbacks)
    callbacks.fail_next = 1  # SendTaskSuccess throttled
    with pytest.raises(Throttled):
        complete(
            "build#b1", Completion(succeeded=False, error="BuildFailed", cause="BUILD"), work.kind(), waiters, callbacks
        )
    assert (
        complete(
            "build#b1", Completion(succeeded=False, error="BuildFailed", cause="BUILD"), work.kind(), waiters, callbacks
        )
        == "failed: Build.Build: BuildFailed: BUILD"
    )
    assert callbacks.delivered == [("t1", ("BuildFailed", "BUILD"))]


def test_a_retried_attempt_reuses_the_work_and_is_answered_with_how_it_ended(waiters: SqliteWaiters) -> None:
    # Given an attempt whose build ended and was answered while the task had moved on
    # (its Lambda invocation failed after the start, so Step Functions retried the task)
    work, callbacks = Work(), Callbacks()
    start(waiters, work, callbacks, token="t1", build="b1")
    complete("build#b1", DONE, work.kind(), waiters, callbacks)
    # When the retried attempt starts with its new token
    start(waiters, work, callbacks, token="t2", build="b2")
    # Then it starts no second build and its token is answered with the first build's end
    assert work.running == {"b1"}
    assert callbacks.delivered[-1] == ("t2", {"artifacts": {}, "variables": {"BuildId": "b1"}})


def test_a_retried_attempt_while_the_build_runs_waits_for_the_same_build(waiters: SqliteWaiters) -> None:
    work, callbacks = Work(), Callbacks()
    start(waiters, work, callbacks, token="t1", build="b1")
    start(waiters, work, callbacks, token="t2", build="b2")
    assert work.running == {"b1"}
    complete("build#b1", DONE, work.kind(), waiters, callbacks)
    assert [token for token, _ in callbacks.delivered] == ["t2"]


def test_the_sweeper_finishes_a_build_whose_event_was_dropped(waiters: SqliteWaiters) -> None:
    # Given a waiting build that ended, and no event about it
    work, callbacks = Work(), Callbacks()
    start(waiters, work, callbacks)
    work.ended["b1"] = DONE
    # When the sweeper runs before the waiter is old enough, Then it leaves it
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=1000.0 + 60, older_than=300) == []
    # When it runs after, Then the task is answered, once, and the late event changes nothing
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=1000.0 + 301, older_than=300) == [
        "succeeded: Build.Build"
    ]
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=1000.0 + 900, older_than=300) == []
    assert complete("build#b1", DONE, work.kind(), waiters, callbacks).startswith("ignored")
    assert len(callbacks.delivered) == 1


def test_the_sweeper_leaves_running_work_and_survives_a_failing_poll(waiters: SqliteWaiters) -> None:
    work, callbacks = Work(), Callbacks()
    start(waiters, work, callbacks)
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=5000.0, older_than=300) == []
    work.ended["b1"] = DONE
    work.poll_fails = True
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=5000.0, older_than=300) == []
    work.poll_fails = False
    work.answer_fails = 1
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=5000.0, older_than=300) == ["retry later: Build.Build"]
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=5000.0, older_than=300) == ["succeeded: Build.Build"]


def test_a_waiter_whose_work_never_started_is_failed_after_the_start_could_have_run(waiters: SqliteWaiters) -> None:
    # Given a waiter registered by a start that was interrupted before the build started
    work, callbacks = Work(), Callbacks()
    register(waiters, Waiter(key="build#k", kind="build", token="t1", action="Build.Build"), now=1000.0)
    # Then the sweeper leaves it while its start could still be running, and fails it after
    assert sweep(waiters, {"build": work.kind()}, callbacks, now=1000.0 + 600, older_than=300) == []
    [outcome] = sweep(waiters, {"build": work.kind()}, callbacks, now=1000.0 + NEVER_STARTED_SECONDS, older_than=300)
    assert outcome.startswith("failed: Build.Build: WorkNeverStarted")
    assert callbacks.delivered == [
        ("t1", ("WorkNeverStarted", "Build.Build: its work never started (the start was interrupted and not retried)"))
    ]
