"""The deploy providers' configuration rules (CodePipeline's action reference for CloudFormation
and S3), and the CloudFormation adapter's reading of CloudFormation's answers (botocore's
Stubber with the API reference's error shapes)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stepline.actions.deploy.stack_work import first_failed_resource, is_no_change
from stepline.adapters.aws.cloudformation import CloudFormationStacks
from stepline.definition import Severity
from stepline.definition.models import PipelineDeclaration
from stepline.definition.rules import validate
from tests.helpers import action, codebuild, git_source, pipeline


def stack_action(configuration: dict[str, str], inputs: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return action("Deploy", "Deploy", "CloudFormation", configuration=configuration, inputs=inputs or [], **fields)


def problems(deploy: dict[str, Any]) -> list[tuple[str, str]]:
    document = pipeline(
        ("Source", [git_source()]),
        ("Build", [codebuild("Build", output="Built", namespace="BuildVariables")]),
        ("Deploy", [deploy]),
    )
    declaration = PipelineDeclaration.model_validate(document)
    return [
        (p.path.removeprefix("stages[2].actions[0]."), p.message)
        for p in validate(declaration)
        if p.severity is Severity.ERROR
    ]


def test_a_sam_style_change_set_action_is_valid() -> None:
    configuration = {
        "ActionMode": "CHANGE_SET_REPLACE",
        "StackName": "reminders-api",
        "ChangeSetName": "reminders-api-changes",
        "TemplatePath": "Built::packaged.yaml",
        "TemplateConfiguration": "Built::config/prod.json",
        "Capabilities": "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND",
        "RoleArn": "arn:aws:iam::111122223333:role/cfn",
        "ParameterOverrides": json.dumps(
            {
                "Stage": "prod",
                "CodeKey": {"Fn::GetArtifactAtt": ["Built", "ObjectKey"]},
                "Tag": {"Fn::GetParam": ["Built", "build.json", "ImageTag"]},
            }
        ),
    }
    assert problems(stack_action(configuration, ["Built"])) == []


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (
            {"ActionMode": "CREATE_UPDATE", "StackName": "s"},
            [("configuration.TemplatePath", "is required when ActionMode is CREATE_UPDATE")],
        ),
        (
            {"ActionMode": "CHANGE_SET_EXECUTE", "StackName": "s"},
            [("configuration.ChangeSetName", "is required when ActionMode is CHANGE_SET_EXECUTE")],
        ),
        (
            {"ActionMode": "UPSERT", "StackName": "s"},
            [
                (
                    "configuration.ActionMode",
                    "'UPSERT' is not one of CREATE_UPDATE, DELETE_ONLY, REPLACE_ON_FAILURE, "
                    "CHANGE_SET_REPLACE, CHANGE_SET_EXECUTE",
                )
            ],
        ),
        (
            {"ActionMode": "DELETE_ONLY", "StackName": "s", "Capabilities": "CAPABILITY_IAM,CAPABILITY_ADMIN"},
            [
                (
                    "configuration.Capabilities",
                    "'CAPABILITY_ADMIN' is not a capability: use CAPABILITY_IAM, CAPABILITY_NAMED_IAM, "
                    "CAPABILITY_AUTO_EXPAND",
                )
            ],
        ),
        (
            {"ActionMode": "CREATE_UPDATE", "StackName": "s", "TemplatePath": "packaged.yaml"},
            [("configuration.TemplatePath", "'packaged.yaml' is not ArtifactName::path/to/file")],
        ),
        (
            {"ActionMode": "CREATE_UPDATE", "StackName": "s", "TemplatePath": "Source::packaged.yaml"},
            [("configuration.TemplatePath", "names artifact 'Source', which is not an input of this action")],
        ),
        (
            {
                "ActionMode": "DELETE_ONLY",
                "StackName": "s",
                "ParameterOverrides": '{"Key": {"Fn::GetArtifactAtt": ["Built", "Path"]}}',
            },
            [
                (
                    "configuration.ParameterOverrides",
                    "Key: Fn::GetArtifactAtt attribute 'Path' is not one of BucketName, ObjectKey, URL",
                )
            ],
        ),
        (
            {"ActionMode": "DELETE_ONLY", "StackName": "s", "ParameterOverrides": '{"Key": {"Fn::Sub": "x"}}'},
            [
                (
                    "configuration.ParameterOverrides",
                    "Key: Fn::Sub is not a parameter override function; use Fn::GetArtifactAtt or Fn::GetParam",
                )
            ],
        ),
        (
            {"ActionMode": "DELETE_ONLY", "StackName": "s", "ParameterOverrides": "[1]"},
            [
                (
                    "configuration.ParameterOverrides",
                    'must be a JSON object of parameter name → value, e.g. {"Stage": "prod"}',
                )
            ],
        ),
    ],
    ids=["template", "change-set", "mode", "capability", "path-form", "not-an-input", "attribute", "function", "list"],
)
def test_cloudformation_configuration_problems_name_the_key(
    configuration: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert problems(stack_action(configuration, ["Built"])) == expected


def test_values_with_variables_are_checked_when_the_action_starts() -> None:
    configuration = {"ActionMode": "CREATE_UPDATE", "StackName": "s", "TemplatePath": "#{BuildVariables.Template}"}
    assert problems(stack_action(configuration, ["Built"])) == []


# --- the adapter: CloudFormation's answers read (Stubber, error shapes of the API reference) ---


def test_an_update_with_nothing_to_change_is_not_a_failure() -> None:
    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("update_stack", "ValidationError", "No updates are to be performed.", 400)
        assert CloudFormationStacks(client).update({"StackName": "s", "TemplateBody": "{}"}) is False


def test_a_stack_that_does_not_exist_is_none() -> None:
    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id s does not exist", 400)
        assert CloudFormationStacks(client).describe("s") is None


def test_throttling_is_transient_and_missing_capabilities_say_what_to_add() -> None:
    from stepline.actions.errors import TransientActionError
    from stepline.errors import ConfigurationError

    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stacks = CloudFormationStacks(client)
    with Stubber(client) as stub:
        stub.add_client_error("create_stack", "Throttling", "Rate exceeded", 400)
        with pytest.raises(TransientActionError):
            stacks.create({"StackName": "s", "TemplateBody": "{}"})
        stub.add_client_error(
            "create_stack", "InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]", 400
        )
        with pytest.raises(ConfigurationError) as caught:
            stacks.create({"StackName": "s", "TemplateBody": "{}"})
    assert str(caught.value) == (
        "stack s: Requires capabilities : [CAPABILITY_IAM] (add them to the action's Capabilities)"
    )


def test_no_change_reasons_are_cloudformations_own_words() -> None:
    assert is_no_change(
        "The submitted information didn't contain changes. Submit different information to create a change set."
    )
    assert is_no_change("No updates are to be performed.")
    assert not is_no_change("Template format error: Unresolved resource dependencies [Queue]")


def test_without_a_failed_resource_no_resource_is_named() -> None:
    events = [
        {"LogicalResourceId": "s", "ResourceStatus": "UPDATE_ROLLBACK_COMPLETE"},
        {"LogicalResourceId": "s", "ResourceStatus": "UPDATE_IN_PROGRESS", "ResourceStatusReason": "User Initiated"},
    ]
    assert first_failed_resource(events, "s") is None


def test_an_s3_deploy_without_extract_needs_an_object_key() -> None:
    deploy = action(
        "Deploy", "Deploy", "S3", configuration={"BucketName": "site", "Extract": "false"}, inputs=["Built"]
    )
    assert problems(deploy) == [
        ("configuration.ObjectKey", "is required when Extract is false: it names the object the artifact is written to")
    ]
    deploy["configuration"].update(ObjectKey="site.zip", CannedACL="public")
    [(path, message)] = problems(deploy)
    assert path == "configuration.CannedACL"
    assert message.startswith("'public' is not one of private, public-read")


def test_codebuilds_primary_source_must_be_one_of_its_inputs() -> None:
    build = codebuild("Deploy", source="Built", configuration={"ProjectName": "p", "PrimarySource": "Source"})
    assert problems(build) == [
        ("configuration.PrimarySource", "'Source' is not an input artifact of this action; its inputs: Built")
    ]
    build["configuration"]["PrimarySource"] = "Built"
    assert problems(build) == []


def test_blue_green_templates_and_images_come_from_the_actions_inputs() -> None:
    configuration = {
        "ApplicationName": "app",
        "DeploymentGroupName": "group",
        "TaskDefinitionTemplateArtifact": "Built",
        "AppSpecTemplateArtifact": "Built",
        "Image1ArtifactName": "Image",
        "Image1ContainerName": "IMAGE1_NAME",
    }
    deploy = action("Deploy", "Deploy", "CodeDeployToECS", configuration=configuration, inputs=["Built"])
    assert problems(deploy) == [
        ("configuration.Image1ArtifactName", "names artifact 'Image', which is not an input of this action")
    ]


def test_a_failed_stack_set_operation_names_the_first_account_and_region_that_failed() -> None:
    # Stubber: DescribeStackSetOperation and ListStackSetOperationResults as the API reference shows a failure
    from datetime import UTC, datetime

    from stepline.actions.deploy.stack_sets import stack_set_ended

    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    operation = {"OperationId": "op-1", "StackSetId": "baseline:1", "Action": "UPDATE", "Status": "FAILED"}
    results = [
        {"Account": "111111111111", "Region": "us-east-1", "Status": "SUCCEEDED"},
        {
            "Account": "222222222222",
            "Region": "eu-west-1",
            "Status": "FAILED",
            "StatusReason": "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role",
        },
    ]
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stack_set_operation",
            {"StackSetOperation": {**operation, "CreationTimestamp": datetime(2026, 12, 1, tzinfo=UTC)}},
        )
        stub.add_response("list_stack_set_operation_results", {"Summaries": results})
        ended = stack_set_ended(CloudFormationStacks(client), "baseline", "op-1")
    assert ended == (
        False,
        "stack set baseline operation op-1 FAILED: 222222222222/eu-west-1: "
        "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role",
    )
