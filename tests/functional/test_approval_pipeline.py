"""A whole pipeline with a manual approval on the embedded engine, decided through the local
HTTP adapter on loopback: real SQLite approvals, a real HTTP server, the real handlers."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from stepline import wiring
from stepline.adapters.local.engine import EngineCallbacks
from stepline.api.app import handle
from stepline.api.wsgi import LocalApi
from stepline.compiler import compile_checked, substitute
from stepline.definition import parse_pipeline
from stepline.engine import Engine, Functions
from tests.handlers import load_handler

pytestmark = pytest.mark.functional

PIPELINE = """
pipeline:
  name: release-with-approval
  stages:
    - name: Source
      actions:
        - name: Source
          actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
          configuration: {RepositoryName: app, BranchName: main}
          outputArtifacts: [{name: SourceOutput}]
          namespace: SourceVariables
    - name: Release
      actions:
        - name: Approve
          actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
          configuration: {CustomData: "Ship #{SourceVariables.CommitId}?"}
"""


def stub_source(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The source action is not under test here (tests/functional/test_handlers.py runs it).
    return {
        "artifacts": {"SourceOutput": {"type": "Local", "location": "file:///dev/null"}},
        "variables": {"CommitId": "3f2a9c1"},
    }


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Iterator[Engine]:
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    wiring.reset()
    engine = Engine()
    engine.functions = Functions(
        {"SourceFunctionArn": stub_source, "ApprovalFunctionArn": load_handler("approval").lambda_handler}
    )
    wiring.install_local_callbacks(EngineCallbacks(engine))
    yield engine
    engine.close()
    wiring.reset()


def start(engine: Engine, name: str) -> tuple[str, threading.Thread, dict[str, Any]]:
    compiled = compile_checked(parse_pipeline(yaml.safe_load(PIPELINE), "release.yaml").pipeline)
    machine = engine.create_state_machine(
        "release", substitute(compiled.definition, {p: p for p in compiled.placeholders})
    )["stateMachineArn"]
    execution = engine.start_execution(machine, name, "{}")["executionArn"]
    finished: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: finished.update(engine.run_until_done(execution, timeout=30)))
    runner.start()
    return execution, runner, finished


def review_link(capfd: pytest.CaptureFixture[str]) -> str:
    for _ in range(200):
        found = re.findall(r"review: (\S+)", capfd.readouterr().err)
        if found:
            return str(found[0])
        threading.Event().wait(0.05)
    raise AssertionError("no approval notification was printed")


def decide_over_http(api: LocalApi, link: str, decision: str, comment: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    path = link.split("127.0.0.1:8080", 1)[1]  # the link names the configured API URL; this server's port differs
    try:
        with opener.open(api.url + path) as page:
            fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.read().decode()))
        body = urlencode(fields | {"decision": decision, "reviewer": "Ada", "comment": comment}).encode()
        with opener.open(urllib.request.Request(api.url + path.split("?")[0], data=body, method="POST")) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_an_approved_pipeline_completes(engine: Engine, capfd: pytest.CaptureFixture[str]) -> None:
    execution, runner, finished = start(engine, "approve-me")
    link = review_link(capfd)
    assert engine.describe_execution(execution)["status"] == "RUNNING"  # waiting on the person
    with LocalApi(handle) as api:
        status, page = decide_over_http(api, link, "approve", "ship it")
        assert status == 200, page
        runner.join(30)
        assert finished["status"] == "SUCCEEDED", finished.get("cause")
        # Then the link is spent
        assert decide_over_http(api, link, "reject", "too late")[0] == 409


def test_a_rejected_pipeline_fails_with_the_comment(engine: Engine, capfd: pytest.CaptureFixture[str]) -> None:
    _, runner, finished = start(engine, "reject-me")
    link = review_link(capfd)
    with LocalApi(handle) as api:
        assert decide_over_http(api, link, "reject", "not on a Friday")[0] == 200
    runner.join(30)
    assert finished["status"] == "FAILED"
    assert "rejected by Ada: not on a Friday" in finished["cause"], finished
