"""Status back to the change, end to end on one machine: a fake of GitHub's commit status API
(a real HTTP server on loopback) receives, for a pipeline opted in with report_status, pending
then success for a passing build and pending then failure for a failing one — each exactly
once, however often the execution's end is told again. The pushes arrive through the signed
GitHub webhook route; the builds are real subprocesses on the real engine and SQLite."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.adapters.local.workflows import status_change_event
from stepline.api.app import handle
from stepline.definition import valid_pipeline
from stepline.local.reporting import report_locally
from stepline.local.runtime import LocalRuntime
from tests.gitrepo import Repo
from tests.helpers import load_event, watching

SECRET = "It's a Secret to Everybody"  # the webhook secret the sample push is signed with
TOKEN = "ghp_fake_token_for_the_fake_api"


class FakeStatusApi:
    """Every POST recorded (GitHub's /repos/{owner}/{repo}/statuses/{sha} read into repo and sha),
    answered 201 as the forges answer a status they set."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        self.fail_next = 0  # answer this many POSTs 502, as a forge having a bad minute does
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if api.fail_next:
                    api.fail_next -= 1
                    self.send_response(502)
                    self.end_headers()
                    return
                parts = self.path.strip("/").split("/")
                github = len(parts) == 5 and parts[0] == "repos" and parts[3] == "statuses"
                with api.arrived:
                    api.received.append(
                        {
                            "path": self.path,
                            "repo": f"{parts[1]}/{parts[2]}" if github else None,
                            "sha": parts[4] if github else None,
                            "auth": self.headers["Authorization"],
                            "private-token": self.headers["PRIVATE-TOKEN"],
                            **body,
                        }
                    )
                    api.arrived.notify_all()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": 1}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int, timeout: float = 120) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)


@pytest.fixture
def api() -> Iterator[FakeStatusApi]:
    fake = FakeStatusApi()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def repository(path: Path, command: str) -> tuple[Repo, str]:
    repo = Repo(path)
    head = repo.commit("first", {"buildspec.yml": f"version: 0.2\nphases:\n  build:\n    commands: ['{command}']\n"})
    return repo, head


def push(repository_name: str, commit: str) -> dict[str, Any]:
    """GitHub's push sample (events/api/github-push.json) moved to this repository and commit, signed."""
    event = load_event("api/github-push.json")
    body = json.loads(event["body"])
    body["repository"]["full_name"] = repository_name
    body["after"] = commit
    body["commits"] = []
    text = json.dumps(body)
    event["body"] = text
    event["headers"]["X-Hub-Signature-256"] = (
        "sha256=" + hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    )
    event["headers"]["X-GitHub-Delivery"] = f"delivery-{repository_name}"
    return event


@pytest.fixture
def runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: FakeStatusApi
) -> Iterator[tuple[LocalRuntime, dict[str, str]]]:
    passing, passing_head = repository(tmp_path / "payments", "true")
    failing, failing_head = repository(tmp_path / "billing", "exit 3")
    monkeypatch.setenv("STEPLINE_SOURCES", f"example-org/payments={passing.path},example-org/billing={failing.path}")
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    started = LocalRuntime(tmp_path / ".stepline", environment={"STEPLINE_API_URL": "http://127.0.0.1:8080"})
    for name, repository_name in (("payments", "example-org/payments"), ("billing", "example-org/billing")):
        document = watching(name, provider="CodeStarSourceConnection", repository=repository_name, branch="main")
        started.apply(valid_pipeline(document, f"{name}.json").pipeline, report_status=True)
    started.apply(
        valid_pipeline(
            watching("quiet", provider="CodeStarSourceConnection", repository="example-org/payments", branch="main"),
            "quiet.json",
        ).pipeline
    )  # not opted in: it runs, and reports nothing
    started.start_worker()
    yield started, {"example-org/payments": passing_head, "example-org/billing": failing_head}
    started.close()


def test_pending_then_the_result_reach_the_commit_exactly_once(
    runtime: tuple[LocalRuntime, dict[str, str]], api: FakeStatusApi
) -> None:
    local, heads = runtime
    # When GitHub delivers a push to each repository
    for repository_name, head in heads.items():
        answer = handle(push(repository_name, head), None)
        assert answer["statusCode"] == 202, answer["body"]
    # Then the fake API receives four statuses: pending and a result for each commit
    received = api.wait_for(4)
    by_commit = {
        head: [(status["state"], status["context"]) for status in received if status["sha"] == head]
        for head in heads.values()
    }
    assert by_commit[heads["example-org/payments"]] == [
        ("pending", "stepline/payments"),
        ("success", "stepline/payments"),
    ]
    assert by_commit[heads["example-org/billing"]] == [("pending", "stepline/billing"), ("failure", "stepline/billing")]
    # And each carries the token, and a link to the execution in the console
    assert {status["auth"] for status in received} == {f"Bearer {TOKEN}"}
    [success] = [status for status in received if status["state"] == "success"]
    [execution] = local.executions("payments")
    assert success["target_url"] == f"http://127.0.0.1:8080/pipelines/payments/executions/{execution['name']}"
    assert success["repo"] == "example-org/payments"
    # When the ends are told again (EventBridge delivers at least once), Then nothing more is posted
    for name in ("payments", "billing"):
        [ended] = local.executions(name)
        report_locally(status_change_event(dict(wiring.workflows().describe(ended["executionArn"]))))
    assert len(api.received) == 4
    # And the pipeline that did not opt in ran, and reported nothing
    deadline = time.monotonic() + 120
    while [e["status"] for e in local.executions("quiet")] == ["RUNNING"] and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for its end, not for a time
    assert [e["status"] for e in local.executions("quiet")] == ["SUCCEEDED"]
    assert {status["context"] for status in api.received} == {"stepline/payments", "stepline/billing"}
