"""Deploy/AWS/ElasticBeanstalk: the bundle written to the account's Elastic Beanstalk bucket under
moto (S3, DynamoDB), and Elastic Beanstalk itself through botocore's Stubber with answers in the
API reference's shapes (moto's Elastic Beanstalk has no CreateStorageLocation,
CreateApplicationVersion, UpdateEnvironment or DescribeEvents)."""

from __future__ import annotations

import copy
import zipfile
from collections.abc import Iterator, Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from stepline.actions.completions import sweep
from stepline.actions.deploy.beanstalk import deploy_to_environment, environment_work
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.beanstalk import BeanstalkEnvironments
from stepline.adapters.aws.buckets import S3Buckets
from stepline.adapters.aws.tokens import DynamoRecords
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import put_directory
from tests.helpers import load_event

pytestmark = pytest.mark.functional

BUCKET = "elasticbeanstalk-us-east-1-111122223333"
ENVIRONMENT = {"EnvironmentName": "reminders-web-prod", "ApplicationName": "reminders-web"}


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.answers.append(("succeed", token, output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.append(("fail", token, (error, cause)))


class World:
    def __init__(self, tmp: Path) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)
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
        self.beanstalk = boto3.client("elasticbeanstalk", region_name="us-east-1")
        self.stub = Stubber(self.beanstalk)
        self.environments = BeanstalkEnvironments(self.beanstalk)
        folder = tmp / "build"
        folder.mkdir()
        (folder / "app.py").write_text("print('reminders')\n")
        (folder / "Procfile").write_text("web: python app.py\n")
        event: dict[str, Any] = copy.deepcopy(load_event("deploy_beanstalk/reminders-web.json"))
        event["artifacts"]["BuildArtifact"] = put_directory(
            self.store, "FriendReminders", "manual-1", "BuildArtifact", folder
        )
        self.request = ActionRequest.model_validate(event)

    def environment(self, status: str, version: str, health: str = "Green") -> None:
        answer = {"Environments": [{**ENVIRONMENT, "VersionLabel": version, "Status": status, "Health": health}]}
        self.stub.add_response("describe_environments", answer, {**_names(), "IncludeDeleted": False})

    def deploy(self) -> dict[str, str]:
        return deploy_to_environment(
            self.request,
            self.store,
            self.environments,
            S3Buckets(self.s3),
            self.waiters,
            self.records,
            self.callbacks,
            1.0,
        )

    def sweep(self) -> list[str]:
        return sweep(self.waiters, {"beanstalk": environment_work(self.environments)}, self.callbacks, 400.0, 0)


def _names() -> dict[str, Any]:
    return {"ApplicationName": "reminders-web", "EnvironmentNames": ["reminders-web-prod"]}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        world = World(tmp_path)
        with world.stub:
            yield world


def start(world: World) -> dict[str, str]:
    world.environment("Ready", "v41")
    world.stub.add_response("create_storage_location", {"S3Bucket": BUCKET})
    version = {"ApplicationName": "reminders-web", "VersionLabel": "stepline", "Status": "PROCESSING"}
    world.stub.add_response("create_application_version", {"ApplicationVersion": version}, ANY_VERSION)
    world.stub.add_response("update_environment", {**ENVIRONMENT, "Status": "Updating"}, ANY_UPDATE)
    return world.deploy()


ANY_VERSION = {
    "ApplicationName": "reminders-web",
    "VersionLabel": ANY,
    "Description": ANY,
    "SourceBundle": ANY,
    "Process": True,
}
ANY_UPDATE = {"ApplicationName": "reminders-web", "EnvironmentName": "reminders-web-prod", "VersionLabel": ANY}


def test_the_artifact_becomes_a_version_and_the_environment_is_ready_on_it(world: World) -> None:
    # When the sample action deploys the build
    work = start(world)
    version = work["version"]
    assert version.startswith("stepline-manual-1-")
    # Then the bundle is the artifact, in the account's Elastic Beanstalk bucket
    bundle = world.s3.get_object(Bucket=BUCKET, Key=f"reminders-web/{version}.zip")["Body"].read()
    with zipfile.ZipFile(BytesIO(bundle)) as archive:
        assert sorted(archive.namelist()) == ["Procfile", "app.py"]
    # And the task waits while the environment updates, then succeeds once it is Ready on the version
    world.environment("Updating", "v41")
    assert world.sweep() == []
    world.environment("Ready", version)
    assert world.sweep() == ["succeeded: Deploy.DeployWeb"]
    assert world.callbacks.answers == [
        ("succeed", world.request.task_token, {"artifacts": {}, "variables": {"VersionLabel": version}})
    ]


def test_an_update_rolled_back_fails_with_the_environments_error(world: World) -> None:
    work = start(world)
    # Given the environment Ready again, but on the old version and Red
    world.environment("Ready", "v41", health="Red")
    message = (
        "Failed to deploy application: during an aborted deployment, some instances may have deployed the new version"
    )
    world.stub.add_response(
        "describe_events",
        {"Events": [{"Message": message, "Severity": "ERROR"}]},
        {
            "ApplicationName": "reminders-web",
            "EnvironmentName": "reminders-web-prod",
            "Severity": "ERROR",
            "MaxRecords": 10,
        },
    )
    world.sweep()
    [(kind, _, (error, cause))] = world.callbacks.answers
    assert (kind, error) == ("fail", "DeploymentFailed")
    assert cause == f"environment reminders-web-prod is Red, running v41 instead of {work['version']}: {message}"


def test_an_environment_that_does_not_exist_is_named(world: World) -> None:
    world.stub.add_response("describe_environments", {"Environments": []}, {**_names(), "IncludeDeleted": False})
    with pytest.raises(ConfigurationError) as caught:
        world.deploy()
    assert "Elastic Beanstalk environment 'reminders-web-prod' of 'reminders-web' does not exist" in str(caught.value)
