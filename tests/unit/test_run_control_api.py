"""Run control's JSON routes (api/control.py) on a real LocalRuntime, driven with API Gateway
proxy events as `stepline serve` and the AWS API function receive them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.adapters.local.events import LocalEventPublisher
from stepline.api.app import handle
from stepline.definition.models import PipelineDeclaration
from stepline.local.runtime import LocalRuntime
from tests.gitrepo import Repo
from tests.helpers import load_event
from tests.unit.test_run_control_events import DOCUMENTED, shape
from tests.unit.test_run_control_scenarios import release_pipeline


class Api:
    def __init__(self, tmp_path: Path) -> None:
        repo = Repo(tmp_path / "app")
        repo.commit("first", {"app.txt": "1"})
        self.runtime = LocalRuntime(tmp_path / ".stepline", workers=0)
        document = release_pipeline()
        document["stages"][0]["actions"][0]["configuration"]["RepositoryUrl"] = str(repo.path)
        self.entry = self.runtime.apply(PipelineDeclaration.model_validate(document))
        self.token = wiring.api_token()

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, dict[str, Any]]:
        event = load_event("api/cli-decision.json")
        event.update({"httpMethod": method, "path": path, "body": None if body is None else json.dumps(body)})
        event["requestContext"] = {**event["requestContext"], "path": path, "httpMethod": method}
        event["headers"] = {"Content-Type": "application/json", "Authorization": f"Bearer {token or self.token}"}
        event["multiValueHeaders"] = {}
        answer = handle(event, None)
        return answer["statusCode"], json.loads(answer["body"])


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.chdir(tmp_path)
    served = Api(tmp_path)
    yield served
    served.runtime.close()


def test_a_transition_is_disabled_and_enabled_through_the_api(api: Api) -> None:
    # Given a registered pipeline, When the transition into Deploy is disabled with a reason
    status, body = api.call(
        "POST", "/api/pipelines/release/stages/Deploy/disable-transition", {"reason": "audit until Friday"}
    )
    # Then it says so, and the pipeline's transitions read it back as GetPipelineState would
    assert status == 200
    assert body["inboundTransitionState"]["enabled"] is False
    assert body["inboundTransitionState"]["disabledReason"] == "audit until Friday"
    status, body = api.call("GET", "/api/pipelines/release/transitions")
    assert status == 200
    assert {s["stageName"]: s["inboundTransitionState"]["enabled"] for s in body["stageStates"]} == {
        "Approve": True,
        "Deploy": False,
    }
    # When it is enabled again, Then every transition is open
    assert api.call("POST", "/api/pipelines/release/stages/Deploy/enable-transition")[0] == 200
    _, body = api.call("GET", "/api/pipelines/release/transitions")
    assert all(s["inboundTransitionState"] == {"enabled": True} for s in body["stageStates"])


def test_an_execution_is_stopped_through_the_api(api: Api) -> None:
    # Given an execution waiting for approval
    arn = api.runtime.start("release")
    api.runtime.engine.run()
    name = arn.rsplit(":", 1)[-1]
    # When it is stopped and abandoned, Then it is Stopped at once
    status, body = api.call("POST", f"/api/pipelines/release/executions/{name}/stop", {"abandon": True})
    assert (status, body) == (202, {"pipelineExecutionId": name, "status": "Stopped"})
    assert api.runtime.run_of(arn, api.entry).status == "Stopped"
    # And stopping it again is a conflict that says why
    status, body = api.call("POST", f"/api/pipelines/release/executions/{name}/stop", {})
    assert status == 409
    assert "not in progress" in body["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("GET", "/api/pipelines/nope/transitions", None, 404, "no pipeline 'nope'"),
        ("POST", "/api/pipelines/release/stages/Nope/disable-transition", {"reason": "x"}, 404, "no stage 'Nope'"),
        ("POST", "/api/pipelines/release/stages/Source/disable-transition", {"reason": "x"}, 400, "first stage"),
        ("POST", "/api/pipelines/release/stages/Deploy/disable-transition", {}, 400, "reason"),
        ("POST", "/api/pipelines/release/stages/Deploy/disable-transition", {"reason": "x" * 301}, 400, "got 301"),
        ("POST", "/api/pipelines/release/executions/ghost/stop", {}, 404, "no execution 'ghost'"),
        ("POST", "/api/pipelines/release/executions/ghost/stop", {"abandon": "maybe"}, 400, "abandon"),
    ],
)
def test_bad_requests_name_what_is_wrong(
    api: Api, method: str, path: str, body: Any, status: int, message: str
) -> None:
    answered, answer = api.call(method, path, body)
    assert answered == status, answer
    assert message in answer["message"]


def test_the_levers_need_the_api_token(api: Api) -> None:
    status, _ = api.call("POST", "/api/pipelines/release/stages/Deploy/disable-transition", {"reason": "x"}, "forged")
    assert status == 401


def test_a_rollback_through_the_api_starts_a_rollback_execution_or_says_why_not(api: Api) -> None:
    # Given a V1 pipeline (no rollback there), When a rollback is asked, Then it is refused, saying why
    status, body = api.call("POST", "/api/pipelines/release/stages/Deploy/rollback", {"targetPipelineExecutionId": "x"})
    assert (status, "needs a V2 pipeline" in body["message"]) == (400, True)
    # And a request without its target names the field
    status, body = api.call("POST", "/api/pipelines/release/stages/Deploy/rollback", {})
    assert (status, "targetPipelineExecutionId" in body["message"]) == (400, True), body


def test_stop_and_wait_through_the_api_says_stopping_as_codepipeline_does(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an execution waiting for approval, and the events' subscriber
    posted: list[dict[str, Any]] = []
    publisher = LocalEventPublisher(
        ["https://chat.invalid/hook"], post=lambda url, body: posted.append(json.loads(body))
    )
    monkeypatch.setattr(wiring, "event_publisher", lambda: publisher)
    arn = api.runtime.start("release")
    api.runtime.engine.run()
    name = arn.rsplit(":", 1)[-1]
    # When it is stopped (and wait)
    status, body = api.call("POST", f"/api/pipelines/release/executions/{name}/stop", {"reason": "bad commit"})
    # Then it is Stopping, and the pipeline's STOPPING event went out in AWS's documented shape
    assert (status, body["status"]) == (202, "Stopping")
    stopping = [event for event in posted if event["detail"]["state"] == "STOPPING"]
    assert [event["detail"]["stop-execution-comments"] for event in stopping] == ["bad commit"]
    assert shape(stopping[0]) == shape(DOCUMENTED["pipeline-stopping"])
