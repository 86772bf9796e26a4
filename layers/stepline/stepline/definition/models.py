"""Typed model of CodePipeline's ``PipelineDeclaration``.

Field names, types, lengths and patterns follow CodePipeline's API model (botocore's
``codepipeline`` service definition), so a file that ``aws codepipeline get-pipeline`` printed
parses unchanged. Structural limits live here (they also end up in ``stepline schema``); rules
that relate fields to each other live in ``rules.py``.

Two deliberate departures, both leniencies: ``roleArn`` and the artifact store are optional,
because on Stepline the stack provides the execution role and the artifact bucket; and
configuration values written as YAML booleans or numbers are read as the strings CodePipeline
would store (``PollForSourceChanges: false`` means ``"false"``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

# Patterns from CodePipeline's API model.
NAME_PATTERN = r"^[A-Za-z0-9.@\-_]+$"
ARTIFACT_NAME_PATTERN = r"^[a-zA-Z0-9_\-]+$"
NAMESPACE_PATTERN = r"^[A-Za-z0-9@\-_]+$"
PROVIDER_PATTERN = r"^[0-9A-Za-z_-]+$"
ROLE_ARN_PATTERN = r"^arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*$"
BUCKET_PATTERN = r"^[a-zA-Z0-9\-\.]+$"
ENV_NAME_PATTERN = r"^[A-Za-z0-9_]+$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NAME_PATTERN)]
ArtifactName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=ARTIFACT_NAME_PATTERN)]
Namespace = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NAMESPACE_PATTERN)]
RoleArn = Annotated[str, StringConstraints(max_length=1024, pattern=ROLE_ARN_PATTERN)]
RegionName = Annotated[str, StringConstraints(min_length=4, max_length=30)]
Command = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
GlobPattern = Annotated[str, StringConstraints(min_length=1, max_length=255)]


def _scalar_as_string(value: Any) -> Any:
    """YAML reads ``false`` and ``5`` as bool and int; CodePipeline stores them as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


TypeVersion = Annotated[
    str,
    BeforeValidator(_scalar_as_string, json_schema_input_type=str | bool | int | float),
    StringConstraints(min_length=1, max_length=9, pattern=PROVIDER_PATTERN),
]
ConfigurationKey = Annotated[str, StringConstraints(min_length=1, max_length=50)]
ConfigurationValue = Annotated[
    str,
    BeforeValidator(_scalar_as_string, json_schema_input_type=str | bool | int | float),
    StringConstraints(min_length=1, max_length=1000),
]


class Model(BaseModel):
    """Base for every declaration model: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
    )


class ActionCategory(StrEnum):
    SOURCE = "Source"
    BUILD = "Build"
    DEPLOY = "Deploy"
    TEST = "Test"
    INVOKE = "Invoke"
    APPROVAL = "Approval"
    COMPUTE = "Compute"


class ActionOwner(StrEnum):
    AWS = "AWS"
    THIRD_PARTY = "ThirdParty"
    CUSTOM = "Custom"


class PipelineType(StrEnum):
    V1 = "V1"
    V2 = "V2"


class ExecutionMode(StrEnum):
    QUEUED = "QUEUED"
    SUPERSEDED = "SUPERSEDED"
    PARALLEL = "PARALLEL"


class ConditionResult(StrEnum):
    ROLLBACK = "ROLLBACK"
    FAIL = "FAIL"
    RETRY = "RETRY"
    SKIP = "SKIP"


class EncryptionKey(Model):
    id: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    type: Annotated[str, Field(pattern=r"^KMS$")]


class ArtifactStore(Model):
    type: Annotated[str, Field(pattern=r"^S3$")]
    location: Annotated[str, StringConstraints(min_length=3, max_length=63, pattern=BUCKET_PATTERN)]
    encryption_key: EncryptionKey | None = None


class ActionTypeId(Model):
    category: ActionCategory
    owner: ActionOwner
    provider: Annotated[str, StringConstraints(min_length=1, max_length=35, pattern=PROVIDER_PATTERN)]
    version: TypeVersion

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.category.value, self.owner.value, self.provider)

    def __str__(self) -> str:
        return f"{self.category.value}/{self.owner.value}/{self.provider}"


class InputArtifact(Model):
    name: ArtifactName


class OutputArtifact(Model):
    name: ArtifactName
    # Only the Commands action uses `files`: which paths of its workspace form the artifact.
    files: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] | None,
        Field(min_length=1, max_length=10),
    ] = None


class EnvironmentVariableType(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SECRETS_MANAGER = "SECRETS_MANAGER"


class EnvironmentVariable(Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=ENV_NAME_PATTERN)]
    value: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    type: EnvironmentVariableType = EnvironmentVariableType.PLAINTEXT


class ActionDeclaration(Model):
    name: Name
    action_type_id: ActionTypeId
    run_order: Annotated[int, Field(ge=1, le=999)] = 1
    configuration: dict[ConfigurationKey, ConfigurationValue] = Field(default_factory=dict)
    commands: Annotated[list[Command] | None, Field(min_length=1, max_length=50)] = None
    output_artifacts: list[OutputArtifact] = Field(default_factory=list)
    input_artifacts: list[InputArtifact] = Field(default_factory=list)
    output_variables: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] | None,
        Field(min_length=1, max_length=15),
    ] = None
    role_arn: RoleArn | None = None
    region: RegionName | None = None
    namespace: Namespace | None = None
    timeout_in_minutes: Annotated[int | None, Field(ge=5, le=86400)] = None
    environment_variables: Annotated[list[EnvironmentVariable] | None, Field(min_length=1, max_length=10)] = None


class RuleTypeId(Model):
    category: Annotated[str, Field(pattern=r"^Rule$")]
    owner: Annotated[str, Field(pattern=r"^AWS$")] = "AWS"
    provider: Annotated[str, StringConstraints(min_length=1, max_length=35, pattern=PROVIDER_PATTERN)]
    version: TypeVersion = "1"


class RuleDeclaration(Model):
    name: Name
    rule_type_id: RuleTypeId
    configuration: Annotated[
        dict[
            ConfigurationKey,
            Annotated[
                str,
                BeforeValidator(_scalar_as_string, json_schema_input_type=str | bool | int | float),
                StringConstraints(min_length=1, max_length=10000),
            ],
        ],
        Field(max_length=200),
    ] = Field(default_factory=dict)
    commands: Annotated[list[Command] | None, Field(min_length=1, max_length=50)] = None
    input_artifacts: list[InputArtifact] = Field(default_factory=list)
    role_arn: RoleArn | None = None
    region: RegionName | None = None
    timeout_in_minutes: Annotated[int | None, Field(ge=5, le=86400)] = None


class Condition(Model):
    result: ConditionResult | None = None
    rules: Annotated[list[RuleDeclaration], Field(min_length=1, max_length=5)]


class RetryConfiguration(Model):
    retry_mode: Annotated[str, Field(pattern=r"^(FAILED_ACTIONS|ALL_ACTIONS)$")] | None = None


class FailureConditions(Model):
    result: ConditionResult | None = None
    retry_configuration: RetryConfiguration | None = None
    conditions: Annotated[list[Condition] | None, Field(min_length=1, max_length=1)] = None


class GateConditions(Model):
    """``beforeEntry`` and ``onSuccess``: exactly one condition."""

    conditions: Annotated[list[Condition], Field(min_length=1, max_length=1)]


class BlockerDeclaration(Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    type: Annotated[str, Field(pattern=r"^Schedule$")]


class StageDeclaration(Model):
    name: Name
    actions: list[ActionDeclaration]
    blockers: list[BlockerDeclaration] | None = None
    on_failure: FailureConditions | None = None
    on_success: GateConditions | None = None
    before_entry: GateConditions | None = None


class PipelineVariableDeclaration(Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NAMESPACE_PATTERN)]
    default_value: Annotated[str | None, StringConstraints(min_length=1, max_length=1000)] = None
    description: Annotated[str | None, StringConstraints(max_length=200)] = None


class FilterCriteria(Model):
    includes: Annotated[list[GlobPattern] | None, Field(min_length=1, max_length=8)] = None
    excludes: Annotated[list[GlobPattern] | None, Field(min_length=1, max_length=8)] = None


class GitPushFilter(Model):
    tags: FilterCriteria | None = None
    branches: FilterCriteria | None = None
    file_paths: FilterCriteria | None = None


class PullRequestEvent(StrEnum):
    OPEN = "OPEN"
    UPDATED = "UPDATED"
    CLOSED = "CLOSED"


class GitPullRequestFilter(Model):
    events: Annotated[list[PullRequestEvent] | None, Field(min_length=1, max_length=3)] = None
    branches: FilterCriteria | None = None
    file_paths: FilterCriteria | None = None


class GitConfiguration(Model):
    source_action_name: Name
    push: Annotated[list[GitPushFilter] | None, Field(min_length=1, max_length=3)] = None
    pull_request: Annotated[list[GitPullRequestFilter] | None, Field(min_length=1, max_length=3)] = None


class PipelineTriggerDeclaration(Model):
    provider_type: Annotated[str, Field(pattern=r"^CodeStarSourceConnection$")]
    git_configuration: GitConfiguration


class PipelineDeclaration(Model):
    name: Name
    role_arn: RoleArn | None = None
    artifact_store: ArtifactStore | None = None
    artifact_stores: dict[RegionName, ArtifactStore] | None = None
    stages: list[StageDeclaration]
    version: Annotated[int, Field(ge=1)] = 1
    pipeline_type: PipelineType = PipelineType.V1
    execution_mode: ExecutionMode = ExecutionMode.SUPERSEDED
    variables: Annotated[list[PipelineVariableDeclaration], Field(max_length=50)] = Field(default_factory=list)
    triggers: Annotated[list[PipelineTriggerDeclaration], Field(max_length=50)] = Field(default_factory=list)

    def actions(self) -> list[tuple[int, StageDeclaration, int, ActionDeclaration]]:
        """Every action with its stage, in declaration order, with both indexes."""
        return [
            (stage_index, stage, action_index, action)
            for stage_index, stage in enumerate(self.stages)
            for action_index, action in enumerate(stage.actions)
        ]


class GetPipelineOutput(Model):
    """The whole of ``aws codepipeline get-pipeline``: the declaration plus metadata."""

    pipeline: PipelineDeclaration
    metadata: dict[str, Any] | None = None
