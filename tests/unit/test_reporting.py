"""Commit statuses from execution state changes: CodePipeline's documented event shape (and
Step Functions' own, read into it), opt-in per pipeline, GitHub's four states, and each status
posted once — a failed post is tried again on the next delivery. Fakes stand for the engine,
the registry and GitHub (unit tests open no sockets); events from events/status/."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline.ports.pipelines import RegisteredPipeline
from stepline.triggers.reporting import StatusReporter
from tests.helpers import load_event, watching

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:stepline-payments"
EXECUTION = "12345678-1234-5678-abcd-12345678abcd"
COMMIT = "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a"


class Registry:
    def __init__(self, report_status: bool = True) -> None:
        document = watching("payments", provider="CodeStarSourceConnection", repository="example-org/payments")
        self.entry = RegisteredPipeline(
            name="payments",
            state_machine_arn=MACHINE,
            declaration=document,
            registered_at=0,
            report_status=report_status,
        )

    def get(self, name: str) -> RegisteredPipeline | None:
        return self.entry if name == "payments" else None

    def all(self) -> list[RegisteredPipeline]:
        return [self.entry]


class Workflows:
    def describe(self, execution_arn: str) -> dict[str, object]:
        assert execution_arn == MACHINE.replace(":stateMachine:", ":execution:") + f":{EXECUTION}"
        revision = {"provider": "GitHub", "repositoryName": "example-org/payments", "commitId": COMMIT}
        return {"input": json.dumps({"trigger": {"revisions": {"Source": revision}}})}


class Deliveries:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def first_time(self, delivery: str) -> bool:
        if delivery in self.seen:
            return False
        self.seen.add(delivery)
        return True

    def forget(self, delivery: str) -> None:
        self.seen.discard(delivery)


class Statuses:
    def __init__(self, failures: int = 0) -> None:
        self.posted: list[tuple[str, str, dict[str, str]]] = []
        self.failures = failures

    def post(self, provider: str, repository: str, commit: str, status: dict[str, str]) -> None:
        assert provider == "GitHub"
        if self.failures:
            self.failures -= 1
            raise ConnectionError("GitHub could not be reached")
        self.posted.append((repository, commit, status))


def reported(event: dict[str, Any], statuses: Statuses, deliveries: Deliveries, registry: Any = None) -> list[str]:
    return StatusReporter(
        registry or Registry(),
        Workflows(),
        statuses,
        deliveries,
        "https://abc.execute-api.us-east-1.amazonaws.com/Prod",
    )(event)


def test_started_then_failed_post_pending_then_failure_once_each() -> None:
    statuses, deliveries = Statuses(), Deliveries()
    assert reported(load_event("status/codepipeline-execution-started.json"), statuses, deliveries) == [
        "example-org/payments@3e9ecf5a1ad7 pending"
    ]
    for _ in range(2):  # EventBridge delivers at least once
        reported(load_event("status/codepipeline-execution-failed.json"), statuses, deliveries)
    assert [status["state"] for _, _, status in statuses.posted] == ["pending", "failure"]
    [(repository, commit, failure)] = [p for p in statuses.posted if p[2]["state"] == "failure"]
    assert (repository, commit) == ("example-org/payments", COMMIT)
    assert failure == {
        "state": "failure",
        "target_url": f"https://abc.execute-api.us-east-1.amazonaws.com/Prod/pipelines/payments/executions/{EXECUTION}",
        "description": "Stepline payments: failed",
        "context": "stepline/payments",
    }


def test_a_result_whose_start_was_never_reported_posts_pending_first() -> None:
    statuses = Statuses()
    reported(load_event("status/codepipeline-execution-failed.json"), statuses, Deliveries())
    assert [status["state"] for _, _, status in statuses.posted] == ["pending", "failure"]


def test_step_functions_own_status_change_is_read_as_codepipelines() -> None:
    statuses = Statuses()
    reported(load_event("status/sfn-execution-succeeded.json"), statuses, Deliveries())
    assert [status["state"] for _, _, status in statuses.posted] == ["pending", "success"]
    aborted = load_event("status/sfn-execution-succeeded.json")
    aborted["detail"]["status"] = "ABORTED"
    stopped = Statuses()
    reported(aborted, stopped, Deliveries())
    assert stopped.posted[-1][2]["state"] == "error"
    assert stopped.posted[-1][2]["description"] == "Stepline payments: stopped"


def test_a_pipeline_that_did_not_opt_in_reports_nothing() -> None:
    statuses = Statuses()
    event = load_event("status/codepipeline-execution-started.json")
    assert reported(event, statuses, Deliveries(), Registry(report_status=False)) == []
    assert statuses.posted == []


def test_a_failed_post_is_posted_by_the_next_delivery() -> None:
    statuses, deliveries = Statuses(failures=1), Deliveries()
    event = load_event("status/codepipeline-execution-started.json")
    with pytest.raises(ConnectionError):
        reported(event, statuses, deliveries)
    assert reported(event, statuses, deliveries) == ["example-org/payments@3e9ecf5a1ad7 pending"]


def test_an_event_of_another_kind_is_refused_by_name() -> None:
    with pytest.raises(Exception, match="does not read 'CodeBuild Build State Change' events"):
        reported({"detail-type": "CodeBuild Build State Change"}, Statuses(), Deliveries())
