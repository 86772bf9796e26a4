"""A forge drives a laptop's pipelines: `stepline serve` (a real process, a real HTTP server)
takes GitLab's push webhook (the documented payload, events/api/gitlab-push.json, moved to a
real commit) and Bitbucket's signed push, builds that commit from the mapped repository, once
per push however often it is delivered, and refuses a forged delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_server import BUILD, Server, commit_and_push, git, repositories
from tests.helpers import load_event

GITLAB_TOKEN = "gitlab-secret-token-for-stepline-tests"
BITBUCKET_SECRET = "bitbucket-secret-for-stepline-tests"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    bare, work = repositories(tmp_path)
    server = Server(tmp_path)
    server.start(
        {
            "STEPLINE_SOURCES": f"example-org/payments={bare}",
            "STEPLINE_SECRET_STEPLINE_GITLAB_WEBHOOK_SECRET": GITLAB_TOKEN,
            "STEPLINE_SECRET_STEPLINE_BITBUCKET_WEBHOOK_SECRET": BITBUCKET_SECRET,
        }
    )
    source = {
        "name": "Source",
        "actions": [
            {
                "name": "Checkout",
                "actionTypeId": {
                    "category": "Source",
                    "owner": "AWS",
                    "provider": "CodeStarSourceConnection",
                    "version": "1",
                },
                "namespace": "SourceVariables",
                "configuration": {
                    "ConnectionArn": "arn:aws:codeconnections:us-east-1:111122223333:connection/0a1b2c3d",
                    "FullRepositoryId": "example-org/payments",
                    "BranchName": "main",
                },
                "outputArtifacts": [{"name": "Src"}],
            }
        ],
    }
    server.apply({"name": "payments", "pipelineType": "V2", "executionMode": "PARALLEL", "stages": [source, BUILD]})
    yield server, work
    server.stop()


def post(server: Server, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.url + event["path"],
        data=event["body"].encode(),
        method="POST",
        headers={key: value for key, value in event["headers"].items() if key != "Host"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def gitlab_push(before: str, after: str, delivery: str) -> dict[str, Any]:
    event = load_event("api/gitlab-push.json")
    body = json.loads(event["body"])
    body.update(before=before, after=after, checkout_sha=after, commits=[], total_commits_count=0)
    event["body"] = json.dumps(body)
    event["headers"]["Idempotency-Key"] = event["headers"]["X-Gitlab-Event-UUID"] = delivery
    return event


def test_gitlab_and_bitbucket_pushes_build_the_pushed_commit_once(served: tuple[Server, Path]) -> None:
    server, work = served
    commit_and_push(work, {}, "the sample app")
    before = git(work, "rev-parse", "HEAD").strip()
    commit_and_push(work, {"NOTES.md": "retry declined payments\n"}, "notes")
    after = git(work, "rev-parse", "HEAD").strip()
    # When GitLab delivers the push to the laptop's server
    status, answer = post(server, gitlab_push(before, after, "5b1c2d4e-0000-4000-8000-000000000001"))
    assert status == 202, answer
    # Then one execution builds that commit, to the end
    [(name, result)] = server.finished("payments")
    assert result == "SUCCEEDED", server.output[-40:]
    # When GitLab retries it, or someone replays it under a fresh id, Then nothing new starts
    assert post(server, gitlab_push(before, after, "5b1c2d4e-0000-4000-8000-000000000001"))[0] == 200
    assert post(server, gitlab_push(before, after, "5b1c2d4e-0000-4000-8000-0000000000ff"))[1]["started"] == []
    # And a delivery with the wrong token is refused and starts nothing
    forged = gitlab_push(after, "f" * 40, "5b1c2d4e-0000-4000-8000-000000000002")
    forged["headers"]["X-Gitlab-Token"] = "guess"
    assert post(server, forged)[0] == 401
    # When Bitbucket delivers a push of the next commit (signed with the webhook's secret)
    commit_and_push(work, {"NOTES.md": "and once more\n"}, "more notes")
    newest = git(work, "rev-parse", "HEAD").strip()
    event = load_event("api/bitbucket-push.json")
    body = json.loads(event["body"])
    change = body["push"]["changes"][0]
    change["old"]["target"]["hash"], change["new"]["target"]["hash"] = after, newest
    body["push"]["changes"] = [change]
    event["body"] = json.dumps(body)
    digest = hmac.new(BITBUCKET_SECRET.encode(), event["body"].encode(), hashlib.sha256).hexdigest()
    event["headers"]["X-Hub-Signature"] = f"sha256={digest}"
    status, answer = post(server, event)
    # Then a second execution builds it
    assert status == 202, answer
    runs = server.finished("payments", count=2)
    assert [result for _, result in runs] == ["SUCCEEDED", "SUCCEEDED"]
    assert name in {run for run, _ in runs}
