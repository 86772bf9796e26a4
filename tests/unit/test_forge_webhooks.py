"""GitLab and Bitbucket Cloud webhooks: each verified as its service signs it (GitLab's secret
token, Bitbucket's HMAC-SHA256), refused when forged, oversized or of another kind, and each
push or merge/pull request starting the matching pipelines on the embedded engine once, however
often it is delivered. Payloads are the vendors' documented shapes (events/api/gitlab-*.json,
events/api/bitbucket-*.json), signed with the secrets below."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.adapters.local.registry import SqliteRegistry
from stepline.adapters.local.workflows import EngineWorkflows
from stepline.api.app import handle
from stepline.definition import parse_pipeline
from stepline.engine import Engine, Functions
from stepline.triggers.forges import GitLabMergeRequest, from_gitlab_merge_request
from stepline.triggers.matching import match
from stepline.triggers.starting import PushesToPipelines
from tests.helpers import load_event, watching
from tests.unit.test_triggers import register

GITLAB_TOKEN = "gitlab-secret-token-for-stepline-tests"
BITBUCKET_SECRET = "bitbucket-secret-for-stepline-tests"


def connection(name: str, **filters: Any) -> dict[str, Any]:
    return watching(
        name, provider="CodeStarSourceConnection", repository="example-org/payments", branch="main", **filters
    )


class Served:
    def __init__(self, engine: Engine, machines: dict[str, str]) -> None:
        self.engine = engine
        self.machines = machines

    def started(self) -> dict[str, int]:
        counts = {name: len(self.engine.list_executions(arn)["executions"]) for name, arn in self.machines.items()}
        return {name: count for name, count in counts.items() if count}

    def trigger(self, name: str) -> dict[str, Any]:
        [execution] = self.engine.list_executions(self.machines[name])["executions"]
        loaded: dict[str, Any] = json.loads(self.engine.describe_execution(execution["executionArn"])["input"])
        return loaded["trigger"]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_GITLAB_WEBHOOK_SECRET", GITLAB_TOKEN)
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_BITBUCKET_WEBHOOK_SECRET", BITBUCKET_SECRET)
    wiring.reset()
    engine = Engine(functions=Functions({}))
    registry = SqliteRegistry(tmp_path / "pipelines.sqlite")
    machines = {
        name: register(engine, registry, document)
        for name, document in {
            "pay-main": connection("pay-main"),
            "pay-code": connection(
                "pay-code", push=[{"branches": {"includes": ["main"]}, "filePaths": {"includes": ["payments/**"]}}]
            ),
            "pay-releases": connection("pay-releases", push=[{"tags": {"includes": ["v*"]}}]),
            "pay-previews": connection(
                "pay-previews", pull_request=[{"events": ["OPEN", "UPDATED"], "branches": {"includes": ["main"]}}]
            ),
        }.items()
    }
    wiring.install_pushes(PushesToPipelines(registry, EngineWorkflows(engine)))
    yield Served(engine, machines)
    wiring.reset()
    engine.close()


def send(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = handle(event, None)
    return answer["statusCode"], json.loads(answer["body"])


def fresh_delivery(event: dict[str, Any], value: str = "00000000-0000-4000-8000-0000000000ff") -> dict[str, Any]:
    for key in ("Idempotency-Key", "X-Gitlab-Event-UUID", "X-Request-UUID"):
        if key in event["headers"]:
            event["headers"][key] = value
    return event


def test_a_gitlab_push_starts_the_branch_and_file_filtered_pipelines_once(served: Served) -> None:
    # When GitLab delivers its push to main (it lists each commit's files)
    status, body = send(load_event("api/gitlab-push.json"))
    # Then the pipelines on main start, the file filter read from the payload, and nothing else
    assert status == 202, body
    assert served.started() == {"pay-main": 1, "pay-code": 1}
    assert served.trigger("pay-main")["type"] == "WebhookV2"
    assert served.trigger("pay-main")["revisions"]["Source"]["commitId"] == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert served.trigger("pay-main")["revisions"]["Source"]["provider"] == "GitLab"
    # When GitLab retries it (same Idempotency-Key), Then it is acknowledged as a duplicate
    assert send(load_event("api/gitlab-push.json")) == (200, {"duplicate": True, "delivery": body["delivery"]})
    # When someone replays the captured body under fresh delivery ids, Then nothing new starts
    status, replayed = send(fresh_delivery(load_event("api/gitlab-push.json")))
    assert (status, replayed["started"]) == (202, [])
    assert served.started() == {"pay-main": 1, "pay-code": 1}


def test_gitlab_merge_requests_open_and_update_start_previews_and_a_merge_does_not(served: Served) -> None:
    for name, started in (("open", 1), ("update", 2), ("merge", 2)):
        status, body = send(load_event(f"api/gitlab-merge-request-{name}.json"))
        assert status == 202, body
        assert served.started() == {"pay-previews": started}, name
    executions = served.engine.list_executions(served.machines["pay-previews"])["executions"]
    inputs = [json.loads(served.engine.describe_execution(e["executionArn"])["input"]) for e in executions]
    requests = sorted(
        (i["trigger"]["pullRequest"]["event"], i["trigger"]["pullRequest"]["commitId"][:7]) for i in inputs
    )
    assert requests == [("OPEN", "da15608"), ("UPDATED", "0a1b2c3")]
    assert {i["trigger"]["pullRequest"]["destinationBranch"] for i in inputs} == {"main"}


def test_a_gitlab_merge_request_cannot_pass_a_file_path_filter_and_says_why() -> None:
    body = json.loads(load_event("api/gitlab-merge-request-open.json")["body"])
    change = from_gitlab_merge_request(GitLabMergeRequest.model_validate(body), "d-1")
    assert change is not None
    document = connection("p", pull_request=[{"branches": {"includes": ["main"]}, "filePaths": {"includes": ["**"]}}])
    outcome = match(parse_pipeline(document, "p.json").pipeline, change, lambda: None)
    assert outcome.reasons == [
        "Source: pullRequest[0] filters file paths, and GitLab does not say which files this change touches"
    ]


def test_an_update_that_only_edits_a_gitlab_merge_request_starts_nothing(served: Served) -> None:
    event = load_event("api/gitlab-merge-request-update.json")
    body = json.loads(event["body"])
    del body["object_attributes"]["oldrev"]  # GitLab sends oldrev only when commits were pushed
    event["body"] = json.dumps(body)
    event["headers"]["X-Gitlab-Event-UUID"] = event["headers"]["Idempotency-Key"] = "title-edit"
    status, answer = send(event)
    assert (status, answer["started"], answer["ignored"]) == (202, [], "Merge Request Hook")
    assert served.started() == {}


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        (lambda e: e["headers"].update({"X-Gitlab-Token": "guess"}), 401, "not the webhook's secret token"),
        (lambda e: e["headers"].pop("X-Gitlab-Token"), 401, "X-Gitlab-Token is missing"),
        (lambda e: e.update({"body": "x" * (5 * 1024 * 1024 + 1)}), 413, "the limit is"),
        (lambda e: e["headers"].update({"X-Gitlab-Event": "Issue Hook"}), 400, "'Issue Hook'"),
        (lambda e: e.update({"body": '{"object_kind": "push"}'}), 400, "not a GitLab push: ref"),
    ],
    ids=["wrong-token", "no-token", "oversized", "other-event", "wrong-shape"],
)
def test_a_bad_gitlab_delivery_is_refused_and_starts_nothing(
    served: Served, change: Any, status: int, says: str
) -> None:
    event = load_event("api/gitlab-push.json")
    change(event)
    answered, body = send(event)
    assert answered == status, body
    assert says in body["message"]
    assert served.started() == {}


def resigned(event: dict[str, Any], body: str, secret: str = BITBUCKET_SECRET) -> dict[str, Any]:
    event["body"] = body
    event["headers"]["X-Hub-Signature"] = (
        "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    )
    return event


def test_a_bitbucket_push_of_a_branch_and_a_tag_starts_both_once(served: Served) -> None:
    # When Bitbucket delivers one push that moved main and created tag v1.4.0
    status, body = send(load_event("api/bitbucket-push.json"))
    # Then the main pipeline and the tag pipeline start; the file-filtered one cannot know the files
    assert status == 202, body
    assert served.started() == {"pay-main": 1, "pay-releases": 1}
    assert served.trigger("pay-releases")["revisions"]["Source"]["referenceType"] == "tag"
    # When it is retried, or replayed under a fresh X-Request-UUID, Then nothing new starts
    assert send(load_event("api/bitbucket-push.json"))[0] == 200
    assert send(fresh_delivery(load_event("api/bitbucket-push.json")))[1]["started"] == []
    assert served.started() == {"pay-main": 1, "pay-releases": 1}


def test_bitbucket_pull_requests_start_previews_once_per_head_commit(served: Served) -> None:
    assert send(load_event("api/bitbucket-pull-request-created.json"))[0] == 202
    assert send(load_event("api/bitbucket-pull-request-updated.json"))[0] == 202
    assert served.started() == {"pay-previews": 2}
    # Bitbucket also reports "updated" for a title edit: at the same head commit it starts nothing
    edited = load_event("api/bitbucket-pull-request-updated.json")
    resigned(edited, edited["body"].replace("Retry declined card payments once", "Retry declined payments"))
    status, body = send(fresh_delivery(edited))
    assert (status, body["started"]) == (202, [])
    # And merging (fulfilled) is CLOSED, which the previews filter does not list
    assert send(load_event("api/bitbucket-pull-request-fulfilled.json"))[1]["started"] == []
    assert served.started() == {"pay-previews": 2}


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        (lambda e: resigned(e, e["body"], "wrong secret"), 401, "does not match"),
        (lambda e: e["headers"].pop("X-Hub-Signature") and e, 401, "X-Hub-Signature is missing"),
        (lambda e: e | {"body": e["body"].replace('"name": "main"', '"name": "prod"')}, 401, "does not match"),
        (lambda e: resigned(e, "x" * (5 * 1024 * 1024 + 1)), 413, "the limit is"),
        (lambda e: e["headers"].update({"X-Event-Key": "issue:created"}) or e, 400, "'issue:created'"),
        (lambda e: resigned(e, '{"repository": {"full_name": "a/b"}}'), 400, "not a Bitbucket push: push"),
    ],
    ids=["wrong-secret", "unsigned", "altered-body", "oversized", "other-event", "wrong-shape"],
)
def test_a_bad_bitbucket_delivery_is_refused_and_starts_nothing(
    served: Served, change: Any, status: int, says: str
) -> None:
    answered, body = send(change(load_event("api/bitbucket-push.json")))
    assert answered == status, body
    assert says in body["message"]
    assert served.started() == {}


def test_a_forge_without_its_secret_configured_is_refused_as_not_configured(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEPLINE_SECRET_STEPLINE_GITLAB_WEBHOOK_SECRET")
    status, body = send(load_event("api/gitlab-push.json"))
    assert status == 503
    assert "STEPLINE_SECRET_STEPLINE_GITLAB_WEBHOOK_SECRET" in body["message"]
