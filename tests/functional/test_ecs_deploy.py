"""Deploy/AWS/ECS under moto (ECS, DynamoDB), finished by ECS deployment events in the documented shape.

moto keeps a service's deployment id when its task definition changes (ECS starts a new
PRIMARY deployment); the tests read the id the action reports rather than assume either.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepline.actions.deploy.ecs import DeploymentStateChange, deploy_ecs, finish_ecs_deployment
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.ecs import EcsService
from stepline.adapters.aws.tokens import DynamoRecords
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import put_directory
from tests.helpers import load_event
from tests.moto_env import moto_aws

pytestmark = pytest.mark.functional

CONTAINERS = [
    {
        "name": "rails",
        "image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/rails_app:v1",
        "cpu": 256,
        "memory": 512,
        "essential": True,
        "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
        "environment": [{"name": "RAILS_ENV", "value": "production"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/ecs/reminders", "awslogs-region": "us-east-1"},
        },
    },
    {
        "name": "envoy",
        "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27",
        "cpu": 64,
        "memory": 128,
        "essential": False,
    },
]


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.answers.append(("succeed", token, output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.append(("fail", token, (error, cause)))


class World:
    def __init__(self, tmp: Path) -> None:
        self.ecs = boto3.client("ecs", region_name="us-east-1")
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="tokens",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.waiters = DynamoWaiters(dynamodb, "tokens")
        self.callbacks = Recorded()
        self.records = DynamoRecords(dynamodb, "tokens")
        self.store = LocalArtifactStore(tmp / "artifacts")
        self.tmp = tmp
        self.ecs.create_cluster(clusterName="friendreminders")
        self.original = self.ecs.register_task_definition(
            family="remindersmgt",
            containerDefinitions=CONTAINERS,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="512",
            memory="1024",
            executionRoleArn="arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
            taskRoleArn="arn:aws:iam::111122223333:role/reminders-task",
            tags=[{"key": "team", "value": "reminders"}],
        )["taskDefinition"]
        self.ecs.create_service(
            cluster="friendreminders",
            serviceName="remindersmgt",
            taskDefinition=self.original["taskDefinitionArn"],
            desiredCount=2,
        )

    def request(self, files: Mapping[str, str], execution: str = "manual-1") -> ActionRequest:
        folder = self.tmp / f"build-{len(list(self.tmp.iterdir()))}"
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        event = copy.deepcopy(load_event("deploy_ecs/friend-reminders.json"))
        event["execution"]["id"] = event["execution"]["id"].replace("manual-1", execution)
        event["artifacts"]["BuildArtifact"] = put_directory(
            self.store, "FriendReminders", execution, "BuildArtifact", folder
        )
        return ActionRequest.model_validate(event)

    def deploy(self, request: ActionRequest) -> dict[str, str]:
        return deploy_ecs(request, self.store, EcsService(self.ecs), self.waiters, self.records, self.callbacks, 1.0)

    def finish(self, event: DeploymentStateChange) -> str:
        return finish_ecs_deployment(event, EcsService(self.ecs), self.waiters, self.callbacks)

    def revisions(self) -> list[str]:
        return list(self.ecs.list_task_definitions(familyPrefix="remindersmgt")["taskDefinitionArns"])


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with moto_aws(monkeypatch):
        yield World(tmp_path)


NEW_IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/rails_app:v1763785934"


def test_the_reference_deploy_stage_rewrites_only_the_image_and_updates_the_service(world: World) -> None:
    # Given the FriendReminders deploy action and the imagedefinitions.json its buildspec writes
    request = world.request({"imagedefinitions.json": f'[{{"name":"rails","imageUri":"{NEW_IMAGE}"}}]'})
    # When it deploys
    variables = world.deploy(request)
    # Then a new revision differs from the old only in the rails image, and the service runs it
    new = world.ecs.describe_task_definition(taskDefinition=variables["TaskDefinitionArn"], include=["TAGS"])
    old = world.original
    revision = new["taskDefinition"]
    assert revision["revision"] == old["revision"] + 1
    changing = ("taskDefinitionArn", "revision", "registeredAt", "containerDefinitions")
    assert {k: v for k, v in revision.items() if k not in changing} == {
        k: v for k, v in old.items() if k not in changing
    }
    assert revision["containerDefinitions"] == [
        {**old["containerDefinitions"][0], "image": NEW_IMAGE},
        old["containerDefinitions"][1],
    ]
    assert new["tags"] == [{"key": "team", "value": "reminders"}]
    service = world.ecs.describe_services(cluster="friendreminders", services=["remindersmgt"])["services"][0]
    assert service["taskDefinition"] == variables["TaskDefinitionArn"]
    assert variables["DeploymentId"].startswith("ecs-svc/")


def test_a_retried_attempt_registers_no_second_revision(world: World) -> None:
    request = world.request({"imagedefinitions.json": f'[{{"name":"rails","imageUri":"{NEW_IMAGE}"}}]'})
    first = world.deploy(request)
    second = world.deploy(request)
    assert first == second
    assert len(world.revisions()) == 2


def test_a_container_name_that_matches_nothing_lists_the_containers(world: World) -> None:
    request = world.request({"imagedefinitions.json": f'[{{"name":"web","imageUri":"{NEW_IMAGE}"}}]'})
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(request)
    assert (
        "imagedefinitions names 'web', but the task definition 'remindersmgt' has only these containers: rails, envoy"
        in str(caught.value)
    )
    assert len(world.revisions()) == 1


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"other.json": "[]"}, "imagedefinitions.json is not in the input artifact (it has: other.json)"),
        ({"imagedefinitions.json": "[{name: rails}]"}, "imagedefinitions.json is not valid JSON (line 1, column 3"),
        (
            {"imagedefinitions.json": '{"name": "rails"}'},
            'imagedefinitions.json must be a JSON list of {"name", "imageUri"} objects',
        ),
        (
            {"imagedefinitions.json": '[{"name": "rails"}]'},
            'imagedefinitions.json entry 0 must be an object with string "name" and "imageUri"',
        ),
        ({"imagedefinitions.json": "[]"}, "imagedefinitions.json is an empty list: it names no container to update"),
    ],
)
def test_bad_image_definitions_fail_naming_the_file_and_problem(
    world: World, files: dict[str, str], message: str
) -> None:
    with pytest.raises(ArtifactError) as caught:
        world.deploy(world.request(files))
    assert "Deploy.Deploy (BuildArtifact): " + message in str(caught.value)
    assert len(world.revisions()) == 1


def event_for(name: str, deployment: str) -> DeploymentStateChange:
    event = load_event(f"callbacks/ecs-deployment-{name}.json")
    event["detail"]["deploymentId"] = deployment
    return DeploymentStateChange.model_validate(event)


def test_the_deployment_completes_the_task_when_ecs_says_so(world: World) -> None:
    request = world.request({"imagedefinitions.json": f'[{{"name":"rails","imageUri":"{NEW_IMAGE}"}}]'})
    variables = world.deploy(request)
    deployment = variables["DeploymentId"]
    assert world.finish(event_for("in-progress", deployment)).startswith("ignored")
    assert world.callbacks.answers == []
    world.finish(event_for("completed", deployment))
    assert world.callbacks.answers == [("succeed", request.task_token, {"artifacts": {}, "variables": variables})]
    assert world.finish(event_for("completed", deployment)) == "ignored: Deploy.Deploy was answered already"


def test_a_failed_deployment_fails_the_task_with_ecs_reason(world: World) -> None:
    variables = world.deploy(world.request({"imagedefinitions.json": f'[{{"name":"rails","imageUri":"{NEW_IMAGE}"}}]'}))
    world.finish(event_for("failed", variables["DeploymentId"]))
    [(kind, _, (error, cause))] = world.callbacks.answers
    assert (kind, error) == ("fail", "DeploymentFailed")
    assert cause == (
        f"deployment {variables['DeploymentId']} of arn:aws:ecs:us-east-1:111122223333:service/friendreminders/remindersmgt "
        "failed: ECS deployment circuit breaker: task failed to start."
    )


def test_a_service_without_the_circuit_breaker_gets_it_with_its_other_settings_kept(world: World) -> None:
    # Given a service whose deployments ECS would never report as failed (no circuit breaker)
    world.ecs.update_service(
        cluster="friendreminders",
        service="remindersmgt",
        deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50},
    )
    # When the action deploys to it
    world.deploy(world.request({"imagedefinitions.json": f'[{{"name":"rails","imageUri":"{NEW_IMAGE}"}}]'}))
    # Then the breaker is on, rolling back, and the rest of the configuration is as it was
    service = world.ecs.describe_services(cluster="friendreminders", services=["remindersmgt"])["services"][0]
    configuration = service["deploymentConfiguration"]
    assert configuration["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (configuration["maximumPercent"], configuration["minimumHealthyPercent"]) == (150, 50)


def test_the_sweeper_reads_the_deployments_rollout_state(world: World) -> None:
    # Given a deployment whose end event never came (moto rolls nothing out: the test sets the
    # rolloutState DescribeServices reports, as ECS does at steady state)
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecs.models import ecs_backends

    from stepline.actions.completions import sweep
    from stepline.actions.deploy.ecs import deployment_work

    request = world.request({"imagedefinitions.json": f'[{{"name":"rails","imageUri":"{NEW_IMAGE}"}}]'})
    variables = world.deploy(request)
    kinds = {"ecs": deployment_work(EcsService(world.ecs))}
    assert sweep(world.waiters, kinds, world.callbacks, now=400.0, older_than=300) == []  # still rolling out
    service = ecs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].services["friendreminders:remindersmgt"]
    [deployment] = [d for d in service.deployments if d["id"] == variables["DeploymentId"]]
    deployment["rolloutState"] = "COMPLETED"
    # When the sweeper runs, Then the task succeeds with the deployment's variables, once
    assert sweep(world.waiters, kinds, world.callbacks, now=400.0, older_than=300) == ["succeeded: Deploy.Deploy"]
    assert world.callbacks.answers == [("succeed", request.task_token, {"artifacts": {}, "variables": variables})]
    assert sweep(world.waiters, kinds, world.callbacks, now=700.0, older_than=300) == []
