"""Builds on AWS: waiters in DynamoDB under moto; CodeBuild and Step Functions through botocore's
Stubber (moto runs no builds), answered with events in EventBridge's documented format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from stepline.actions.build.codebuild import BuildStateChange, build_work, finish_codebuild, start_codebuild
from stepline.actions.completions import attach, register, sweep, waiter_key
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.codebuild import CodeBuildService
from stepline.adapters.aws.stepfunctions import StepFunctionsCallbacks
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.ports.waiters import Waiter
from tests.helpers import load_event
from tests.moto_env import create_table, moto_aws

pytestmark = pytest.mark.functional

BUCKET = "stepline-artifacts-111122223333"
BUILD_ID = "FriendRemindersBuild:8745a7a9-c340-456a-9166-edf953571bEX"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAbXOzv1ufy7wIdAtfGpTOqO3ExampleToken"


@pytest.fixture
def waiters(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoWaiters]:
    with moto_aws(monkeypatch):
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "TaskTokensTable", "stepline-task-tokens")
        yield DynamoWaiters(client, "stepline-task-tokens")


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_a_build_starts_with_the_artifacts_and_variables_after_its_waiter_is_stored(waiters: DynamoWaiters) -> None:
    client, stub = stubbed("codebuild")
    request = ActionRequest.model_validate(load_event("build/codebuild-aws.json"))
    expected = {
        "projectName": "FriendRemindersBuild",
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": f"{BUCKET}/FriendReminders/manual-1/SourceArtifact.zip",
        "environmentVariablesOverride": [
            {"name": "COMMIT_ID", "value": "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a", "type": "PLAINTEXT"}
        ],
        "idempotencyToken": ANY,
        "artifactsOverride": {
            "type": "S3",
            "location": BUCKET,
            "path": "FriendReminders/manual-1",
            "name": "BuildArtifact.zip",
            "packaging": "ZIP",
            "namespaceType": "NONE",
            "overrideArtifactName": False,
        },
    }
    stub.add_response(
        "start_build",
        {"build": {"id": BUILD_ID, "arn": f"arn:aws:codebuild:us-east-1:111122223333:build/{BUILD_ID}"}},
        expected,
    )
    sfn, _ = stubbed("stepfunctions")
    with stub:
        assert (
            start_codebuild(request, CodeBuildService(client), waiters, StepFunctionsCallbacks(sfn), BUCKET, 1.0)
            == BUILD_ID
        )
    found = waiters.find(f"build#{BUILD_ID}")
    assert found is not None
    assert (found.token, found.action, found.state, found.work) == (TOKEN, "Build.Build", "WAITING", {"id": BUILD_ID})
    assert found.context == {
        "artifacts": {
            "BuildArtifact": {"type": "S3", "location": f"s3://{BUCKET}/FriendReminders/manual-1/BuildArtifact.zip"}
        },
        "variables": None,
    }


def test_a_commands_action_runs_on_the_shared_project_with_its_own_buildspec(waiters: DynamoWaiters) -> None:
    client, _ = stubbed("codebuild")
    event = load_event("build/codebuild-aws.json")
    event["action"].update(
        actionTypeId={"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        configuration={},
        commands=["make test", "export VERSION=1.2"],
        outputVariables=["VERSION"],
        outputArtifacts=[{"name": "BuildArtifact", "files": ["dist/**/*"]}],
    )
    captured: dict[str, Any] = {}

    class Recording(CodeBuildService):
        def start(self, parameters: Any) -> str:
            captured.update(parameters)
            return BUILD_ID

    sfn, _ = stubbed("stepfunctions")
    start_codebuild(
        ActionRequest.model_validate(event),
        Recording(client),
        waiters,
        StepFunctionsCallbacks(sfn),
        BUCKET,
        1.0,
        commands_project="stepline-commands",
    )
    assert captured["projectName"] == "stepline-commands"
    assert json.loads(captured["buildspecOverride"]) == {
        "version": 0.2,
        "phases": {"build": {"commands": ["make test", "export VERSION=1.2"]}},
        "env": {"exported-variables": ["VERSION"]},
        "artifacts": {"files": ["dist/**/*"]},
    }


def remember(waiters: DynamoWaiters, variables: list[str] | None = None, sfn: Any = None) -> Waiter:
    """A waiter for BUILD_ID, as start_codebuild leaves it."""
    waiter = register(
        waiters,
        Waiter(
            key=waiter_key("build", "exec-1", "Build.Build"),
            kind="build",
            token=TOKEN,
            action="Build.Build",
            context={
                "artifacts": {
                    "BuildArtifact": {
                        "type": "S3",
                        "location": f"s3://{BUCKET}/FriendReminders/manual-1/BuildArtifact.zip",
                    }
                },
                "variables": variables,
            },
        ),
        now=1.0,
    )
    builds, _ = stubbed("codebuild")
    sfn = sfn or stubbed("stepfunctions")[0]
    attach(
        waiters,
        waiter,
        f"build#{BUILD_ID}",
        {"id": BUILD_ID},
        build_work(CodeBuildService(builds)),
        StepFunctionsCallbacks(sfn),
    )
    return waiter


def test_a_succeeded_build_answers_its_task_once(waiters: DynamoWaiters) -> None:
    remember(waiters)
    builds, build_stub = stubbed("codebuild")
    sfn, sfn_stub = stubbed("stepfunctions")
    build_stub.add_response(
        "batch_get_builds",
        {
            "builds": [
                {
                    "id": BUILD_ID,
                    "exportedEnvironmentVariables": [
                        {"name": "IMAGE_URI", "value": "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:3e9ecf5"}
                    ],
                }
            ]
        },
        {"ids": [BUILD_ID]},
    )
    output = {
        "artifacts": {
            "BuildArtifact": {"type": "S3", "location": f"s3://{BUCKET}/FriendReminders/manual-1/BuildArtifact.zip"}
        },
        "variables": {"IMAGE_URI": "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:3e9ecf5"},
    }
    sfn_stub.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": json.dumps(output)})
    event = BuildStateChange.model_validate(load_event("callbacks/codebuild-succeeded.json"))
    with build_stub, sfn_stub:
        assert finish_codebuild(event, CodeBuildService(builds), waiters, StepFunctionsCallbacks(sfn)).startswith(
            "succeeded"
        )
        # EventBridge delivers at least once: the same event again answers nothing
        again = finish_codebuild(event, CodeBuildService(builds), waiters, StepFunctionsCallbacks(sfn))
    assert again == "ignored: Build.Build was answered already"
    sfn_stub.assert_no_pending_responses()


def test_a_failed_build_fails_its_task_naming_phase_context_and_logs(waiters: DynamoWaiters) -> None:
    remember(waiters)
    sfn, sfn_stub = stubbed("stepfunctions")
    event = load_event("callbacks/codebuild-failed.json")
    cause = (
        "phase BUILD FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: docker build -t $REPOSITORY_URI:latest .. "
        "Reason: exit status 1 (logs: " + event["detail"]["additional-information"]["logs"]["deep-link"] + ")"
    )
    sfn_stub.add_response("send_task_failure", {}, {"taskToken": TOKEN, "error": "BuildFailed", "cause": cause})
    builds, _ = stubbed("codebuild")
    with sfn_stub:
        finish_codebuild(
            BuildStateChange.model_validate(event), CodeBuildService(builds), waiters, StepFunctionsCallbacks(sfn)
        )
    sfn_stub.assert_no_pending_responses()


def test_unfinished_builds_are_ignored_and_an_unclaimed_end_is_kept_for_its_waiter(waiters: DynamoWaiters) -> None:
    builds, _ = stubbed("codebuild")
    sfn, sfn_stub = stubbed("stepfunctions")
    in_progress = BuildStateChange.model_validate(load_event("callbacks/codebuild-in-progress.json"))
    assert finish_codebuild(in_progress, CodeBuildService(builds), waiters, StepFunctionsCallbacks(sfn)).startswith(
        "ignored: build"
    )
    # A failed build nobody waits for yet: kept (a foreign build's end simply expires)
    early = BuildStateChange.model_validate(load_event("callbacks/codebuild-failed.json"))
    assert finish_codebuild(early, CodeBuildService(builds), waiters, StepFunctionsCallbacks(sfn)).startswith("kept:")
    # When the action that started it attaches it, Then its task fails then and there
    sfn_stub.add_response("send_task_failure", {}, {"taskToken": TOKEN, "error": "BuildFailed", "cause": ANY})
    with sfn_stub:
        remember(waiters, sfn=sfn)
    sfn_stub.assert_no_pending_responses()


def test_the_sweeper_reads_a_finished_build_from_batch_get_builds(waiters: DynamoWaiters) -> None:
    # Given a waiting build whose end event never came, now finished as BatchGetBuilds says
    remember(waiters, variables=["IMAGE_URI"])
    builds, build_stub = stubbed("codebuild")
    sfn, sfn_stub = stubbed("stepfunctions")
    build_stub.add_response(
        "batch_get_builds",
        {
            "builds": [
                {
                    "id": BUILD_ID,
                    "buildStatus": "FAILED",
                    "phases": [
                        {"phaseType": "INSTALL", "phaseStatus": "SUCCEEDED"},
                        {
                            "phaseType": "BUILD",
                            "phaseStatus": "FAILED",
                            "contexts": [{"statusCode": "COMMAND_EXECUTION_ERROR", "message": "make test: exit 2"}],
                        },
                    ],
                    "logs": {"deepLink": "https://console.aws.amazon.com/cloudwatch/home#logs"},
                }
            ]
        },
        {"ids": [BUILD_ID]},
    )
    cause = "phase BUILD FAILED: COMMAND_EXECUTION_ERROR: make test: exit 2 (logs: https://console.aws.amazon.com/cloudwatch/home#logs)"
    sfn_stub.add_response("send_task_failure", {}, {"taskToken": TOKEN, "error": "BuildFailed", "cause": cause})
    # When the sweeper runs five minutes later, Then the task fails as the event would have failed it
    with build_stub, sfn_stub:
        outcomes = sweep(
            waiters, {"build": build_work(CodeBuildService(builds))}, StepFunctionsCallbacks(sfn), 302.0, 300
        )
    assert outcomes == [f"failed: Build.Build: BuildFailed: {cause}"]
    sfn_stub.assert_no_pending_responses()


def test_a_task_no_longer_waiting_is_not_an_error() -> None:
    sfn, stub = stubbed("stepfunctions")
    stub.add_client_error("send_task_success", service_error_code="TaskTimedOut", service_message="Task Timed Out")
    with stub:
        StepFunctionsCallbacks(sfn).succeed(TOKEN, {"artifacts": {}, "variables": {}})
    stub.assert_no_pending_responses()
