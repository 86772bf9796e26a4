"""A whole pipeline with a manual approval on the embedded engine, decided through the local
HTTP adapter on loopback: real SQLite approvals, a real HTTP server, the real handlers."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stepline import cli, wiring
from stepline.adapters.local.engine import EngineCallbacks
from stepline.api.app import handle
from stepline.api.client import decide_through_link
from stepline.api.wsgi import LocalApi
from stepline.compiler import compile_checked, substitute
from stepline.definition import parse_pipeline
from stepline.engine import Engine, Functions, ManualClock
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
        {
            "SourceFunctionArn": stub_source,
            "ApprovalFunctionArn": load_handler("approval").lambda_handler,
            "StageGateFunctionArn": load_handler("gate").lambda_handler,
        }
    )
    wiring.install_local_callbacks(EngineCallbacks(engine))
    wiring.api_token()  # made when the server starts, as stepline serve does
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
    # The link names the configured API URL; this server's port differs.
    return decide_through_link(api.url + link.split("127.0.0.1:8080", 1)[1], decision == "approve", comment, "Ada")


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


def test_an_approval_nobody_decides_expires_and_its_link_then_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a pipeline waiting on an approval, on an engine whose clock only moves when told
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    wiring.reset()
    clock = ManualClock()
    engine = Engine(clock=clock)
    wiring.install_clock(clock.now)
    try:
        engine.functions = Functions(
            {
                "SourceFunctionArn": stub_source,
                "ApprovalFunctionArn": load_handler("approval").lambda_handler,
                "StageGateFunctionArn": load_handler("gate").lambda_handler,
            }
        )
        wiring.install_local_callbacks(EngineCallbacks(engine))
        compiled = compile_checked(parse_pipeline(yaml.safe_load(PIPELINE), "release.yaml").pipeline)
        machine = engine.create_state_machine(
            "release", substitute(compiled.definition, {p: p for p in compiled.placeholders})
        )["stateMachineArn"]
        execution = engine.start_execution(machine, "nobody-decides", "{}")["executionArn"]
        engine.run(until=engine.awaiting_outside)
        link = review_link(capfd)
        # When the default seven days pass without a decision
        clock.advance(7 * 24 * 3600 + 1)
        finished = engine.run_until_done(execution, timeout=30)
        # Then the pipeline fails, and the failure says the approval expired
        assert finished["status"] == "FAILED"
        assert '"error":"ApprovalExpired"' in finished["cause"], finished["cause"]
        assert "nobody approved or rejected it within 10080 minutes" in finished["cause"]
        # And the link, opened afterwards, says it has expired and decides nothing
        with LocalApi(handle) as api:
            status, page = decide_over_http(api, link, "approve", "late")
        assert status == 410
        assert "expired" in page
    finally:
        engine.close()
        wiring.reset()


def test_the_cli_approves_what_an_execution_waits_on(engine: Engine, capfd: pytest.CaptureFixture[str]) -> None:
    # Given a pipeline waiting on an approval, and the local API on loopback
    execution, runner, finished = start(engine, "cli-approve")
    review_link(capfd)
    with LocalApi(handle) as api:
        # When the CLI lists what waits, then approves it with a comment
        assert cli.main(["approvals", "--url", api.url]) == 0
        assert "cli-approve  Release Approve  (release-with-approval" in capfd.readouterr().out
        code = cli.main(
            [
                "approve",
                "cli-approve",
                "Release",
                "Approve",
                "--comment",
                "tests pass",
                "--reviewer",
                "Grace",
                "--url",
                api.url,
            ]
        )
        # Then it reports the decision and the pipeline completes
        assert code == 0
        assert "approved: release-with-approval Release/Approve in cli-approve by Grace" in capfd.readouterr().out
        runner.join(30)
        assert finished["status"] == "SUCCEEDED", finished.get("cause")
        assert wiring.approvals().pending() == []
        # And deciding again is refused with the API's reason, exit 1
        assert cli.main(["reject", "cli-approve", "Release", "Approve", "--url", api.url]) == 1
        assert "nothing waits for approval at Release/Approve in cli-approve [HTTP 404]" in capfd.readouterr().err
    assert engine.describe_execution(execution)["status"] == "SUCCEEDED"


def test_the_cli_rejects_with_the_comment_as_the_cause(engine: Engine, capfd: pytest.CaptureFixture[str]) -> None:
    _, runner, finished = start(engine, "cli-reject")
    review_link(capfd)
    with LocalApi(handle) as api:
        code = cli.main(
            [
                "reject",
                "cli-reject",
                "Release",
                "Approve",
                "--comment",
                "freeze week",
                "--reviewer",
                "Ada",
                "--url",
                api.url,
            ]
        )
    assert code == 0
    runner.join(30)
    assert finished["status"] == "FAILED"
    assert "rejected by Ada: freeze week" in finished["cause"]


def test_the_cli_names_what_is_wrong_and_changes_nothing(
    engine: Engine, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pipeline waiting on an approval
    execution, runner, _ = start(engine, "cli-wrong")
    review_link(capfd)
    with LocalApi(handle) as api:
        # When the stage is misspelt, Then the API says nothing waits there
        assert cli.main(["approve", "cli-wrong", "Relase", "Approve", "--url", api.url]) == 1
        assert "nothing waits for approval at Relase/Approve in cli-wrong" in capfd.readouterr().err
        # When the token is wrong, Then the API refuses it and the CLI says what to check
        monkeypatch.setenv("STEPLINE_API_TOKEN", "forged")
        assert cli.main(["approve", "cli-wrong", "Release", "Approve", "--url", api.url]) == 1
        refusal = capfd.readouterr().err
        assert "[HTTP 401]" in refusal
        assert "STEPLINE_API_TOKEN" in refusal
        assert "Traceback" not in refusal
        monkeypatch.delenv("STEPLINE_API_TOKEN")
        # Then the approval still waits
        assert [a.execution_name for a in wiring.approvals().pending()] == ["cli-wrong"]
        unused_port = api.url.rsplit(":", 1)[1]
    # When nothing listens at the URL, Then the CLI says so in one line
    assert cli.main(["approvals", "--url", f"http://127.0.0.1:{unused_port}"]) == 1
    unreachable = capfd.readouterr().err
    assert "cannot reach the Stepline API at http://127.0.0.1:" in unreachable
    assert "stepline serve" in unreachable
    assert "Traceback" not in unreachable
    assert engine.describe_execution(execution)["status"] == "RUNNING"
    engine.stop_execution(execution)
    runner.join(30)
