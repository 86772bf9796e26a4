"""Deploy/AWS/CodeDeploy and CodeDeployToECS under moto (CodeDeploy, ECS, DynamoDB), finished by
the sweeper's BatchGetDeployments.

moto records a deployment and never runs it (its status stays Created, and its
errorInformation is always empty): the tests set the status through moto's backend as
CodeDeploy reports a deployment's end, and the failure's reason is read from a
BatchGetDeployments answer in the API reference's shape through botocore's Stubber.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from moto import mock_aws
from moto.codedeploy.models import codedeploy_backends
from moto.core import DEFAULT_ACCOUNT_ID

from stepline.actions.completions import sweep
from stepline.actions.deploy.codedeploy import (
    DeploymentStateChange,
    deploy_with_codedeploy,
    deployment_work,
    finish_codedeploy,
)
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.codedeploy import CodeDeployService
from stepline.adapters.aws.ecs import EcsService
from stepline.adapters.aws.tokens import DynamoRecords
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import put_directory
from tests.helpers import load_event

pytestmark = pytest.mark.functional

IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/rails_app@sha256:" + "a" * 64
TASKDEF = {
    "family": "remindersmgt",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "executionRoleArn": "arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
    "containerDefinitions": [
        {"name": "rails", "image": "<IMAGE1_NAME>", "essential": True, "portMappings": [{"containerPort": 3000}]}
    ],
}
APPSPEC = """\
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo:
          ContainerName: rails
          ContainerPort: 3000
"""


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.answers.append(("succeed", token, output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.append(("fail", token, (error, cause)))


class World:
    def __init__(self, tmp: Path) -> None:
        self.codedeploy = boto3.client("codedeploy", region_name="us-east-1")
        self.ecs = boto3.client("ecs", region_name="us-east-1")
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="tokens",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.waiters, self.records = DynamoWaiters(dynamodb, "tokens"), DynamoRecords(dynamodb, "tokens")
        self.callbacks = Recorded()
        self.store = LocalArtifactStore(tmp / "artifacts")
        self.tmp = tmp
        role = "arn:aws:iam::111122223333:role/codedeploy"
        for application, group, platform in (
            ("AppECS-friendreminders-remindersmgt", "DgpECS-friendreminders-remindersmgt", "ECS"),
            ("reminders-web", "reminders-web-prod", "Server"),
        ):
            self.codedeploy.create_application(applicationName=application, computePlatform=platform)
            self.codedeploy.create_deployment_group(
                applicationName=application, deploymentGroupName=group, serviceRoleArn=role
            )

    def request(self, event: str, artifacts: Mapping[str, Mapping[str, str]], **configuration: str) -> ActionRequest:
        loaded: dict[str, Any] = copy.deepcopy(load_event(f"deploy_codedeploy/{event}"))
        loaded["action"]["configuration"].update(configuration)
        for name, files in artifacts.items():
            folder = self.tmp / f"{name}-{len(list(self.tmp.iterdir()))}"
            folder.mkdir()
            for path, text in files.items():
                (folder / path).write_text(text)
            loaded["artifacts"][name] = put_directory(self.store, "FriendReminders", "manual-1", name, folder)
        return ActionRequest.model_validate(loaded)

    def deploy(self, request: ActionRequest) -> dict[str, str]:
        return deploy_with_codedeploy(
            request,
            self.store,
            CodeDeployService(self.codedeploy),
            EcsService(self.ecs),
            self.waiters,
            self.records,
            self.callbacks,
            1.0,
        )

    def sweep(self) -> list[str]:
        kinds = {"codedeploy": deployment_work(CodeDeployService(self.codedeploy))}
        return sweep(self.waiters, kinds, self.callbacks, now=400.0, older_than=0)

    def finish(self, deployment: str, status: str) -> None:
        """As CodeDeploy reports the end (moto never moves a deployment on: set in its backend)."""
        codedeploy_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].deployments[deployment].status = status


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield World(tmp_path)


def blue_green_artifacts(taskdef: Mapping[str, Any] = TASKDEF, appspec: str = APPSPEC) -> dict[str, dict[str, str]]:
    return {
        "SourceArtifact": {"taskdef.json": json.dumps(taskdef), "appspec.yaml": appspec},
        "ImageArtifact": {"imageDetail.json": json.dumps({"ImageURI": IMAGE})},
    }


def test_blue_green_registers_the_filled_task_definition_and_deploys_its_appspec(world: World) -> None:
    # Given the templates of the sample blue/green action and the image a build produced
    request = world.request("ecs-blue-green.json", blue_green_artifacts())
    # When it runs
    work = world.deploy(request)
    # Then the task definition is registered with the image in place of <IMAGE1_NAME>
    [arn] = world.ecs.list_task_definitions(familyPrefix="remindersmgt")["taskDefinitionArns"]
    registered = world.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert registered["containerDefinitions"][0]["image"] == IMAGE
    # And the deployment's AppSpec names that task definition in place of <TASK_DEFINITION>
    deployment = world.codedeploy.get_deployment(deploymentId=work["deployment"])["deploymentInfo"]
    revision = deployment["revision"]
    assert revision["revisionType"] == "AppSpecContent"
    appspec = yaml.safe_load(revision["appSpecContent"]["content"])
    assert appspec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] == arn
    assert deployment["deploymentGroupName"] == "DgpECS-friendreminders-remindersmgt"
    # When CodeDeploy reports it Succeeded, Then the sweeper answers the task once
    assert world.sweep() == []
    world.finish(work["deployment"], "Succeeded")
    assert world.sweep() == ["succeeded: Deploy.BlueGreen"]
    assert world.callbacks.answers == [
        ("succeed", request.task_token, {"artifacts": {}, "variables": {"DeploymentId": work["deployment"]}})
    ]
    # And a retried attempt starts no second deployment
    assert world.deploy(request) == work


def test_an_ec2_deployment_sends_the_artifact_in_s3_as_the_revision(world: World) -> None:
    request = world.request("ec2.json", {})  # the sample event's artifact is in S3, as on AWS
    work = world.deploy(request)
    revision = world.codedeploy.get_deployment(deploymentId=work["deployment"])["deploymentInfo"]["revision"]
    assert revision == {
        "revisionType": "S3",
        "s3Location": {
            "bucket": "stepline-artifacts-111122223333",
            "key": "FriendReminders/manual-1/BuildArtifact.zip",
            "bundleType": "zip",
        },
    }
    world.finish(work["deployment"], "Stopped")
    assert world.sweep()[0].startswith("failed: Deploy.DeployToFleet: DeploymentFailed")


def test_an_ec2_deployment_of_a_local_artifact_says_codedeploy_reads_s3(world: World) -> None:
    request = world.request("ec2.json", {"BuildArtifact": {"appspec.yml": "version: 0.0\nos: linux\n"}})
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(request)
    assert "CodeDeploy reads its revision from S3, and artifact 'BuildArtifact' is on this machine" in str(caught.value)


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        (
            blue_green_artifacts(appspec="version: 0.0\n"),
            "appspec.yaml has no <TASK_DEFINITION> placeholder",
        ),
        (
            blue_green_artifacts({**TASKDEF, "containerDefinitions": [{"name": "rails", "image": "nginx"}]}),
            "taskdef.json has no <IMAGE1_NAME> placeholder for Image1",
        ),
        (
            {**blue_green_artifacts(), "ImageArtifact": {"imageDetail.json": '{"imageUri": "x"}'}},
            """imageDetail.json in 'ImageArtifact' must be {"ImageURI": "…"}""",
        ),
    ],
    ids=["appspec", "taskdef", "image-detail"],
)
def test_bad_templates_fail_naming_the_file_and_register_nothing(
    world: World, artifacts: dict[str, dict[str, str]], message: str
) -> None:
    with pytest.raises(ArtifactError) as caught:
        world.deploy(world.request("ecs-blue-green.json", artifacts))
    assert message in str(caught.value)
    assert world.ecs.list_task_definitions()["taskDefinitionArns"] == []


def test_a_failed_deployment_reports_codedeploys_error() -> None:
    # Stubber, not moto (moto leaves errorInformation empty): BatchGetDeployments as the API
    # reference shows a failed deployment
    client = boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    info = {
        "deploymentId": "d-EXAMPLE11",
        "status": "Failed",
        "errorInformation": {
            "code": "ECS_UPDATE_ERROR",
            "message": "The ECS service cannot be updated: the task definition's container port is not mapped",
        },
    }
    with Stubber(client) as stub:
        stub.add_response("batch_get_deployments", {"deploymentsInfo": [info]}, {"deploymentIds": ["d-EXAMPLE11"]})
        found = CodeDeployService(client).describe(["d-EXAMPLE11"])
    from stepline.actions.deploy.codedeploy import deployment_ended

    ended = deployment_ended("d-EXAMPLE11", found[0])
    assert ended is not None
    assert (ended.succeeded, ended.error) == (False, "DeploymentFailed")
    assert ended.cause == (
        "CodeDeploy deployment d-EXAMPLE11 Failed: ECS_UPDATE_ERROR: The ECS service cannot be updated: "
        "the task definition's container port is not mapped"
    )


def codedeploy_event(deployment: str, state: str) -> DeploymentStateChange:
    """EventBridge's "CodeDeploy Deployment State-change Notification", the sample's documented shape."""
    event = copy.deepcopy(load_event("callbacks/codedeploy-deployment-succeeded.json"))
    event["detail"].update({"deploymentId": deployment, "state": state})
    return DeploymentStateChange.model_validate(event)


def test_the_deployments_event_answers_at_once_and_an_early_one_is_kept(world: World) -> None:
    service = CodeDeployService(world.codedeploy)
    request = world.request("ecs-blue-green.json", blue_green_artifacts())
    work = world.deploy(request)
    # When CodeDeploy reports the deployment in progress, then succeeded, Then the task succeeds once
    assert finish_codedeploy(
        codedeploy_event(work["deployment"], "START"), service, world.waiters, world.callbacks
    ) == (f"ignored: deployment {work['deployment']} is START")
    event = codedeploy_event(work["deployment"], "SUCCESS")
    assert finish_codedeploy(event, service, world.waiters, world.callbacks) == "succeeded: Deploy.BlueGreen"
    assert finish_codedeploy(event, service, world.waiters, world.callbacks).startswith("ignored")
    # And an end that comes before any action attached its deployment is kept for it
    early = finish_codedeploy(codedeploy_event("d-NOTYETSEEN", "FAILURE"), service, world.waiters, world.callbacks)
    assert early.startswith("kept: nothing waits for codedeploy#d-NOTYETSEEN")
    assert len(world.callbacks.answers) == 1
