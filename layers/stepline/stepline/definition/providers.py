"""The action providers Stepline runs, and what CodePipeline documents about each.

Configuration keys, artifact counts and output variables follow CodePipeline's action
reference. ``Source/Custom/Git`` and the ``BuildspecOverride`` key are Stepline's own and are
marked so. The registry also says how each action runs: which Lambda handler (as a
``${Placeholder}`` the compiler leaves for the runtime to fill) and with which integration.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stepline.definition.deploy_providers import DEPLOY_PROVIDERS
from stepline.definition.models import ActionDeclaration, ActionTypeId
from stepline.definition.plugins import PLUGINS_HANDLER, ActionPlugin, find_plugin
from stepline.definition.provider_types import Integration, Provider, boolean, minutes, one_of

__all__ = [
    "JOBS_HANDLER",
    "PROVIDERS",
    "Integration",
    "Provider",
    "find_provider",
    "job_provider",
    "plugin_provider",
    "supported_type_names",
]

_DEPLOY_STRATEGY = re.compile(
    r"^(AllAtOnce|Canary(?P<cp>\d+)Percent(?P<cm>\d+)Minutes?"
    r"|Linear(?P<lp>\d+)PercentEvery(?P<lm>\d+)Minutes?)$"
)
# CodePipeline caps the whole traffic shift at two days.
_MAX_SHIFT_MINUTES = 2 * 24 * 60


def _deploy_strategy(value: str) -> str | None:
    match = _DEPLOY_STRATEGY.match(value)
    if match is None:
        return (
            f"{value!r} is not a deploy strategy: use AllAtOnce, "
            "Canary<P>Percent<M>Minutes or Linear<P>PercentEvery<M>Minutes"
        )
    percent = int(match["cp"] or match["lp"] or 100)
    minutes = int(match["cm"] or match["lm"] or 0)
    if not 1 <= percent <= 99 and value != "AllAtOnce":
        return f"{value!r} shifts {percent}% at a time; use 1 to 99"
    steps = -(-100 // percent) - 1 if match["lp"] else 1
    if minutes * steps > _MAX_SHIFT_MINUTES:
        return f"{value!r} takes {minutes * steps} minutes; the limit is {_MAX_SHIFT_MINUTES}"
    return None


def _codebuild_environment(value: str) -> str | None:
    """CodePipeline's EnvironmentVariables: a JSON list of {name, value, type}."""
    try:
        entries = json.loads(value)
    except json.JSONDecodeError as error:
        return f"is not valid JSON ({error.msg} at character {error.pos})"
    if not isinstance(entries, list):
        return "must be a JSON list of {name, value, type} objects"
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return f"entry {index} must be an object with a string 'name'"
        if not isinstance(entry.get("value"), str):
            return f"entry {index} ({entry['name']}) must have a string 'value'"
        kind = entry.get("type", "PLAINTEXT")
        if kind not in {"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"}:
            allowed = "PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER"
            return f"entry {index} ({entry['name']}) has type {kind!r}; use {allowed}"
    return None


def _codebuild_configuration(configuration: Mapping[str, str], inputs: list[str]) -> list[tuple[str, str]]:
    """PrimarySource names the input artifact the build runs in (CodeBuild's primary source)."""
    primary = configuration.get("PrimarySource", "")
    if primary and "#{" not in primary and primary not in inputs:
        return [
            ("PrimarySource", f"{primary!r} is not an input artifact of this action; its inputs: {', '.join(inputs)}")
        ]
    return []


_GIT_VARIABLES = frozenset({"CommitId", "CommitMessage", "BranchName", "AuthorDate", "CommitterDate", "RepositoryName"})


def _source(owner: str, provider: str, summary: str, **details: Any) -> Provider:
    """Source actions share a handler and produce exactly one artifact."""
    return Provider(
        "Source",
        owner,
        provider,
        summary,
        handler="SourceFunctionArn",
        integration=Integration.INVOKE,
        outputs=(1, 1),
        **details,
    )


PROVIDERS: tuple[Provider, ...] = (
    _source(
        "AWS",
        "CodeCommit",
        "a CodeCommit branch (locally: a git repository mapped to the repository name)",
        required=frozenset({"RepositoryName", "BranchName"}),
        optional=frozenset({"PollForSourceChanges", "OutputArtifactFormat"}),
        output_variables=_GIT_VARIABLES,
        value_checks={
            "PollForSourceChanges": boolean,
            "OutputArtifactFormat": one_of("CODE_ZIP", "CODEBUILD_CLONE_REF"),
        },
        not_yet_supported={
            "OutputArtifactFormat": (
                "CODEBUILD_CLONE_REF",
                "the artifact is a CODE_ZIP of the commit",
            ),
        },
    ),
    _source(
        "AWS",
        "CodeStarSourceConnection",
        "a GitHub, GitLab or Bitbucket branch through a connection",
        required=frozenset({"ConnectionArn", "FullRepositoryId", "BranchName"}),
        optional=frozenset({"OutputArtifactFormat", "DetectChanges"}),
        output_variables=frozenset(
            {
                "AuthorDate",
                "BranchName",
                "CommitId",
                "CommitMessage",
                "ConnectionArn",
                "FullRepositoryName",
            }
        ),
        value_checks={
            "DetectChanges": boolean,
            "OutputArtifactFormat": one_of("CODE_ZIP", "CODEBUILD_CLONE_REF"),
        },
        not_yet_supported={
            "OutputArtifactFormat": (
                "CODEBUILD_CLONE_REF",
                "the artifact is a CODE_ZIP of the commit",
            ),
        },
    ),
    _source(
        "ThirdParty",
        "GitHub",
        "a GitHub branch with an OAuth token (GitHub version 1 action)",
        required=frozenset({"Owner", "Repo", "Branch", "OAuthToken"}),
        optional=frozenset({"PollForSourceChanges"}),
        output_variables=frozenset(
            {
                "AuthorDate",
                "BranchName",
                "CommitId",
                "CommitMessage",
                "CommitterDate",
                "CommitUrl",
                "RepositoryName",
            }
        ),
        value_checks={"PollForSourceChanges": boolean},
    ),
    _source(
        "AWS",
        "S3",
        "a versioned S3 object",
        required=frozenset({"S3Bucket", "S3ObjectKey"}),
        optional=frozenset({"PollForSourceChanges", "AllowOverrideForS3ObjectKey"}),
        output_variables=frozenset({"ETag", "VersionId"}),
        value_checks={"PollForSourceChanges": boolean, "AllowOverrideForS3ObjectKey": boolean},
    ),
    _source(
        "AWS",
        "ECR",
        "an ECR image tag, read as its digest (locally: an image reference file, or ECR itself)",
        required=frozenset({"RepositoryName"}),
        optional=frozenset({"ImageTag"}),
        output_variables=frozenset({"RegistryId", "RepositoryName", "ImageTag", "ImageDigest", "ImageURI"}),
    ),
    _source(
        "Custom",
        "Git",
        "any git repository by URL or path (Stepline's own provider)",
        required=frozenset({"RepositoryUrl"}),
        optional=frozenset({"BranchName"}),
        output_variables=_GIT_VARIABLES,
        stepline_only=True,
    ),
    *(
        Provider(
            category,
            "AWS",
            "CodeBuild",
            "a CodeBuild project (locally: its buildspec run by Stepline's runner)",
            handler="BuildFunctionArn",
            integration=Integration.CALLBACK,
            required=frozenset({"ProjectName"}),
            # BuildspecOverride is Stepline's: a buildspec path other than buildspec.yml.
            optional=frozenset(
                {
                    "PrimarySource",
                    "BatchEnabled",
                    "CombineArtifacts",
                    "EnvironmentVariables",
                    "BuildspecOverride",
                }
            ),
            inputs=(1, 5),
            outputs=(0, 5),
            output_variables=None,
            timeout_minutes=8 * 60,
            value_checks={
                "BatchEnabled": boolean,
                "CombineArtifacts": boolean,
                "EnvironmentVariables": _codebuild_environment,
            },
            configuration_check=_codebuild_configuration,
            not_yet_supported={
                "BatchEnabled": ("true", "a single build runs"),
                "CombineArtifacts": ("true", "artifacts are not combined"),
            },
        )
        for category in ("Build", "Test")
    ),
    Provider(
        "Compute",
        "AWS",
        "Commands",
        "shell commands on managed build compute (locally: a subprocess)",
        handler="BuildFunctionArn",
        integration=Integration.CALLBACK,
        optional=frozenset({"ComputeType"}),
        inputs=(1, 10),
        outputs=(0, 1),
        output_variables=None,  # the action's own outputVariables list decides
        v2_only=True,
        takes_commands=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "ECS",
        "a rolling ECS service update from imagedefinitions.json",
        handler="DeployEcsFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset({"ClusterName", "ServiceName"}),
        optional=frozenset({"FileName", "DeploymentTimeout"}),
        inputs=(1, 1),
        # Stepline's additions; CodePipeline's ECS action has no output variables.
        output_variables=frozenset({"TaskDefinitionArn", "DeploymentId"}),
        value_checks={"DeploymentTimeout": minutes(1, 60)},
        acts_on_aws=True,
    ),
    Provider(
        "Deploy",
        "AWS",
        "Lambda",
        "new Lambda code published and traffic shifted to it through an alias",
        handler="LambdaDeployStateMachineArn",
        integration=Integration.NESTED,
        required=frozenset({"FunctionName"}),
        # Alarms (comma-separated CloudWatch alarm names that roll the shift back) is Stepline's.
        optional=frozenset({"FunctionAlias", "PublishedTargetVersion", "DeployStrategy", "Alarms"}),
        inputs=(0, 1),
        output_variables=None,
        v2_only=True,
        timeout_minutes=_MAX_SHIFT_MINUTES + 60,
        value_checks={"DeployStrategy": _deploy_strategy},
        acts_on_aws=True,
    ),
    Provider(
        "Approval",
        "AWS",
        "Manual",
        "a person approves or rejects from a signed link, the console or the CLI",
        handler="ApprovalFunctionArn",
        integration=Integration.CALLBACK,
        optional=frozenset({"NotificationArn", "ExternalEntityLink", "CustomData"}),
        timeout_minutes=7 * 24 * 60,
    ),
    Provider(
        "Invoke",
        "AWS",
        "Lambda",
        "your Lambda function, given the action's UserParameters and artifacts",
        handler="InvokeFunctionArn",
        integration=Integration.INVOKE,
        required=frozenset({"FunctionName"}),
        optional=frozenset({"UserParameters"}),
        inputs=(0, 5),
        outputs=(0, 5),
        output_variables=None,
    ),
    Provider(
        "Invoke",
        "AWS",
        "StepFunctions",
        "a Step Functions state machine, waited on until it ends",
        handler="InvokeFunctionArn",
        integration=Integration.CALLBACK,
        required=frozenset({"StateMachineArn"}),
        optional=frozenset({"ExecutionNamePrefix", "InputType", "Input"}),
        inputs=(0, 1),
        outputs=(0, 1),
        output_variables=frozenset({"StateMachineArn", "ExecutionArn"}),
        timeout_minutes=7 * 24 * 60,
        value_checks={"InputType": one_of("Literal", "FilePath")},
    ),
    *DEPLOY_PROVIDERS,
)

_BY_KEY: dict[tuple[str, str, str], Provider] = {provider.key: provider for provider in PROVIDERS}


JOBS_HANDLER = "JobsFunctionArn"
# CodePipeline's limits on a custom action type's artifacts (ArtifactDetails: 0 to 5 each).
_JOB_ARTIFACTS = (0, 5)


def job_provider(type_id: ActionTypeId) -> Provider:
    """A ``Custom``-owned type Stepline does not run itself: each run is a job that a worker of
    that custom action type polls for and reports on (CodePipeline's job worker API). Which
    configuration keys and artifacts it takes is the type's, registered with
    CreateCustomActionType: the API checks them when a pipeline is created."""
    return Provider(
        type_id.category,
        "Custom",
        type_id.provider,
        "a job for the workers of a custom action type",
        handler=JOBS_HANDLER,
        integration=Integration.CALLBACK,
        inputs=_JOB_ARTIFACTS,
        outputs=_JOB_ARTIFACTS,
        output_variables=None,
        versions=frozenset({type_id.version}),
        open_configuration=True,
    )


def plugin_provider(plugin: ActionPlugin) -> Provider:
    """An action type an installed package provides (``definition.plugins``), run in-process."""
    return Provider(
        plugin.category,
        "Custom",
        plugin.provider,
        "an in-process plugin (an installed package's stepline.actions entry point)",
        handler=PLUGINS_HANDLER,
        integration=Integration.INVOKE,
        required=frozenset(plugin.required),
        optional=frozenset(plugin.optional),
        inputs=plugin.inputs,
        outputs=plugin.outputs,
        output_variables=None,
        versions=frozenset({plugin.version}),
    )


def find_provider(type_id: ActionTypeId) -> Provider | None:
    """Stepline's own provider of the type, else an installed plugin's, else (owner Custom) a
    job for the type's workers."""
    found = _BY_KEY.get(type_id.key)
    if found is None and type_id.owner == "Custom":
        plugin = find_plugin(type_id.category.value, type_id.provider)
        return plugin_provider(plugin) if plugin is not None else job_provider(type_id)
    return found


def supported_type_names() -> list[str]:
    return [provider.type_name for provider in PROVIDERS]


# The stage gate every compiled pipeline calls in front of each stage (stepline.control).
GATE_PLACEHOLDER = "StageGateFunctionArn"


# Git-based sources: where their pushes come from, and the configuration keys naming the
# repository (None: GitHub v1's Owner/Repo pair) and the branch.
_GIT_SOURCE_KEYS = {
    "CodeCommit": ("CodeCommit", "RepositoryName", "BranchName"),
    "CodeStarSourceConnection": ("Connection", "FullRepositoryId", "BranchName"),
    "GitHub": ("GitHub", None, "Branch"),
    "Git": ("Git", "RepositoryUrl", "BranchName"),
}


@dataclass(frozen=True)
class SourceRepository:
    """The repository a git-based source action reads, as its configuration names it."""

    host: str  # where its pushes are reported from: CodeCommit, GitHub, Connection (GitHub, GitLab, Bitbucket) or Git
    name: str  # a CodeCommit repository name, GitHub's "owner/repo", or a path or URL
    branch: str
    detects_changes: bool  # False when DetectChanges is "false": pushes do not start it


def local_repository(repository: SourceRepository, sources: Mapping[str, str]) -> str | None:
    """Where a source's repository is on one machine: a Git source's own path or URL, else the
    path ``sources`` maps its name to ("owner/repo", or "repo" alone, for GitHub and connections)."""
    if repository.host == "Git":
        return repository.name
    found = sources.get(repository.name)
    if found is None and repository.host in {"GitHub", "Connection"}:
        found = sources.get(repository.name.rsplit("/", 1)[-1])
    return found


def source_repository(action: ActionDeclaration) -> SourceRepository | None:
    """What a git-based source action reads; None for any other action."""
    keys = _GIT_SOURCE_KEYS.get(action.action_type_id.provider)
    if action.action_type_id.category != "Source" or keys is None:
        return None
    host, repository_key, branch_key = keys
    configuration = action.configuration
    if repository_key is None:
        name = f"{configuration.get('Owner', '')}/{configuration.get('Repo', '')}"
    else:
        name = configuration.get(repository_key, "")
    detects = configuration.get("DetectChanges", "true").lower() != "false"
    return SourceRepository(host, name, configuration.get(branch_key, ""), detects)
