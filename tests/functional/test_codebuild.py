"""Builds on AWS: tokens in DynamoDB under moto; CodeBuild and Step Functions through botocore's
Stubber (moto runs no builds), answered with events in EventBridge's documented format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from stepline.actions.build.codebuild import BuildStateChange, finish_codebuild, start_codebuild
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.codebuild import CodeBuildService
from stepline.adapters.aws.stepfunctions import StepFunctionsCallbacks
from stepline.adapters.aws.tokens import DynamoTaskTokens
from tests.helpers import load_event

pytestmark = pytest.mark.functional

BUCKET = "stepline-artifacts-111122223333"
BUILD_ID = "FriendRemindersBuild:8745a7a9-c340-456a-9166-edf953571bEX"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAbXOzv1ufy7wIdAtfGpTOqO3ExampleToken"


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoTaskTokens]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="stepline-task-tokens",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoTaskTokens(client, "stepline-task-tokens")


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_a_build_starts_with_the_artifacts_and_variables_and_remembers_its_token(tokens: DynamoTaskTokens) -> None:
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
    with stub:
        assert start_codebuild(request, CodeBuildService(client), tokens, BUCKET) == BUILD_ID
    assert tokens.claim(BUILD_ID) == {
        "taskToken": TOKEN,
        "action": "Build.Build",
        "artifacts": {
            "BuildArtifact": {"type": "S3", "location": f"s3://{BUCKET}/FriendReminders/manual-1/BuildArtifact.zip"}
        },
        "variables": None,
    }


def test_a_commands_action_runs_on_the_shared_project_with_its_own_buildspec(tokens: DynamoTaskTokens) -> None:
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

    start_codebuild(
        ActionRequest.model_validate(event), Recording(client), tokens, BUCKET, commands_project="stepline-commands"
    )
    assert captured["projectName"] == "stepline-commands"
    assert json.loads(captured["buildspecOverride"]) == {
        "version": 0.2,
        "phases": {"build": {"commands": ["make test", "export VERSION=1.2"]}},
        "env": {"exported-variables": ["VERSION"]},
        "artifacts": {"files": ["dist/**/*"]},
    }


def remember(tokens: DynamoTaskTokens, variables: list[str] | None = None) -> None:
    tokens.remember(
        BUILD_ID,
        {
            "taskToken": TOKEN,
            "action": "Build.Build",
            "artifacts": {
                "BuildArtifact": {"type": "S3", "location": f"s3://{BUCKET}/FriendReminders/manual-1/BuildArtifact.zip"}
            },
            "variables": variables,
        },
    )


def test_a_succeeded_build_answers_its_task_once(tokens: DynamoTaskTokens) -> None:
    remember(tokens)
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
        assert finish_codebuild(event, CodeBuildService(builds), tokens, StepFunctionsCallbacks(sfn)).startswith(
            "succeeded"
        )
        # EventBridge delivers at least once: the same event again answers nothing
        again = finish_codebuild(event, CodeBuildService(builds), tokens, StepFunctionsCallbacks(sfn))
    assert again.startswith("ignored: no task waits for build")
    sfn_stub.assert_no_pending_responses()


def test_a_failed_build_fails_its_task_naming_phase_context_and_logs(tokens: DynamoTaskTokens) -> None:
    remember(tokens)
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
            BuildStateChange.model_validate(event), CodeBuildService(builds), tokens, StepFunctionsCallbacks(sfn)
        )
    sfn_stub.assert_no_pending_responses()


def test_unfinished_and_foreign_builds_are_ignored(tokens: DynamoTaskTokens) -> None:
    builds, _ = stubbed("codebuild")
    sfn, _ = stubbed("stepfunctions")
    in_progress = BuildStateChange.model_validate(load_event("callbacks/codebuild-in-progress.json"))
    assert finish_codebuild(in_progress, CodeBuildService(builds), tokens, StepFunctionsCallbacks(sfn)).startswith(
        "ignored: build"
    )
    foreign = BuildStateChange.model_validate(load_event("callbacks/codebuild-failed.json"))
    assert "no task waits" in finish_codebuild(foreign, CodeBuildService(builds), tokens, StepFunctionsCallbacks(sfn))


def test_a_task_no_longer_waiting_is_not_an_error() -> None:
    sfn, stub = stubbed("stepfunctions")
    stub.add_client_error("send_task_success", service_error_code="TaskTimedOut", service_message="Task Timed Out")
    with stub:
        StepFunctionsCallbacks(sfn).succeed(TOKEN, {"artifacts": {}, "variables": {}})
    stub.assert_no_pending_responses()
