"""Commit statuses on GitLab and Bitbucket Cloud: the reporter, with the real HTTP adapter,
posts to a fake of each forge's status API (a real HTTP server on loopback) in that forge's
own words and with its own token: GitLab's POST /projects/:id/statuses/:sha (running, then
success; PRIVATE-TOKEN), Bitbucket's POST .../commit/{sha}/statuses/build (INPROGRESS, then
FAILED; a bearer token), each once however often the event comes. A forge that cannot be
reached, or a provider without commit statuses, is said."""

from __future__ import annotations

import json

import pytest

from stepline.adapters.commit_statuses import ForgeCommitStatuses, forges
from stepline.ports.pipelines import RegisteredPipeline
from stepline.triggers.reporting import StatusReporter
from tests.e2e.test_commit_status import FakeStatusApi, api  # noqa: F401 - the fixture
from tests.helpers import load_event, watching
from tests.unit.test_reporting import EXECUTION, MACHINE, Deliveries

pytestmark = pytest.mark.functional
GITLAB_COMMIT, BITBUCKET_COMMIT = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "709d658dc5b6d6afcd46049c2f332ee3f515a67d"


class Secrets:
    def get(self, name: str) -> str:
        return {
            "stepline/gitlab-token": "glpat-x",
            "stepline/bitbucket-token": "bb-x",
            "stepline/github-token": "gh-x",
        }[name]


class Registry:
    def __init__(self) -> None:
        document = watching("payments", provider="CodeStarSourceConnection", repository="example-org/payments")
        self.entry = RegisteredPipeline(
            name="payments", state_machine_arn=MACHINE, declaration=document, registered_at=0, report_status=True
        )

    def get(self, name: str) -> RegisteredPipeline | None:
        return self.entry

    def all(self) -> list[RegisteredPipeline]:
        return [self.entry]


class Workflows:
    """An execution whose two source actions read a GitLab and a Bitbucket repository."""

    def describe(self, execution_arn: str) -> dict[str, object]:
        revisions = {
            "App": {"provider": "GitLab", "repositoryName": "example-org/payments", "commitId": GITLAB_COMMIT},
            "Lib": {"provider": "Bitbucket", "repositoryName": "example-org/cards", "commitId": BITBUCKET_COMMIT},
        }
        return {"input": json.dumps({"trigger": {"revisions": revisions}})}


def reporter(url: str) -> StatusReporter:
    statuses = ForgeCommitStatuses(
        Secrets(),
        forges(
            (url, "stepline/github-token"),
            (f"{url}/api/v4", "stepline/gitlab-token"),
            (f"{url}/2.0", "stepline/bitbucket-token"),
        ),
    )
    return StatusReporter(Registry(), Workflows(), statuses, Deliveries(), "https://stepline.example/Prod")


def test_gitlab_and_bitbucket_get_the_states_in_their_own_words(api: FakeStatusApi) -> None:  # noqa: F811
    report = reporter(api.url)
    failed = load_event("status/codepipeline-execution-failed.json")
    report(load_event("status/codepipeline-execution-started.json"))
    report(failed)
    report(failed)  # delivered again
    received = api.wait_for(4)
    gitlab = [r for r in received if r["path"].startswith("/api/v4/")]
    bitbucket = [r for r in received if r["path"].startswith("/2.0/")]
    assert [r["path"] for r in gitlab] == [f"/api/v4/projects/example-org%2Fpayments/statuses/{GITLAB_COMMIT}"] * 2
    assert [(r["state"], r["name"], r["private-token"]) for r in gitlab] == [
        ("running", "stepline/payments", "glpat-x"),
        ("failed", "stepline/payments", "glpat-x"),
    ]
    assert gitlab[1]["target_url"] == f"https://stepline.example/Prod/pipelines/payments/executions/{EXECUTION}"
    assert [r["path"] for r in bitbucket] == [
        f"/2.0/repositories/example-org/cards/commit/{BITBUCKET_COMMIT}/statuses/build"
    ] * 2
    assert [(r["state"], r["key"], r["auth"]) for r in bitbucket] == [
        ("INPROGRESS", "stepline/payments", "Bearer bb-x"),
        ("FAILED", "stepline/payments", "Bearer bb-x"),
    ]
    assert len(api.received) == 4


def test_an_unreachable_forge_or_one_without_statuses_is_said() -> None:
    statuses = ForgeCommitStatuses(
        Secrets(), forges(("http://127.0.0.1:9", "stepline/github-token"), ("", ""), ("", ""))
    )
    with pytest.raises(ConnectionError, match="could not be reached"):
        statuses.post("GitHub", "o/r", "abc", {"state": "pending", "target_url": "", "description": "", "context": "c"})
    with pytest.raises(Exception, match="commit statuses go to GitHub, GitLab or Bitbucket"):
        statuses.post("CodeCommit", "r", "abc", {})


def test_a_forge_failing_a_post_gets_it_again_from_the_next_delivery_and_once(api: FakeStatusApi) -> None:  # noqa: F811
    # Given the forges answering the first status 502 (a bad minute)
    report = reporter(api.url)
    api.fail_next = 1
    started = load_event("status/codepipeline-execution-started.json")
    # When the start is reported, Then the function fails (EventBridge will deliver it again)
    with pytest.raises(ConnectionError, match="answered 502"):
        report(started)
    # When EventBridge delivers it again, Then both commits get their pending status, once each
    report(started)
    report(started)
    assert sorted((r["path"].split("/")[1], r["state"]) for r in api.received) == [
        ("2.0", "INPROGRESS"),
        ("api", "running"),
    ]
