"""Deploy/AWS/CloudFormation under moto (CloudFormation, S3, SQS, DynamoDB), every ActionMode,
finished by the sweeper's polling as on AWS.

moto runs CloudFormation synchronously: an operation has ended when its call returns, and a
resource that fails makes the call itself fail (the stack stays CREATE_IN_PROGRESS); it never
rolls back. So the tests that need a stack in ROLLBACK_COMPLETE put it there through moto's
backend, and the failed-update report is checked with botocore's Stubber answering
DescribeStacks and DescribeStackEvents in the shapes of CloudFormation's API reference (a
stack rolled back after its update failed; said again at those tests).
"""

from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.cloudformation.models import cloudformation_backends
from moto.core import DEFAULT_ACCOUNT_ID

from stepline.actions.completions import sweep, waiter_key
from stepline.actions.deploy.cloudformation import deploy_stack
from stepline.actions.deploy.stack_inputs import TemplateUploads
from stepline.actions.deploy.stack_work import StackStatusChange, finish_stack_operation, stack_work
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.buckets import S3Buckets
from stepline.adapters.aws.cloudformation import CloudFormationStacks
from stepline.adapters.aws.tokens import DynamoRecords
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import put_directory
from tests.helpers import load_event

pytestmark = pytest.mark.functional

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {
        "Stage": {"Type": "String"},
        "CodeBucket": {"Type": "String"},
        "CodeKey": {"Type": "String"},
        "ImageTag": {"Type": "String"},
    },
    "Resources": {
        "Reminders": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "reminders-${Stage}"}}}
    },
    "Outputs": {
        "QueueUrl": {"Value": {"Ref": "Reminders"}},
        "Release": {"Value": {"Fn::Sub": "${ImageTag}@${CodeBucket}"}},
    },
}
CONFIGURATION = {"Parameters": {"Stage": "prod", "ImageTag": "from-config"}, "Tags": {"team": "reminders"}}


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.answers.append(("succeed", token, output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.append(("fail", token, (error, cause)))


class World:
    def __init__(self, tmp: Path) -> None:
        self.cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="tokens",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.waiters = DynamoWaiters(dynamodb, "tokens")
        self.records = DynamoRecords(dynamodb, "tokens")
        self.callbacks = Recorded()
        self.store = LocalArtifactStore(tmp / "artifacts")
        self.stacks = CloudFormationStacks(self.cloudformation)
        self.tmp = tmp

    def request(self, event: str, files: Mapping[str, str] | None = None, **configuration: str) -> ActionRequest:
        loaded = copy.deepcopy(load_event(f"deploy_cloudformation/{event}"))
        loaded["action"]["configuration"].update(configuration)
        for name in [artifact["name"] for artifact in loaded["action"]["inputArtifacts"]]:
            folder = self.tmp / f"{name}-{len(list(self.tmp.iterdir()))}"
            folder.mkdir()
            for path, text in (files or {}).items():
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_text(text)
            loaded["artifacts"][name] = put_directory(self.store, "RemindersApi", "manual-1", name, folder)
        return ActionRequest.model_validate(loaded)

    def deploy(self, request: ActionRequest) -> dict[str, str]:
        return deploy_stack(request, self.store, self.stacks, self.waiters, self.records, self.callbacks, 1.0)

    def sweep(self) -> list[str]:
        kinds = {"cfn": stack_work(self.stacks, self.store)}
        return sweep(self.waiters, kinds, self.callbacks, now=400.0, older_than=0)

    def stack(self, name: str) -> dict[str, Any]:
        return dict(self.cloudformation.describe_stacks(StackName=name)["Stacks"][0])


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield World(tmp_path)


def build_files(template: Mapping[str, Any] = TEMPLATE) -> dict[str, str]:
    return {
        "packaged.yaml": json.dumps(template),
        "config/prod.json": json.dumps(CONFIGURATION),
        "build.json": json.dumps({"ImageTag": "v42"}),
    }


def test_create_update_creates_the_stack_and_answers_with_its_outputs(world: World) -> None:
    # Given the sample CREATE_UPDATE action: a template, a configuration file, and overrides
    # reading the artifact's location (Fn::GetArtifactAtt) and a build file (Fn::GetParam)
    request = world.request("create-update.json", build_files())
    # When it runs, Then the stack is created with the configuration's parameters and tags, the
    # overrides winning, and the capabilities and role passed on
    work = world.deploy(request)
    stack = world.stack("reminders-api")
    assert (work["operation"], stack["StackStatus"]) == ("stack", "CREATE_COMPLETE")
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["Stage"] == "prod"
    assert parameters["ImageTag"] == "v42"
    assert parameters["CodeBucket"] == ""  # a local artifact has no bucket…
    assert parameters["CodeKey"].endswith("/BuildArtifact.zip")  # …and its key is the file
    assert stack["Tags"] == [{"Key": "team", "Value": "reminders"}]
    assert stack["RoleARN"] == "arn:aws:iam::111122223333:role/reminders-cloudformation"
    assert world.callbacks.answers == []  # the task waits for the sweeper
    # When the sweeper polls, Then the task succeeds once with the outputs as variables
    assert world.sweep() == ["succeeded: Deploy.DeployApi"]
    [(kind, token, output)] = world.callbacks.answers
    assert (kind, token) == ("succeed", request.task_token)
    assert output["variables"] == {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/reminders-prod",
        "Release": "v42@",
    }
    # And OutputFileName holds the same outputs in the output artifact
    location = output["artifacts"]["StackOutputs"]["location"]
    with zipfile.ZipFile(location.removeprefix("file://")) as archive:
        assert json.loads(archive.read("outputs.json")) == output["variables"]
    assert world.sweep() == []


def test_an_update_with_nothing_to_change_succeeds_at_once(world: World) -> None:
    world.deploy(world.request("create-update.json", build_files()))
    world.sweep()
    # Given the same template and parameters again (moto's UpdateStack changes nothing either
    # way; CloudFormation answers "No updates are to be performed", tested in the unit tests)
    template = {**TEMPLATE, "Description": "a second revision"}
    second = world.request("create-update.json", build_files(template))
    second = second.model_copy(update={"execution": second.execution.model_copy(update={"id": "second"})})
    # When it runs, Then the stack is updated and the task is answered by the sweeper
    assert world.deploy(second)["operation"] == "stack"
    assert world.stack("reminders-api")["StackStatus"] == "UPDATE_COMPLETE"
    assert world.sweep() == ["succeeded: Deploy.DeployApi"]


def test_a_retried_attempt_starts_nothing_twice(world: World) -> None:
    request = world.request("create-update.json", build_files())
    first = world.deploy(request)
    # When the same task is invoked again (at least once), Then it finds the same operation
    assert world.deploy(request) == first
    assert len(world.cloudformation.list_stacks()["StackSummaries"]) == 1


def test_change_set_replace_then_execute_creates_the_stack(world: World) -> None:
    # Given a stack that does not exist yet: the change set is of type CREATE
    replace = world.request("change-set-replace.json", build_files(), ParameterOverrides=json.dumps(_all_parameters()))
    work = world.deploy(replace)
    assert work["operation"] == "changeset"
    assert world.stack("reminders-api")["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert world.sweep() == ["succeeded: Deploy.CreateChangeSet"]
    # When the change set is executed, Then the stack exists with its outputs
    execute = world.request("change-set-execute.json")
    assert world.deploy(execute)["operation"] == "execute"
    assert world.stack("reminders-api")["StackStatus"] == "CREATE_COMPLETE"
    assert world.sweep() == ["succeeded: Release.ExecuteChangeSet"]
    queues = boto3.client("sqs", region_name="us-east-1").list_queues()["QueueUrls"]
    assert queues == ["https://sqs.us-east-1.amazonaws.com/123456789012/reminders-test"]
    # The answer carries the stack's outputs as DescribeStacks gives them (moto does not compute
    # outputs again when it executes a change set, so here there are none to carry)
    described = {o["OutputKey"]: o["OutputValue"] for o in world.stack("reminders-api").get("Outputs", [])}
    assert world.callbacks.answers[-1] == ("succeed", execute.task_token, {"artifacts": {}, "variables": described})


def test_executing_a_change_set_that_does_not_exist_names_it(world: World) -> None:
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(world.request("change-set-execute.json"))
    assert "stack reminders-api has no change set 'reminders-api-changes'" in str(caught.value)


def test_delete_only_deletes_and_a_missing_stack_succeeds_at_once(world: World) -> None:
    world.cloudformation.create_stack(StackName="reminders-api-test", TemplateBody=json.dumps(_queue_template()))
    request = world.request("delete-only.json")
    assert world.deploy(request)["operation"] == "delete"
    assert world.sweep() == ["succeeded: Cleanup.DeleteTestStack".replace("Cleanup", request.stage)]
    # A second execution finds no stack: answered at once, nothing deleted
    again = request.model_copy(update={"execution": request.execution.model_copy(update={"id": "again"})})
    assert world.deploy(again)["operation"] == "none"
    assert world.callbacks.answers[-1] == ("succeed", again.task_token, {"artifacts": {}, "variables": {}})


def _rolled_back(world: World, name: str) -> str:
    """A stack as a failed creation leaves it (moto never rolls back: set through its backend)."""
    stack_id = world.cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(_queue_template()))["StackId"]
    cloudformation_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].stacks[stack_id].status = "ROLLBACK_COMPLETE"
    return str(stack_id)


def test_create_update_refuses_a_rolled_back_stack_as_codepipeline_does(world: World) -> None:
    _rolled_back(world, "reminders-api")
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(world.request("create-update.json", build_files()))
    assert "stack reminders-api is ROLLBACK_COMPLETE, a failed state: CREATE_UPDATE does not replace" in str(
        caught.value
    )
    assert "use ActionMode REPLACE_ON_FAILURE" in str(caught.value)


def test_replace_on_failure_deletes_a_rolled_back_stack_and_creates_it_again(world: World) -> None:
    old = _rolled_back(world, "reminders-api")
    work = world.deploy(world.request("create-update.json", build_files(), ActionMode="REPLACE_ON_FAILURE"))
    assert work["stack"] != old
    assert world.stack(old)["StackStatus"] == "DELETE_COMPLETE"
    assert world.stack("reminders-api")["StackStatus"] == "CREATE_COMPLETE"
    assert world.sweep() == ["succeeded: Deploy.DeployApi"]


def test_a_refused_creation_fails_naming_cloudformations_reason(world: World) -> None:
    # Given a template whose bucket name is taken (moto refuses the creation in the call itself)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="reminders-releases")
    template = {
        "Resources": {"Releases": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "reminders-releases"}}}
    }
    request = world.request("create-update.json", build_files(template), ParameterOverrides="{}")
    # When it runs, Then the action fails with CloudFormation's code and message
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(request)
    assert "CloudFormation refused the request for stack reminders-api: BucketAlreadyExists: " in str(caught.value)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"other.yaml": "{}"}, "TemplatePath: packaged.yaml is not in artifact 'BuildArtifact' (it has: other.yaml)"),
        (
            {**build_files(), "config/prod.json": '{"Parameters": {"Stage": "prod"}, "Tag": {}}'},
            "TemplateConfiguration BuildArtifact::config/prod.json has Tag; it takes Parameters, Tags and StackPolicy",
        ),
        (
            {**build_files(), "build.json": '{"Tag": "v1"}'},
            "Fn::GetParam BuildArtifact::build.json has no key 'ImageTag' (it has: Tag)",
        ),
    ],
)
def test_bad_inputs_fail_naming_the_file_and_the_problem(world: World, files: dict[str, str], message: str) -> None:
    with pytest.raises(ArtifactError) as caught:
        world.deploy(world.request("create-update.json", files))
    assert message in str(caught.value)
    assert world.cloudformation.list_stacks()["StackSummaries"] == []


def test_a_failed_update_reports_the_first_failed_resource(world: World) -> None:
    # Stubber, not moto (moto never rolls back): DescribeStacks and DescribeStackEvents answer
    # as CloudFormation's API reference shows a stack whose update failed and rolled back.
    client = boto3.client("cloudformation", region_name="us-east-1")
    stacks = CloudFormationStacks(client)
    stack_id = "arn:aws:cloudformation:us-east-1:111122223333:stack/reminders-api/5b9e3a80-0000-11ef-8f3e-0a1b2c3d4e5f"
    request = world.request("create-update.json", build_files())
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stacks", {"Stacks": [_stack(stack_id, "UPDATE_COMPLETE")]}, {"StackName": "reminders-api"}
        )
        stub.add_response("update_stack", {"StackId": stack_id})
        deploy_stack(request, world.store, stacks, world.waiters, world.records, world.callbacks, 1.0)
        stub.add_response(
            "describe_stacks", {"Stacks": [_stack(stack_id, "UPDATE_ROLLBACK_COMPLETE")]}, {"StackName": stack_id}
        )
        stub.add_response("describe_stack_events", {"StackEvents": _rollback_events(stack_id)}, {"StackName": stack_id})
        outcomes = sweep(world.waiters, {"cfn": stack_work(stacks, world.store)}, world.callbacks, 400.0, 0)
    assert outcomes[0].startswith("failed: Deploy.DeployApi: StackFailed")
    [(kind, _, (error, cause))] = world.callbacks.answers
    assert (kind, error) == ("fail", "StackFailed")
    assert cause == (
        "stack reminders-api is UPDATE_ROLLBACK_COMPLETE: Reminders (AWS::SQS::Queue) UPDATE_FAILED: "
        'Resource handler returned message: "Value for parameter DelaySeconds is invalid."'
    )


def _stack(stack_id: str, status: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "StackId": stack_id,
        "StackName": "reminders-api",
        "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
        "StackStatus": status,
    }


def _rollback_events(stack_id: str) -> list[dict[str, Any]]:
    """Newest first, as DescribeStackEvents returns them: the update began (User Initiated), the
    queue failed, a dependent resource was cancelled, the stack rolled back."""
    from datetime import UTC, datetime

    def event(n: int, logical: str, kind: str, status: str, reason: str | None = None) -> dict[str, Any]:
        found = {
            "StackId": stack_id,
            "EventId": f"{logical}-{n}",
            "StackName": "reminders-api",
            "LogicalResourceId": logical,
            "ResourceType": kind,
            "Timestamp": datetime(2026, 12, 1, 10, 0, n, tzinfo=UTC),
            "ResourceStatus": status,
        }
        return {**found, "ResourceStatusReason": reason} if reason else found

    stack_type = "AWS::CloudFormation::Stack"
    return [
        event(9, "reminders-api", stack_type, "UPDATE_ROLLBACK_COMPLETE"),
        event(8, "Alarm", "AWS::CloudWatch::Alarm", "UPDATE_FAILED", "Resource update cancelled"),
        event(
            7,
            "reminders-api",
            stack_type,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to update: [Reminders].",
        ),
        event(
            6,
            "Reminders",
            "AWS::SQS::Queue",
            "UPDATE_FAILED",
            'Resource handler returned message: "Value for parameter DelaySeconds is invalid."',
        ),
        event(5, "Reminders", "AWS::SQS::Queue", "UPDATE_IN_PROGRESS"),
        event(4, "reminders-api", stack_type, "UPDATE_IN_PROGRESS", "User Initiated"),
        event(3, "Old", "AWS::SQS::Queue", "CREATE_FAILED", "an earlier operation's failure, not this one's"),
        event(2, "reminders-api", stack_type, "CREATE_IN_PROGRESS", "User Initiated"),
    ]


def _queue_template() -> dict[str, Any]:
    return {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}


def _all_parameters() -> dict[str, str]:
    return {"Stage": "test", "CodeBucket": "bucket", "CodeKey": "key", "ImageTag": "v1"}


# --- stack sets (moto runs StackSets operations synchronously: each ends SUCCEEDED) -----------

BASELINE = {
    "Parameters": {"LogRetentionDays": {"Type": "Number", "Default": "30"}},
    "Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": {"Ref": "LogRetentionDays"}}}
    },
}


def stack_set_files() -> dict[str, str]:
    parameters = [{"ParameterKey": "LogRetentionDays", "ParameterValue": "60"}]
    return {"baseline.yaml": json.dumps(BASELINE), "baseline-parameters.json": json.dumps(parameters)}


def test_a_stack_set_is_created_with_its_instances_then_updated(world: World) -> None:
    # Given the sample StackSet action: template and parameters file from the source artifact
    request = world.request("stack-set.json", stack_set_files())
    # When it runs on an account without the stack set
    work = world.deploy(request)
    # Then the stack set exists with the file's parameters, and its instance was created
    described = world.cloudformation.describe_stack_set(StackSetName="reminders-baseline")["StackSet"]
    assert described["Parameters"] == [{"ParameterKey": "LogRetentionDays", "ParameterValue": "60"}]
    assert described["ExecutionRoleName"] == "AWSCloudFormationStackSetExecutionRole"
    assert described["PermissionModel"] == "SELF_MANAGED"
    instances = world.cloudformation.list_stack_instances(StackSetName="reminders-baseline")["Summaries"]
    assert [(i["Account"], i["Region"]) for i in instances] == [("111111111111", "us-east-1")]
    operation = world.cloudformation.describe_stack_set_operation(
        StackSetName="reminders-baseline", OperationId=work["stackSetOperation"]
    )["StackSetOperation"]
    assert operation["Action"] == "CREATE"
    assert world.sweep() == ["succeeded: DeployAccounts.BaselineStackSet"]
    # When a later execution runs it again, Then the stack set is updated (an UPDATE operation)
    again = world.request("stack-set.json", stack_set_files())
    again = again.model_copy(update={"execution": again.execution.model_copy(update={"id": "again"})})
    update = world.deploy(again)
    operation = world.cloudformation.describe_stack_set_operation(
        StackSetName="reminders-baseline", OperationId=update["stackSetOperation"]
    )["StackSetOperation"]
    assert operation["Action"] == "UPDATE"


def test_stack_instances_are_created_where_missing_with_the_overrides(world: World) -> None:
    world.deploy(world.request("stack-set.json", stack_set_files()))
    # Given the sample StackInstances action: two accounts, two Regions, an override in shorthand
    request = world.request("stack-instances.json")
    world.deploy(request)
    instances = world.cloudformation.list_stack_instances(StackSetName="reminders-baseline")["Summaries"]
    assert sorted((i["Account"], i["Region"]) for i in instances) == [
        ("111111111111", "eu-west-1"),
        ("111111111111", "us-east-1"),
        ("222222222222", "eu-west-1"),
        ("222222222222", "us-east-1"),
    ]
    created = world.cloudformation.describe_stack_instance(
        StackSetName="reminders-baseline", StackInstanceAccount="222222222222", StackInstanceRegion="eu-west-1"
    )["StackInstance"]
    assert created["ParameterOverrides"] == [{"ParameterKey": "LogRetentionDays", "ParameterValue": "90"}]
    assert world.sweep()[-1] == "succeeded: DeployAccounts.BaselineEverywhere"


def test_stack_instances_of_a_stack_set_that_does_not_exist_say_so(world: World) -> None:
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(world.request("stack-instances.json"))
    assert "stack set 'reminders-baseline' does not exist (a CloudFormationStackSet action makes it)" in str(
        caught.value
    )


def stack_event(stack_id: str, status: str, token: str) -> StackStatusChange:
    """EventBridge's "CloudFormation Stack Status Change", the sample's documented shape."""
    event = copy.deepcopy(load_event("callbacks/cloudformation-stack-rolled-back.json"))
    event["detail"].update({"stack-id": stack_id, "client-request-token": token})
    event["detail"]["status-details"]["status"] = status
    return StackStatusChange.model_validate(event)


def test_the_stacks_event_answers_at_once_by_its_client_request_token(world: World) -> None:
    # Given a CREATE_UPDATE action whose stack was created (CloudFormation's events carry the
    # ClientRequestToken the action sent: its own digest)
    request = world.request("create-update.json", build_files())
    work = world.deploy(request)
    token = "stepline-" + waiter_key("cfn", request.execution.id, "Deploy.DeployApi").split("#", 1)[1]
    stacks, store = world.stacks, world.store
    # When the stack's status change arrives, Then the task is answered then, not at the next sweep
    finished = finish_stack_operation(
        stack_event(work["stack"], "CREATE_COMPLETE", token), stacks, store, world.waiters, world.callbacks
    )
    assert finished == "succeeded: Deploy.DeployApi"
    assert [kind for kind, _, _ in world.callbacks.answers] == ["succeed"]
    # And a redelivery, or another operation's event, changes nothing
    again = stack_event(work["stack"], "CREATE_COMPLETE", token)
    assert finish_stack_operation(again, stacks, store, world.waiters, world.callbacks).startswith("ignored")
    other = stack_event(work["stack"], "UPDATE_COMPLETE", "Console-UpdateStack-1")
    assert "was not started by Stepline" in finish_stack_operation(other, stacks, store, world.waiters, world.callbacks)
    assert world.sweep() == []
    assert len(world.callbacks.answers) == 1


def test_a_template_too_large_for_the_request_goes_through_the_artifact_bucket(world: World) -> None:
    # Given a template over CloudFormation's 51,200-byte request limit (CDK's often are)
    large = {**TEMPLATE, "Metadata": {"Padding": "x" * 60_000}}
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="stepline-artifacts-111122223333")
    uploads = TemplateUploads(S3Buckets(s3), "stepline-artifacts-111122223333", "us-east-1")
    request = world.request("create-update.json", build_files(large))
    # When the action runs on AWS (where the artifact bucket is), Then CloudFormation reads it by URL
    deploy_stack(request, world.store, world.stacks, world.waiters, world.records, world.callbacks, 1.0, uploads)
    assert world.stack("reminders-api")["StackStatus"] == "CREATE_COMPLETE"
    [stored] = s3.list_objects_v2(Bucket="stepline-artifacts-111122223333")["Contents"]
    assert stored["Key"].startswith("RemindersApi/manual-1/stepline-")
    assert stored["Size"] == len(json.dumps(large))
    # And on one machine, with no bucket, the action says why it cannot
    other = request.model_copy(update={"execution": request.execution.model_copy(update={"id": "local"})})
    with pytest.raises(ArtifactError) as caught:
        world.deploy(other)
    assert "CloudFormation takes at most 51200 in a request, and larger ones from S3" in str(caught.value)


def test_an_attempt_cut_off_while_starting_waits_for_the_operation_it_began(world: World) -> None:
    # Given an attempt that recorded it was starting, began the stack's creation, and died before
    # recording it (the stack is still being created: set through moto's backend, which finishes at once)
    request = world.request("create-update.json", build_files())
    world.records.put(f"{request.execution.id}/Deploy.DeployApi", {"starting": True})
    stack_id = world.cloudformation.create_stack(StackName="reminders-api", TemplateBody=json.dumps(_queue_template()))[
        "StackId"
    ]
    cloudformation_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].stacks[stack_id].status = "CREATE_IN_PROGRESS"
    # When the task is invoked again, Then it waits for that operation instead of refusing a busy stack
    work = world.deploy(request)
    assert (work["operation"], work["stack"]) == ("stack", stack_id)
    cloudformation_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].stacks[stack_id].status = "CREATE_COMPLETE"
    assert world.sweep() == ["succeeded: Deploy.DeployApi"]


def test_a_stack_busy_with_someone_elses_operation_is_refused_naming_its_state(world: World) -> None:
    stack_id = world.cloudformation.create_stack(StackName="reminders-api", TemplateBody=json.dumps(_queue_template()))[
        "StackId"
    ]
    cloudformation_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].stacks[stack_id].status = "UPDATE_IN_PROGRESS"
    with pytest.raises(ConfigurationError) as caught:
        world.deploy(world.request("create-update.json", build_files()))
    assert "stack reminders-api is UPDATE_IN_PROGRESS: another operation is under way on it" in str(caught.value)
