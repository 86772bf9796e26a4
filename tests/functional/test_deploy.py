"""`stepline deploy` and `stepline start` against moto: the stack's outputs from moto's
CloudFormation, the state machine in moto's Step Functions, the registry in moto's DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepline import cli, wiring
from stepline.compiler import compile_checked, substitute
from stepline.definition import load_valid_pipeline
from stepline.ports.targets import Target
from stepline.registry import state_machine_name
from tests.helpers import EXAMPLES, handler_placeholders, watching, write
from tests.moto_env import moto_aws

pytestmark = pytest.mark.functional

REGION = "us-east-1"
FUNCTION_ARNS = {
    name: f"arn:aws:lambda:{REGION}:123456789012:function:stepline-{name}" for name in handler_placeholders()
}


def stack_template(outputs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Resources": {
                "PipelinesTable": {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {
                        "BillingMode": "PAY_PER_REQUEST",
                        "AttributeDefinitions": [{"AttributeName": "name", "AttributeType": "S"}],
                        "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
                    },
                },
                "PipelineExecutionRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "states.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                }
                            ]
                        }
                    },
                },
            },
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
    )


LOG_GROUP = f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/vendedlogs/states/stepline-pipelines:*"
ARTIFACT_POLICY = "arn:aws:iam::123456789012:policy/stepline-ArtifactAccessPolicy-ARTI1A2B3C4D"
FULL_OUTPUTS = {
    **FUNCTION_ARNS,
    "PipelinesTableName": {"Ref": "PipelinesTable"},
    "PipelineExecutionRoleArn": {"Fn::GetAtt": ["PipelineExecutionRole", "Arn"]},
    "ArtifactBucketName": "stepline-artifactbucket-arti1a2b3c4d",
    "ArtifactAccessPolicyArn": ARTIFACT_POLICY,
    "PipelineLogGroupArn": LOG_GROUP,
}


class Ready:
    """Every target exists, is tagged stepline=enabled, and its role reaches the artifacts."""

    def build_project(self, name: str) -> Target:
        return Target(
            f"arn:aws:codebuild:{REGION}:123456789012:project/{name}", "arn:aws:iam::123456789012:role/cb", ENABLED
        )

    def function(self, name: str) -> Target:
        return Target(
            f"arn:aws:lambda:{REGION}:123456789012:function:{name}", "arn:aws:iam::123456789012:role/fn", ENABLED
        )

    def state_machine(self, arn: str) -> Target:
        return Target(arn, None, ENABLED)

    def service(self, cluster: str, service: str) -> Target:
        return Target(f"arn:aws:ecs:{REGION}:123456789012:service/{cluster}/{service}", None, ENABLED)

    def repository(self, name: str) -> Target:
        return Target(f"arn:aws:codecommit:{REGION}:123456789012:{name}", None, ENABLED)

    def denied(self, role_arn: str, actions: list[str], resource_arn: str) -> list[str]:
        return []


ENABLED = {"stepline": "enabled"}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # The targets' own checks are tested below; here every target is ready.
    monkeypatch.setattr("stepline.cli.deploy.targets", lambda region: Ready())
    with moto_aws(monkeypatch):
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName="stepline", TemplateBody=stack_template(FULL_OUTPUTS))
        yield cloudformation
        wiring.reset()


def outputs(cloudformation: Any) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName="stepline")["Stacks"][0]["Outputs"]
    return {output["OutputKey"]: output["OutputValue"] for output in described}


def registered(table: str, name: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=table, Key={"name": {"S": name}}
    )["Item"]
    return item


def test_deploy_creates_then_updates_the_state_machine_and_registry_item(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the FriendReminders export and the Stepline stack's outputs
    example = EXAMPLES / "friend-reminders.json"
    stack = outputs(aws)
    stepfunctions: Any = boto3.client("stepfunctions", region_name=REGION)
    # When deployed
    assert cli.main(["deploy", str(example), "--region", REGION]) == 0
    printed = capsys.readouterr().out
    # Then a state machine exists whose definition is the compiler's, with the stack's ARNs
    [machine] = stepfunctions.list_state_machines()["stateMachines"]
    assert machine["name"] == state_machine_name("FriendReminders")
    assert f"created {machine['stateMachineArn']}" in printed
    described = stepfunctions.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    compiled = compile_checked(load_valid_pipeline(example).pipeline)
    expected = substitute(compiled.definition, {name: stack[name] for name in compiled.placeholders})
    assert json.loads(described["definition"]) == expected
    assert described["roleArn"] == stack["PipelineExecutionRoleArn"]
    # And it logs its errors (never its data) to the stack's log group
    assert described["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOG_GROUP}}],
    }
    # And the pipeline is registered with its declaration
    item = registered(stack["PipelinesTableName"], "FriendReminders")
    assert item["stateMachineArn"]["S"] == machine["stateMachineArn"]
    assert json.loads(item["declaration"]["S"])["stages"][0]["actions"][0]["configuration"]["BranchName"] == "master"

    # When the pipeline changes (another branch) and is deployed again
    document = json.loads(example.read_text())
    document["pipeline"]["stages"][0]["actions"][0]["configuration"]["BranchName"] = "main"
    changed = write(tmp_path, document, "friend-reminders.json")
    assert cli.main(["deploy", str(changed), "--region", REGION]) == 0
    # Then the same state machine is updated, not a second one created, and the registry follows
    assert f"updated {machine['stateMachineArn']}" in capsys.readouterr().out
    assert len(stepfunctions.list_state_machines()["stateMachines"]) == 1
    updated = json.loads(stepfunctions.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"])
    new_compiled = compile_checked(load_valid_pipeline(changed).pipeline)
    assert updated == substitute(new_compiled.definition, {name: stack[name] for name in new_compiled.placeholders})
    item = registered(stack["PipelinesTableName"], "FriendReminders")
    assert json.loads(item["declaration"]["S"])["stages"][0]["actions"][0]["configuration"]["BranchName"] == "main"


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = watching("reminders", push=[{"branches": {"includes": ["release/**"], "excludes": ["release/old-*"]}}])
    path = write(tmp_path, document, "reminders.json")
    assert cli.main(["deploy", str(path), "--dry-run", "--region", REGION]) == 0
    printed = capsys.readouterr().out
    assert "dry run, nothing changed" in printed
    assert "create state machine stepline-reminders" in printed
    assert (
        "starts on pushes to CodeCommit FriendReminders with branches release/** not release/old-* (Source)" in printed
    )
    assert boto3.client("stepfunctions", region_name=REGION).list_state_machines()["stateMachines"] == []
    table = outputs(aws)["PipelinesTableName"]
    assert boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"] == []


def test_start_runs_a_deployed_pipeline_with_its_variables(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = watching("reminders", variables=[{"name": "Stage", "defaultValue": "beta"}])
    assert cli.main(["deploy", str(write(tmp_path, document, "reminders.json")), "--region", REGION]) == 0
    capsys.readouterr()
    assert cli.main(["start", "reminders", "--variable", "Stage=prod", "--name", "by-hand-1", "--region", REGION]) == 0
    assert ":execution:stepline-reminders:by-hand-1" in capsys.readouterr().out
    stepfunctions: Any = boto3.client("stepfunctions", region_name=REGION)
    [machine] = stepfunctions.list_state_machines()["stateMachines"]
    [execution] = stepfunctions.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    given = json.loads(stepfunctions.describe_execution(executionArn=execution["executionArn"])["input"])
    assert given == {"trigger": {"type": "StartPipelineExecution"}, "variables": {"Stage": "prod"}}


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["start", "nobody"], 1, "no pipeline 'nobody' is registered in stack 'stepline': stepline deploy FILE first"),
        (
            ["deploy", "{example}", "--stack-name", "missing"],
            1,
            "there is no stack 'missing' in this account and Region",
        ),
        # a bad argument is bad input: exit 2, as for every command
        (["start", "reminders", "--variable", "Nope=1"], 2, "--variable Nope: reminders declares no such variable"),
        (["start", "reminders", "--variable", "Stage"], 2, "--variable 'Stage': write NAME=VALUE"),
    ],
    ids=["unregistered", "no-stack", "undeclared-variable", "no-value"],
)
def test_what_stands_in_the_way_is_named_in_one_line(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, says: str
) -> None:
    document = watching("reminders", variables=[{"name": "Stage", "defaultValue": "beta"}])
    path = write(tmp_path, document, "reminders.json")
    assert cli.main(["deploy", str(path), "--region", REGION]) == 0
    capsys.readouterr()
    argv = [str(path) if part == "{example}" else part for part in argv]
    assert cli.main([*argv, "--region", REGION]) == code
    error = capsys.readouterr().err
    assert says in error
    assert "Traceback" not in error


def test_a_stack_without_the_outputs_a_pipeline_needs_is_named(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = {
        key: value
        for key, value in FULL_OUTPUTS.items()
        if key not in {"ApprovalFunctionArn", "PipelinesTableName", "ArtifactAccessPolicyArn"}
    }
    aws.create_stack(StackName="old-stepline", TemplateBody=stack_template(old))
    document = watching("reminders")
    document["stages"].append(
        {
            "name": "Release",
            "actions": [
                {
                    "name": "Approve",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                }
            ],
        }
    )
    path = write(tmp_path, document, "reminders.json")
    assert cli.main(["deploy", str(path), "--stack-name", "old-stepline", "--region", REGION]) == 1
    error = capsys.readouterr().err
    assert (
        "stack 'old-stepline' has no output ApprovalFunctionArn, ArtifactAccessPolicyArn, PipelinesTableName" in error
    )
    assert boto3.client("stepfunctions", region_name=REGION).list_state_machines()["stateMachines"] == []


def test_deploy_sends_the_compact_text_the_compiler_measured_and_a_maximal_pipeline_fits(
    aws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a pipeline at CodePipeline's limits (50 stages x 10 actions), which compiles to
    # 1.85 MB when written with indent=2 (what was sent before) but 0.92 MB compact
    from stepline.compiler import definition_json
    from tests.helpers import maximal

    path = write(tmp_path, maximal(), "maximal.json")
    # When it is deployed
    assert cli.main(["deploy", str(path), "--region", REGION]) == 0, capsys.readouterr().err
    # Then the definition Step Functions holds is the compact text, with the stack's ARNs in it,
    # byte for byte what was measured, and within the 1 MiB Step Functions accepts
    stepfunctions: Any = boto3.client("stepfunctions", region_name=REGION)
    [machine] = stepfunctions.list_state_machines()["stateMachines"]
    sent = stepfunctions.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
    compiled = compile_checked(load_valid_pipeline(path).pipeline)
    stack = outputs(aws)
    assert sent == definition_json(substitute(compiled.definition, {n: stack[n] for n in compiled.placeholders}))
    assert len(sent.encode()) <= 1024 * 1024


def test_deploy_checks_every_target_before_creating_anything_and_says_what_to_run(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The targets are read from moto (CodeBuild, ECS) and through botocore's Stubber where moto
    has no API: IAM's SimulatePrincipalPolicy, and CodeCommit's GetRepository/ListTagsForResource
    (moto keeps no repository tags), with responses in the shapes AWS documents."""
    from botocore.stub import ANY, Stubber

    from stepline.adapters.aws.targets import AwsTargets

    # Given the FriendReminders targets: a tagged build project whose role lacks the artifact
    # policy, an untagged ECS service, and a CodeCommit repository that does not exist
    iam: Any = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="codebuild-reminders", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("codebuild", region_name=REGION).create_project(
        name="FriendRemindersBuild",
        source={"type": "S3", "location": "stepline-artifactbucket-arti1a2b3c4d/FriendReminders/source.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=role,
        tags=[{"key": "stepline", "value": "enabled"}],
    )
    ecs: Any = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="friendreminders")
    definition = ecs.register_task_definition(
        family="remindersmgt", containerDefinitions=[{"name": "rails", "image": "rails", "memory": 512}]
    )
    ecs.create_service(
        cluster="friendreminders",
        serviceName="remindersmgt",
        taskDefinition=definition["taskDefinition"]["taskDefinitionArn"],
        desiredCount=1,
    )
    simulated: Any = boto3.client("iam", region_name=REGION)
    codecommit: Any = boto3.client("codecommit", region_name=REGION)
    stubs = Stubber(simulated), Stubber(codecommit)

    def results(denied: list[str], actions: list[str]) -> dict[str, Any]:
        return {
            "EvaluationResults": [
                {"EvalActionName": a, "EvalDecision": "implicitDeny" if a in denied else "allowed"} for a in actions
            ]
        }

    objects = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    bucket_level = ["s3:GetBucketAcl", "s3:GetBucketLocation"]
    stubs[1].add_client_error("get_repository", "RepositoryDoesNotExistException")
    stubs[0].add_response(
        "simulate_principal_policy",
        results(["s3:GetObjectVersion", "s3:PutObject"], objects),
        {
            "PolicySourceArn": role,
            "ActionNames": objects,
            "ResourceArns": [
                "arn:aws:s3:::stepline-artifactbucket-arti1a2b3c4d/FriendReminders/stepline-access-check.zip"
            ],
        },
    )
    stubs[0].add_response(
        "simulate_principal_policy",
        results([], bucket_level),
        {"PolicySourceArn": role, "ActionNames": bucket_level, "ResourceArns": ANY},
    )
    clients = {"iam": simulated, "codecommit": codecommit}
    monkeypatch.setattr(
        "stepline.cli.deploy.targets",
        lambda region: AwsTargets(lambda service: clients.get(service) or boto3.client(service, region_name=REGION)),
    )
    # When the pipeline is deployed
    with stubs[0], stubs[1]:
        code = cli.main(["deploy", str(EXAMPLES / "friend-reminders.json"), "--region", REGION])
    # Then nothing is created, and each problem says what to run
    assert code == 1
    error = capsys.readouterr().err
    assert "nothing was deployed; the pipeline's targets are not ready:" in error
    assert "Source.Source: CodeCommit repository 'FriendReminders' does not exist in this account and Region" in error
    assert (
        f"Build.Build: CodeBuild project 'FriendRemindersBuild' runs as {role}, which may not s3:GetObjectVersion, "
        "s3:PutObject on the artifact bucket stepline-artifactbucket-arti1a2b3c4d; attach the stack's artifact policy: "
        f"aws iam attach-role-policy --role-name codebuild-reminders --policy-arn {ARTIFACT_POLICY}"
    ) in error
    assert (
        "Deploy.Deploy: ECS service friendreminders/remindersmgt is not tagged stepline=enabled, so Stepline may not act "
        "on it; tag it: aws resourcegroupstaggingapi tag-resources --resource-arn-list "
        f"arn:aws:ecs:{REGION}:123456789012:service/friendreminders/remindersmgt --tags stepline=enabled"
    ) in error
    assert boto3.client("stepfunctions", region_name=REGION).list_state_machines()["stateMachines"] == []
