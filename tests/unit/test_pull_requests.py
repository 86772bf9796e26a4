"""Pull request triggers: GitHub's pull_request webhook and CodeCommit's "Pull Request State
Change" events (documented samples in events/), V2 pullRequest filters as CodePipeline applies
them, and one execution per request event on the embedded engine, whoever redelivers it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.actions.errors import SourceAccessError
from stepline.adapters.github import HttpResponse
from stepline.adapters.github_changes import GitHubChangedPaths
from stepline.adapters.local.registry import SqliteRegistry
from stepline.adapters.local.workflows import EngineWorkflows
from stepline.api.app import handle
from stepline.definition import parse_pipeline
from stepline.definition.models import PipelineDeclaration
from stepline.definition.rules import validate
from stepline.deploy import starts_on
from stepline.engine import Engine, Functions
from stepline.triggers.changes import RepositoryChange
from stepline.triggers.events import repository_change
from stepline.triggers.matching import match
from stepline.triggers.pulls import GitHubPullRequestEvent, from_github_pull_request
from stepline.triggers.starting import PushesToPipelines
from tests.helpers import load_event, watching
from tests.unit.test_triggers import register

HEAD, NEXT, BASE = (
    "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    "1f0e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6",
    "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
)
SECRET = "It's a Secret to Everybody"  # what the events/api/github-*.json samples are signed with


def github_change(name: str, delivery: str | None = None) -> RepositoryChange:
    event = load_event(f"api/github-pull-request-{name}.json")
    body = json.loads(event["body"])
    parsed = GitHubPullRequestEvent.model_validate(
        {**body, "delivery": delivery or event["headers"]["X-GitHub-Delivery"]}
    )
    change = from_github_pull_request(parsed)
    assert change is not None
    return change


def test_githubs_opened_synchronize_and_closed_become_open_updated_and_closed() -> None:
    # Given GitHub's pull_request deliveries for one request: opened, a push to it, merged
    opened, updated, closed = (github_change(name) for name in ("opened", "synchronize", "closed"))
    # Then each names the source branch and its head commit (what the execution builds)
    assert (opened.reference_name, opened.commit_id, opened.old_commit_id) == ("feature/retry-declined", HEAD, BASE)
    assert opened.pull_request is not None
    assert updated.pull_request is not None
    assert closed.pull_request is not None
    assert (opened.pull_request.number, opened.pull_request.destination_branch) == ("42", "main")
    assert [c.pull_request.event for c in (opened, updated, closed) if c.pull_request] == ["OPEN", "UPDATED", "CLOSED"]
    assert updated.commit_id == NEXT
    assert closed.pull_request.merged
    assert opened.pull_request.url == "https://github.com/example-org/payments/pull/42"
    # And the three are three executions, while a replay of one is the same execution
    names = {c.execution_name() for c in (opened, updated, closed)}
    assert len(names) == 3
    assert github_change("opened", delivery="another-delivery-id").execution_name() == opened.execution_name()
    assert opened.execution_name().startswith("pr-42-open-ec26c3e5-")


@pytest.mark.parametrize("action", ["labeled", "edited", "review_requested", "ready_for_review", "assigned"])
def test_github_actions_codepipeline_ignores_start_nothing(action: str) -> None:
    body = json.loads(load_event("api/github-pull-request-opened.json")["body"])
    assert from_github_pull_request(GitHubPullRequestEvent.model_validate({**body, "action": action})) is None


def test_codecommits_documented_pull_request_events_become_changes() -> None:
    # Given the documented "CodeCommit Pull Request State Change" examples
    created, updated, closed = (
        repository_change(load_event(f"trigger/codecommit-pull-request-{name}.json"))
        for name in ("created", "source-branch-updated", "closed")
    )
    assert created is not None
    assert updated is not None
    assert closed is not None
    # Then each is the source branch at its commit, for request 1 into master
    assert (created.provider, created.repository, created.reference_name, created.commit_id) == (
        "CodeCommit",
        "MyDemoRepo",
        "test-branch",
        "2774290EXAMPLE",
    )
    requests = [c.pull_request for c in (created, updated, closed)]
    assert [(r.number, r.event, r.destination_branch) for r in requests if r] == [
        ("1", "OPEN", "master"),
        ("1", "UPDATED", "master"),
        ("1", "CLOSED", "master"),
    ]
    # And the event the documentation shows for every kind has one id; the executions still differ
    assert len({c.execution_name() for c in (created, updated, closed)}) == 3


def test_an_event_the_trigger_function_does_not_read_is_refused_by_name() -> None:
    event = load_event("trigger/codecommit-pull-request-created.json") | {
        "detail-type": "CodeCommit Comment on Pull Request"
    }
    with pytest.raises(Exception, match="does not read 'CodeCommit Comment on Pull Request' events"):
        repository_change(event)


def declared(document: dict[str, Any]) -> PipelineDeclaration:
    return parse_pipeline(document, "test.json").pipeline


def payments(**filters: Any) -> PipelineDeclaration:
    return declared(
        watching(
            "pay",
            provider="CodeStarSourceConnection",
            repository="example-org/payments",
            branch="main",
            **filters,
        )
    )


def no_paths() -> set[str]:
    raise AssertionError("no filter here needs the changed files")


def test_without_pull_request_filters_a_request_starts_nothing_and_says_why() -> None:
    assert match(payments(), github_change("opened"), no_paths).reasons == [
        "Source: a pull request starts a pipeline only through a trigger with pullRequest filters"
    ]
    pushes_only = payments(push=[{"branches": {"includes": ["main"]}}])
    assert match(pushes_only, github_change("opened"), no_paths).reasons == [
        "Source: its trigger has no pullRequest filters"
    ]


def test_pull_request_filters_match_events_and_the_destination_branch() -> None:
    # Given a trigger on requests into main or release/**, opened or updated
    pipeline = payments(
        pull_request=[{"events": ["OPEN", "UPDATED"], "branches": {"includes": ["main", "release/**"]}}]
    )
    # Then opening and updating start it, closing does not
    assert match(pipeline, github_change("opened"), no_paths).starts
    assert match(pipeline, github_change("synchronize"), no_paths).starts
    closed = match(pipeline, github_change("closed"), no_paths)
    assert closed.reasons == ["Source: pullRequest[0] does not include the event CLOSED (it lists OPEN, UPDATED)"]
    # And the branch filter reads the destination, not the source branch
    elsewhere = payments(pull_request=[{"branches": {"includes": ["feature/**"]}}])
    assert match(elsewhere, github_change("opened"), no_paths).reasons == [
        "Source: pullRequest[0] does not include destination branch main"
    ]
    # And without events listed every event matches; excludes win over includes
    excluded = payments(pull_request=[{"branches": {"includes": ["**"], "excludes": ["main"]}}])
    assert not match(excluded, github_change("closed"), no_paths).starts
    assert match(payments(pull_request=[{"branches": {"includes": ["**"]}}]), github_change("closed"), no_paths).starts


def test_file_path_filters_read_the_files_the_request_changes() -> None:
    pipeline = payments(pull_request=[{"branches": {"includes": ["main"]}, "filePaths": {"includes": ["payments/**"]}}])
    assert match(pipeline, github_change("opened"), lambda: {"payments/retry.py"}).starts
    refused = match(pipeline, github_change("opened"), lambda: {"docs/retry.md"})
    assert refused.reasons == ["Source: pullRequest[0] does not include changed file docs/retry.md"]


def test_a_pull_request_trigger_is_valid_without_a_warning() -> None:
    document = watching(
        "pay",
        provider="CodeStarSourceConnection",
        repository="example-org/payments",
        branch="main",
        pull_request=[{"events": ["OPEN"], "branches": {"includes": ["main"]}}],
    )
    problems = validate(declared(document))
    assert [str(problem) for problem in problems if "pullRequest" in problem.path] == []
    # And `stepline apply`/`deploy` say what starts it
    assert starts_on(declared(document)) == ["pull requests OPEN on example-org/payments into branches main (Source)"]


class FakeChangedPaths:
    """The ChangedPaths port as GitHub's compare API would answer it, recording each ask."""

    def __init__(self, paths: set[str]) -> None:
        self.paths = paths
        self.asked: list[tuple[str, str, str]] = []

    def between(self, repository: str, old_commit: str, new_commit: str) -> set[str]:
        self.asked.append((repository, old_commit, new_commit))
        return self.paths


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, str, FakeChangedPaths]]:
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_GITHUB_WEBHOOK_SECRET", SECRET)
    wiring.reset()
    engine = Engine(functions=Functions({}))
    registry = SqliteRegistry(tmp_path / "pipelines.sqlite")
    document = watching(
        "pay-previews",
        provider="CodeStarSourceConnection",
        repository="example-org/payments",
        branch="main",
        pull_request=[
            {
                "events": ["OPEN", "UPDATED"],
                "branches": {"includes": ["main"]},
                "filePaths": {"includes": ["payments/**"]},
            }
        ],
    )
    machine = register(engine, registry, document)
    paths = FakeChangedPaths({"payments/retry.py", "README.md"})
    wiring.install_pushes(PushesToPipelines(registry, EngineWorkflows(engine), lambda provider: paths))
    yield engine, machine, paths
    wiring.reset()
    engine.close()


def test_the_webhook_starts_one_execution_per_request_event_with_the_request_in_its_input(
    served: tuple[Engine, str, FakeChangedPaths],
) -> None:
    engine, machine, paths = served
    # When GitHub delivers the signed "opened" sample
    answer = handle(load_event("api/github-pull-request-opened.json"), None)
    # Then one execution starts, building the source branch's head, with the request in its trigger
    assert answer["statusCode"] == 202, answer["body"]
    [started] = json.loads(answer["body"])["started"]
    trigger = json.loads(engine.describe_execution(started)["input"])["trigger"]
    assert trigger["type"] == "WebhookV2"
    assert trigger["pullRequest"] == {
        "number": "42",
        "event": "OPEN",
        "sourceBranch": "feature/retry-declined",
        "destinationBranch": "main",
        "commitId": HEAD,
        "destinationCommitId": BASE,
        "title": "Retry declined card payments once",
        "url": "https://github.com/example-org/payments/pull/42",
        "merged": False,
    }
    assert trigger["revisions"]["Source"]["referenceName"] == "feature/retry-declined"
    assert trigger["revisions"]["Source"]["commitId"] == HEAD
    # And the request's files were asked for once, base to head
    assert paths.asked == [("example-org/payments", BASE, HEAD)]
    # When the captured delivery is replayed under a fresh delivery id, Then nothing new starts
    replay = load_event("api/github-pull-request-opened.json")
    replay["headers"]["X-GitHub-Delivery"] = "00000000-0000-0000-0000-00000000beef"
    assert json.loads(handle(replay, None)["body"])["started"] == []
    # When the request is updated, Then a second execution starts; closing starts none (not listed)
    assert len(json.loads(handle(load_event("api/github-pull-request-synchronize.json"), None)["body"])["started"]) == 1
    assert json.loads(handle(load_event("api/github-pull-request-closed.json"), None)["body"])["started"] == []
    assert len(engine.list_executions(machine)["executions"]) == 2


def test_a_forged_pull_request_starts_nothing(served: tuple[Engine, str, FakeChangedPaths]) -> None:
    engine, machine, _ = served
    forged = load_event("api/github-pull-request-opened.json")
    forged["body"] = forged["body"].replace('"ref": "main"', '"ref": "prod"')
    answer = handle(forged, None)
    assert answer["statusCode"] == 401
    assert "does not match" in json.loads(answer["body"])["message"]
    assert engine.list_executions(machine)["executions"] == []


class CompareApi:
    """GitHub's compare endpoint, answering in its documented shape (files[].filename and,
    for a rename, previous_filename)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.asked: list[tuple[str, dict[str, str]]] = []

    def get(self, url: str, headers: Mapping[str, str]) -> HttpResponse:
        self.asked.append((url, dict(headers)))
        files = [
            {"filename": "payments/retry.py", "status": "modified"},
            {"filename": "payments/cards.py", "previous_filename": "payments/card.py", "status": "renamed"},
        ]
        return HttpResponse(self.status, {}, io.BytesIO(json.dumps({"files": files}).encode()))


class Secrets:
    def get(self, name: str) -> str:
        if name != "stepline/github-token":
            raise LookupError(name)
        return "ghp_token"


def test_a_github_requests_files_come_from_the_three_dot_compare_with_the_token() -> None:
    api = CompareApi()
    paths = GitHubChangedPaths(api, Secrets(), "stepline/github-token").between("example-org/payments", BASE, HEAD)
    # Then both sides of a rename count, and the token went to api.github.com only
    assert paths == {"payments/retry.py", "payments/cards.py", "payments/card.py"}
    [(url, headers)] = api.asked
    assert url == f"https://api.github.com/repos/example-org/payments/compare/{BASE}...{HEAD}"
    assert headers["Authorization"] == "Bearer ghp_token"
    # And a refused token or a missing secret says so
    with pytest.raises(SourceAccessError, match="refused the token"):
        GitHubChangedPaths(CompareApi(401), Secrets(), "stepline/github-token").between("o/r", BASE, HEAD)
    with pytest.raises(SourceAccessError, match="no token to list a pull request's files"):
        GitHubChangedPaths(CompareApi(), Secrets(), "missing").between("o/r", BASE, HEAD)
