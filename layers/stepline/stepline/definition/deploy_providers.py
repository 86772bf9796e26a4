"""Deploy providers that act on an AWS account: CloudFormation and S3, with CodePipeline's
configuration rules (its action reference: keys, which keys each ActionMode needs, the forms
of TemplatePath, ParameterOverrides and Capabilities, artifact counts, timeouts)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stepline.definition.provider_types import Integration, Provider, boolean, one_of

STACK_MODES = ("CREATE_UPDATE", "DELETE_ONLY", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE")
# The modes that read a template, and those that name a change set.
TEMPLATE_MODES = frozenset({"CREATE_UPDATE", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE"})
CHANGE_SET_MODES = frozenset({"CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE"})
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
ARTIFACT_ATTRIBUTES = ("BucketName", "ObjectKey", "URL")
CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "aws-exec-read",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)


def artifact_path(value: str) -> tuple[str, str] | None:
    """``ArtifactName::path/in/it`` split in two, or None when it is not of that form."""
    artifact, separator, path = value.partition("::")
    if not separator or not artifact or not path:
        return None
    return artifact, path


def _capabilities(value: str) -> str | None:
    unknown = [item for item in (part.strip() for part in value.split(",")) if item not in CAPABILITIES]
    if unknown:
        return f"{', '.join(repr(u) for u in unknown)} is not a capability: use {', '.join(CAPABILITIES)}"
    return None


def override_problem(name: str, value: Any, inputs: list[str]) -> str | None:
    """What is wrong with one ParameterOverrides value: a string, or Fn::GetArtifactAtt /
    Fn::GetParam naming one of the action's input artifacts."""
    if isinstance(value, str):
        return None
    if not isinstance(value, dict) or len(value) != 1:
        return f"{name}: a value is a string, Fn::GetArtifactAtt or Fn::GetParam"
    [(function, arguments)] = value.items()
    shapes = {"Fn::GetArtifactAtt": 2, "Fn::GetParam": 3}
    if function not in shapes:
        return f"{name}: {function} is not a parameter override function; use Fn::GetArtifactAtt or Fn::GetParam"
    count = shapes[function]
    if not isinstance(arguments, list) or len(arguments) != count or not all(isinstance(a, str) for a in arguments):
        return f"{name}: {function} takes a list of {count} strings"
    if arguments[0] not in inputs:
        return f"{name}: {function} names artifact {arguments[0]!r}, which is not an input of this action"
    if function == "Fn::GetArtifactAtt" and arguments[1] not in ARTIFACT_ATTRIBUTES:
        return f"{name}: Fn::GetArtifactAtt attribute {arguments[1]!r} is not one of {', '.join(ARTIFACT_ATTRIBUTES)}"
    return None


def _overrides_problems(value: str, inputs: list[str]) -> list[str]:
    try:
        overrides = json.loads(value)
    except json.JSONDecodeError as error:
        return [f"is not valid JSON ({error.msg} at character {error.pos})"]
    if not isinstance(overrides, dict):
        return ['must be a JSON object of parameter name → value, e.g. {"Stage": "prod"}']
    return [problem for name, item in overrides.items() if (problem := override_problem(name, item, inputs))]


def _stack_configuration(configuration: Mapping[str, str], inputs: list[str]) -> list[tuple[str, str]]:
    mode = configuration.get("ActionMode", "")
    problems: list[tuple[str, str]] = []
    if mode in TEMPLATE_MODES and "TemplatePath" not in configuration:
        problems.append(("TemplatePath", f"is required when ActionMode is {mode}"))
    if mode in CHANGE_SET_MODES and "ChangeSetName" not in configuration:
        problems.append(("ChangeSetName", f"is required when ActionMode is {mode}"))
    for key in ("TemplatePath", "TemplateConfiguration"):
        value = configuration.get(key, "")
        if not value or "#{" in value:
            continue
        split = artifact_path(value)
        if split is None:
            problems.append((key, f"{value!r} is not ArtifactName::path/to/file"))
        elif split[0] not in inputs:
            problems.append((key, f"names artifact {split[0]!r}, which is not an input of this action"))
    overrides = configuration.get("ParameterOverrides", "")
    if overrides and "#{" not in overrides:
        problems += [("ParameterOverrides", problem) for problem in _overrides_problems(overrides, inputs)]
    return problems


def _s3_configuration(configuration: Mapping[str, str], inputs: list[str]) -> list[tuple[str, str]]:
    if configuration.get("Extract", "").lower() == "false" and not configuration.get("ObjectKey"):
        return [("ObjectKey", "is required when Extract is false: it names the object the artifact is written to")]
    return []


def _blue_green_configuration(configuration: Mapping[str, str], inputs: list[str]) -> list[tuple[str, str]]:
    keys = ["TaskDefinitionTemplateArtifact", "AppSpecTemplateArtifact"]
    keys += [f"Image{n}ArtifactName" for n in range(1, 5)]
    return [
        (key, f"names artifact {configuration[key]!r}, which is not an input of this action")
        for key in keys
        if configuration.get(key) and "#{" not in configuration[key] and configuration[key] not in inputs
    ]


_OPERATION_PREFERENCES = ("FailureTolerancePercentage", "MaxConcurrentPercentage")


def _percentage(value: str) -> str | None:
    if value.isdigit() and 0 <= int(value) <= 100:
        return None
    return f"{value!r} is not a whole percentage from 0 to 100"


def _stack_set_configuration(configuration: Mapping[str, str], inputs: list[str]) -> list[tuple[str, str]]:
    """TemplatePath is a file in one of the action's input artifacts."""
    value = configuration.get("TemplatePath", "")
    if not value or "#{" in value:
        return []
    split = artifact_path(value)
    if split is None:
        return [("TemplatePath", f"{value!r} is not ArtifactName::path/to/file")]
    if split[0] not in inputs:
        return [("TemplatePath", f"names artifact {split[0]!r}, which is not an input of this action")]
    return []


DEPLOY_PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "Deploy",
        "AWS",
        "CloudFormation",
        "a CloudFormation stack created, updated, replaced or deleted, or a change set made or executed",
        handler="DeployCloudFormationFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset({"ActionMode", "StackName"}),
        optional=frozenset(
            {
                "Capabilities",
                "ChangeSetName",
                "OutputFileName",
                "ParameterOverrides",
                "RoleArn",
                "TemplateConfiguration",
                "TemplatePath",
            }
        ),
        inputs=(0, 10),
        outputs=(0, 1),
        output_variables=None,  # the stack's outputs
        timeout_minutes=3 * 24 * 60,
        value_checks={"ActionMode": one_of(*STACK_MODES), "Capabilities": _capabilities},
        configuration_check=_stack_configuration,
        acts_on_aws=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "S3",
        "the input artifact written to an S3 bucket, extracted or as one object",
        handler="DeployS3FunctionArn",
        integration=Integration.INVOKE,
        required=frozenset({"BucketName", "Extract"}),
        optional=frozenset({"ObjectKey", "KMSEncryptionKeyARN", "CannedACL", "CacheControl"}),
        inputs=(1, 1),
        output_variables=frozenset(),
        timeout_minutes=90,
        value_checks={"Extract": boolean, "CannedACL": one_of(*CANNED_ACLS)},
        configuration_check=_s3_configuration,
        acts_on_aws=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "CodeDeploy",
        "a CodeDeploy deployment of the input artifact to EC2 or on-premises instances",
        handler="DeployCodeDeployFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset({"ApplicationName", "DeploymentGroupName"}),
        inputs=(1, 1),
        output_variables=frozenset({"DeploymentId"}),  # Stepline's addition
        timeout_minutes=5 * 24 * 60,
        acts_on_aws=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "CodeDeployToECS",
        "an ECS blue/green deployment through CodeDeploy, from taskdef.json and appspec.yaml templates",
        handler="DeployCodeDeployFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset(
            {"ApplicationName", "DeploymentGroupName", "TaskDefinitionTemplateArtifact", "AppSpecTemplateArtifact"}
        ),
        optional=frozenset(
            {"TaskDefinitionTemplatePath", "AppSpecTemplatePath"}
            | {f"Image{n}{suffix}" for n in range(1, 5) for suffix in ("ArtifactName", "ContainerName")}
        ),
        inputs=(1, 5),
        output_variables=frozenset({"DeploymentId"}),  # Stepline's addition
        timeout_minutes=5 * 24 * 60,
        configuration_check=_blue_green_configuration,
        acts_on_aws=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "CloudFormationStackSet",
        "a CloudFormation stack set created or updated, and its instances with it",
        handler="DeployCloudFormationFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset({"StackSetName", "TemplatePath"}),
        optional=frozenset(
            {
                "AdministrationRoleArn",
                "Capabilities",
                "DeploymentTargets",
                "Description",
                "ExecutionRoleName",
                "OrganizationsAutoDeployment",
                "Parameters",
                "PermissionModel",
                "Regions",
                *_OPERATION_PREFERENCES,
            }
        ),
        inputs=(1, 10),
        timeout_minutes=3 * 24 * 60,
        value_checks={
            "Capabilities": _capabilities,
            "PermissionModel": one_of("SELF_MANAGED", "SERVICE_MANAGED"),
            "OrganizationsAutoDeployment": one_of("Disabled", "Enabled", "EnabledWithStackRetention"),
            **{key: _percentage for key in _OPERATION_PREFERENCES},
        },
        configuration_check=_stack_set_configuration,
        acts_on_aws=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "CloudFormationStackInstances",
        "a stack set's instances created or updated in the given accounts and Regions",
        handler="DeployCloudFormationFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset({"StackSetName", "DeploymentTargets", "Regions"}),
        optional=frozenset({"ParameterOverrides", *_OPERATION_PREFERENCES}),
        inputs=(0, 10),
        timeout_minutes=3 * 24 * 60,
        value_checks={key: _percentage for key in _OPERATION_PREFERENCES},
        configuration_check=_stack_set_configuration,
        acts_on_aws=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "ElasticBeanstalk",
        "the input artifact as an Elastic Beanstalk application version, deployed to the environment",
        handler="DeployBeanstalkFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset({"ApplicationName", "EnvironmentName"}),
        inputs=(1, 1),
        output_variables=frozenset({"VersionLabel"}),  # Stepline's addition
        acts_on_aws=True,
    ),
)
