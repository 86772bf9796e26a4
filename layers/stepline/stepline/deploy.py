"""``stepline deploy``: a pipeline onto Step Functions, wired to the Stepline stack's functions.

Reads the stack's outputs, compiles the pipeline, fills each ``${Placeholder}`` with the output
of that name, creates or updates the pipeline's state machine under the stack's execution role,
and registers the pipeline (declaration and triggers) so pushes can start it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stepline.adapters.aws.problems import aws_errors
from stepline.compiler import check_definition, compile_checked, definition_json, substitute
from stepline.definition.models import PipelineDeclaration
from stepline.definition.providers import local_repository, source_repository
from stepline.errors import SteplineError
from stepline.ports.pipelines import RegisteredPipeline, Registry
from stepline.preflight import ArtifactBucket
from stepline.registry import state_machine_name

EXECUTION_ROLE_OUTPUT = "PipelineExecutionRoleArn"
ARTIFACT_BUCKET_OUTPUT = "ArtifactBucketName"
ARTIFACT_POLICY_OUTPUT = "ArtifactAccessPolicyArn"
LOG_GROUP_OUTPUT = "PipelineLogGroupArn"
# How `starts_on` names a source's repository, by provider.
_REPOSITORY_LABELS = {
    "CodeCommit": "CodeCommit {}",
    "CodeStarSourceConnection": "{}",
    "GitHub": "GitHub {}",
    "Git": "git {}",
}
REGISTRY_OUTPUT = "PipelinesTableName"


class DeployError(SteplineError):
    """The stack, the account or Step Functions stands in the way; the message says how."""


@dataclass
class DeployPlan:
    pipeline: PipelineDeclaration
    state_machine_name: str
    existing_arn: str | None
    role_arn: str
    registry_table: str
    definition: dict[str, Any]
    bucket: ArtifactBucket
    log_group_arn: str
    warnings: list[str] = field(default_factory=list)

    @property
    def definition_text(self) -> str:
        """Exactly what is sent, and what was measured against Step Functions' limit."""
        return definition_json(self.definition)

    @property
    def change(self) -> Literal["create", "update"]:
        return "create" if self.existing_arn is None else "update"

    def describe(self) -> list[str]:
        """What applying the plan does, a line per effect, for ``--dry-run`` and the log."""
        target = self.existing_arn or self.state_machine_name
        lines = [
            f"{self.change} state machine {target}",
            f"  {len(self.definition['States'])} top-level states, runs as {self.role_arn}",
            f"register pipeline {self.pipeline.name} in table {self.registry_table}",
        ]
        lines += [f"  starts on {start}" for start in starts_on(self.pipeline)] or ["  starts only by hand"]
        return lines


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    missing = f"there is no stack {stack!r} in this account and Region: run sam deploy first"
    with aws_errors(f"reading stack {stack!r}", DeployError, missing):
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def plan(pipeline: PipelineDeclaration, outputs: dict[str, str], stack: str, stepfunctions: Any) -> DeployPlan:
    compiled = compile_checked(pipeline)
    needed = {
        EXECUTION_ROLE_OUTPUT,
        REGISTRY_OUTPUT,
        ARTIFACT_BUCKET_OUTPUT,
        ARTIFACT_POLICY_OUTPUT,
        LOG_GROUP_OUTPUT,
        *compiled.placeholders,
    }
    missing = sorted(needed - outputs.keys())
    if missing:
        raise DeployError(
            f"stack {stack!r} has no output {', '.join(missing)}: it predates this version of "
            "Stepline, or is not a Stepline stack; update it with sam build && sam deploy"
        )
    definition = substitute(compiled.definition, {name: outputs[name] for name in compiled.placeholders})
    # The compiler measured with the longest ARNs possible; this measures the real ones.
    problems = check_definition(definition)
    if problems:
        raise DeployError(f"{pipeline.name} cannot be deployed: " + "; ".join(problems))
    name = state_machine_name(pipeline.name)
    warnings: list[str] = []
    return DeployPlan(
        pipeline=pipeline,
        state_machine_name=name,
        existing_arn=_find_state_machine(stepfunctions, name),
        role_arn=outputs[EXECUTION_ROLE_OUTPUT],
        registry_table=outputs[REGISTRY_OUTPUT],
        definition=definition,
        bucket=ArtifactBucket(outputs[ARTIFACT_BUCKET_OUTPUT], outputs[ARTIFACT_POLICY_OUTPUT]),
        log_group_arn=outputs[LOG_GROUP_OUTPUT],
        warnings=warnings,
    )


def apply(
    plan: DeployPlan, stepfunctions: Any, registry: Registry, clock: Any = time.time, report_status: bool = False
) -> str:
    """Create or update the state machine, then register the pipeline; the state machine's ARN."""
    definition = plan.definition_text
    # Errors only, without execution data: the state holds variables, which may be sensitive.
    logging = {
        "level": "ERROR",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": plan.log_group_arn}}],
    }
    with aws_errors(f"writing state machine {plan.state_machine_name}", DeployError):
        if plan.existing_arn is None:
            arn = str(
                stepfunctions.create_state_machine(
                    name=plan.state_machine_name,
                    definition=definition,
                    roleArn=plan.role_arn,
                    type="STANDARD",
                    loggingConfiguration=logging,
                    tracingConfiguration={"enabled": True},
                    tags=[{"key": "stepline:pipeline", "value": plan.pipeline.name}],
                )["stateMachineArn"]
            )
        else:
            arn = plan.existing_arn
            stepfunctions.update_state_machine(
                stateMachineArn=arn, definition=definition, roleArn=plan.role_arn, loggingConfiguration=logging
            )
    # Registered after the state machine exists, so a push never finds a pipeline it cannot start.
    declaration = plan.pipeline.model_dump(by_alias=True, exclude_none=True, mode="json")
    with aws_errors(f"registering {plan.pipeline.name} in {plan.registry_table}", DeployError):
        registry.put(
            RegisteredPipeline(
                name=plan.pipeline.name,
                state_machine_arn=arn,
                declaration=declaration,
                registered_at=clock(),
                report_status=report_status,
            )
        )
    return arn


def _find_state_machine(stepfunctions: Any, name: str) -> str | None:
    with aws_errors("listing state machines", DeployError):
        for page in stepfunctions.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == name:
                    return str(machine["stateMachineArn"])
    return None


def starts_on(pipeline: PipelineDeclaration, sources: Mapping[str, str] | None = None) -> list[str]:
    """In words, what pushes start the pipeline: one line per source action that watches one.
    On one machine (``sources``: the local repositories mapped to service repositories), a
    source read from a mapped path is watched there; one read from no path is said to be so."""
    triggers = {t.git_configuration.source_action_name: t for t in pipeline.triggers}
    lines = []
    for action in pipeline.stages[0].actions if pipeline.stages else []:
        repository = source_repository(action)
        if repository is None or not repository.detects_changes:
            continue
        where = _REPOSITORY_LABELS[action.action_type_id.provider].format(repository.name)
        if sources is not None and repository.host != "Git":
            mapped = local_repository(repository, sources)
            if mapped is None:
                lines.append(f"nothing: {action.name} reads {where}, which no --source maps to a local repository")
                continue
            where = f"git {mapped} (as {where})"
        trigger = triggers.get(action.name)
        if trigger is None:
            lines.append(f"pushes to {where} branch {repository.branch} ({action.name})")
            continue
        for push in trigger.git_configuration.push or []:
            parts = [
                f"{label} {_criteria(criteria)}"
                for label, criteria in (("tags", push.tags), ("branches", push.branches), ("files", push.file_paths))
                if criteria is not None
            ]
            lines.append(f"pushes to {where} with {', '.join(parts)} ({action.name})")
        for pull in trigger.git_configuration.pull_request or []:
            events = "/".join(event.value for event in pull.events) if pull.events else "OPEN/UPDATED/CLOSED"
            parts = [
                f"{label} {_criteria(criteria)}"
                for label, criteria in (("into branches", pull.branches), ("files", pull.file_paths))
                if criteria is not None
            ]
            lines.append(f"pull requests {events} on {where}{' ' + ', '.join(parts) if parts else ''} ({action.name})")
    return lines


def _criteria(criteria: Any) -> str:
    parts = []
    if criteria.includes:
        parts.append(" | ".join(criteria.includes))
    if criteria.excludes:
        parts.append("not " + " | ".join(criteria.excludes))
    return " ".join(parts)
