"""The Lambda handlers, driven with the sample events in events/ (the ones `sam local invoke -e` uses)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stepline import wiring
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.errors import ConfigurationError
from stepline.ports.waiters import Waiter
from stepline.settings import LocalSettings
from tests.gitrepo import Repo
from tests.handlers import load_handler
from tests.helpers import load_event
from tests.moto_env import aws_environment, create_table, moto_aws

pytestmark = pytest.mark.functional


@pytest.fixture(autouse=True)
def fresh_wiring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A Lambda function's environment, unless a test says otherwise
    aws_environment(monkeypatch)
    yield
    wiring.reset()


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    monkeypatch.setenv("STEPLINE_BASE", str(tmp_path))
    repo = Repo(tmp_path / ".stepline" / "demo" / "sample-app")
    repo.commit(
        "Sample app",
        {
            "app.py": "print('hi')\n",
            "buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: ['echo $RELEASE_COMMIT > commit.txt']\nartifacts:\n  files: [commit.txt, app.py]\n",
        },
    )
    return repo


def waiting(dynamodb: Any, kind: Any, ref: str, work: dict[str, str], token: str, action: str) -> None:
    """A waiter registered and its work attached, as the action that started the work leaves it."""
    waiters = DynamoWaiters(dynamodb, "stepline-task-tokens")
    waiters.register(Waiter(key=f"{kind}#test", kind=kind, token=token, action=action), now=1.0)
    waiters.attach(f"{kind}#test", ref, work)


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, Mapping[str, object]]] = []

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.answers.append((token, output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.append((token, {"error": error, "cause": cause}))


def test_the_source_and_build_handlers_run_locally(local: Repo) -> None:
    # Given the sample push event, unchanged (its repository path is where the fixture made one)
    event = load_event("source/git-push.json")
    event["trigger"] = {}
    source = load_handler("source").lambda_handler(event, None)
    commit = local.git("rev-parse", "HEAD").strip()
    assert source["variables"]["CommitId"] == commit
    # When the build handler gets the sample build event with that source
    build_event = load_event("build/codebuild-local.json")
    build_event["artifacts"] = source["artifacts"]
    build_event["variables"]["SourceVariables"] = source["variables"]
    callbacks = Recorded()
    wiring.install_local_callbacks(callbacks)
    assert load_handler("build").lambda_handler(build_event, None) == {"status": "SUCCEEDED"}
    # Then its task token is answered with the packaged output
    [(token, output)] = callbacks.answers
    assert token == build_event["taskToken"]
    artifacts = output["artifacts"]
    assert isinstance(artifacts, dict)
    assert set(artifacts) == {"Package"}


def test_a_malformed_event_is_named_not_a_traceback(local: Repo) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_handler("source").lambda_handler({"pipeline": "x"}, None)
    assert "the event is not a ActionRequest: stage: Field required" in str(caught.value)


def test_the_build_handler_locally_needs_the_local_engine(local: Repo) -> None:
    event = load_event("source/git-push.json")
    event["trigger"] = {}
    source = load_handler("source").lambda_handler(event, None)
    build_event = load_event("build/codebuild-local.json")
    build_event["artifacts"] = source["artifacts"]
    with pytest.raises(ConfigurationError, match="run the pipeline with stepline run or serve"):
        load_handler("build").lambda_handler(build_event, None)


def test_the_callbacks_handler_answers_a_finished_build_on_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_aws(monkeypatch):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, "TaskTokensTable", "stepline-task-tokens")
        build_id = "FriendRemindersBuild:8745a7a9-c340-456a-9166-edf953571bEX"
        waiting(dynamodb, "build", f"build#{build_id}", {"id": build_id}, "token-1", "Build.Build")
        codebuild = boto3.client("codebuild", region_name="us-east-1")
        stepfunctions = boto3.client("stepfunctions", region_name="us-east-1")
        clients: dict[str, Any] = {"dynamodb": dynamodb, "codebuild": codebuild, "stepfunctions": stepfunctions}
        monkeypatch.setattr(wiring, "client", clients.__getitem__)
        # moto runs no builds: CodeBuild and Step Functions answer through the Stubber
        with Stubber(codebuild) as builds, Stubber(stepfunctions) as states:
            builds.add_response("batch_get_builds", {"builds": [{"id": build_id}]}, {"ids": [build_id]})
            states.add_response(
                "send_task_success",
                {},
                {"taskToken": "token-1", "output": json.dumps({"artifacts": {}, "variables": {}})},
            )
            answer = load_handler("callbacks").lambda_handler(load_event("callbacks/codebuild-succeeded.json"), None)
            states.assert_no_pending_responses()
    assert answer == {"outcome": "succeeded: Build.Build"}


def test_the_build_handler_starts_codebuild_on_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_aws(monkeypatch, {"ARTIFACT_BUCKET": "stepline-artifacts-111122223333"}):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, "TaskTokensTable", "stepline-task-tokens")
        codebuild = boto3.client("codebuild", region_name="us-east-1")
        stepfunctions = boto3.client("stepfunctions", region_name="us-east-1")
        clients = {"dynamodb": dynamodb, "codebuild": codebuild, "stepfunctions": stepfunctions}
        monkeypatch.setattr(wiring, "client", clients.__getitem__)
        with Stubber(codebuild) as builds:  # moto runs no builds
            builds.add_response("start_build", {"build": {"id": "FriendRemindersBuild:b1"}})
            answer = load_handler("build").lambda_handler(load_event("build/codebuild-aws.json"), None)
        assert answer == {"buildId": "FriendRemindersBuild:b1"}
        found = DynamoWaiters(dynamodb, "stepline-task-tokens").find("build#FriendRemindersBuild:b1")
        assert found is not None
        assert (found.state, found.action) == ("WAITING", "Build.Build")


def test_local_sources_come_from_a_file_and_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sources.json").write_text(json.dumps({"FriendReminders": "repos/reminders", "Other": "repos/other"}))
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")  # repositories are mapped on one machine only
    monkeypatch.setenv("STEPLINE_SOURCES_FILE", str(tmp_path / "sources.json"))
    monkeypatch.setenv("STEPLINE_SOURCES", "Other=elsewhere")
    current = wiring.settings()
    assert isinstance(current, LocalSettings)
    assert current.sources == {"FriendReminders": "repos/reminders", "Other": "elsewhere"}
    wiring.reset()
    (tmp_path / "sources.json").write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match="must be a JSON object of name → path"):
        wiring.settings()


def test_the_callbacks_handler_routes_ecs_events_and_refuses_others(monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_aws(monkeypatch):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, "TaskTokensTable", "stepline-task-tokens")
        ecs = boto3.client("ecs", region_name="us-east-1")
        monkeypatch.setattr(wiring, "client", {"dynamodb": dynamodb, "ecs": ecs}.__getitem__)
        callbacks = Recorded()
        monkeypatch.setattr(wiring, "task_callbacks", lambda: callbacks)
        handler = load_handler("callbacks").lambda_handler
        deployment = "ecs-svc/4982135427151813286"
        revision = "arn:aws:ecs:us-east-1:111122223333:task-definition/remindersmgt:8"
        work = {"cluster": "c", "service": "s", "deployment": deployment, "taskDefinitionArn": revision}
        waiting(dynamodb, "ecs", f"ecs#{deployment}", work, "t-ecs", "Deploy.Deploy")
        answer = handler(load_event("callbacks/ecs-deployment-completed.json"), None)
    assert answer["outcome"] == "succeeded: Deploy.Deploy"
    assert callbacks.answers == [
        ("t-ecs", {"artifacts": {}, "variables": {"TaskDefinitionArn": revision, "DeploymentId": deployment}})
    ]
    with pytest.raises(ConfigurationError, match="not 'Object Created'"):
        handler({"detail-type": "Object Created", "detail": {}}, None)


def test_the_invoke_handler_calls_a_local_function_and_starts_a_local_state_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    (tmp_path / "announcer.py").write_text(
        "def handler(event, context):\n    return {'outputVariables': {'Sent': 'yes'}}\n"
    )
    monkeypatch.setenv("STEPLINE_FUNCTIONS", f"payments-release-announcer={tmp_path / 'announcer.py'}:handler")
    handler = load_handler("invoke").lambda_handler
    assert handler(load_event("invoke/announce.json"), None)["variables"] == {"Sent": "yes"}
    from stepline.adapters.local.workflows import EngineWorkflows
    from stepline.engine import Engine, ManualClock

    engine = Engine(clock=ManualClock())
    machine = engine.create_state_machine(
        "payments-smoke-tests", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    wiring.install_local_workflows(EngineWorkflows(engine))
    wiring.install_local_callbacks(Recorded())  # as the local runtime does
    event = load_event("invoke/step-functions.json")
    event["action"]["configuration"]["StateMachineArn"] = machine["stateMachineArn"]
    started = handler(event, None)
    assert started["executionArn"].endswith(":release-push-3e9ecf5")
