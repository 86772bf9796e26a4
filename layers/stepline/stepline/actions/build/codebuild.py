"""Build and Commands actions on AWS: StartBuild now, the task's answer when the build ends.

Starting: the input artifacts become the build's S3 sources (the primary one first, the others
secondary sources named after the artifacts), the output artifacts S3 locations beside the
execution's other artifacts, and the action's ``EnvironmentVariables`` the environment
overrides. The task token is remembered by build id. ``idempotencyToken`` makes a retried
start the same build (CodeBuild keeps it five minutes).

Ending: EventBridge delivers "CodeBuild Build State Change"; a finished build's token is
claimed once (redeliveries find nothing), and the task succeeds with the output artifacts and
the exported variables, or fails naming the phase, its context and the logs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stepline.actions.errors import ArtifactError, ConfigurationError
from stepline.actions.request import ActionRequest, action_result
from stepline.ports import BuildService, TaskCallbacks, TaskTokens

FINISHED = {"SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT", "FAULT"}
# The shared project that runs Compute/AWS/Commands actions (template.yaml creates it).
COMMANDS_PROJECT_SETTING = "COMMANDS_PROJECT"


def start_codebuild(
    request: ActionRequest, builds: BuildService, tokens: TaskTokens, bucket: str, commands_project: str | None = None
) -> str:
    if request.task_token is None:
        raise ConfigurationError(
            f"{request.stage}.{request.action.name}: a build waits for a task token, and none came"
        )
    configuration = request.configuration()
    action = request.action
    label = f"{request.stage}.{action.name}"
    sources = []
    for artifact in action.input_artifacts:
        reference = request.artifacts.get(artifact.name)
        if reference is None or reference.get("type") != "S3":
            raise ArtifactError(f"{label}: input artifact {artifact.name!r} is not in the S3 artifact store")
        sources.append((artifact.name, reference["location"].removeprefix("s3://")))
    primary_name = configuration.get("PrimarySource") or sources[0][0]
    ordered = sorted(sources, key=lambda source: source[0] != primary_name)
    folder = f"{request.pipeline}/{request.execution.name}"
    outputs = [artifact.name for artifact in action.output_artifacts]
    parameters: dict[str, Any] = {
        "projectName": configuration.get("ProjectName") or commands_project or "",
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": ordered[0][1],
        "environmentVariablesOverride": _environment(configuration, action.environment_variables or []),
        "idempotencyToken": hashlib.sha256(f"{request.execution.id}/{label}".encode()).hexdigest()[:64],
    }
    if not parameters["projectName"]:
        raise ConfigurationError(
            f"{label}: no CodeBuild project runs Commands actions ({COMMANDS_PROJECT_SETTING} is unset)"
        )
    if len(ordered) > 1:
        parameters["secondarySourcesOverride"] = [
            {"type": "S3", "location": location, "sourceIdentifier": name} for name, location in ordered[1:]
        ]
    if outputs:
        parameters["artifactsOverride"] = _artifact(bucket, folder, outputs[0])
        if len(outputs) > 1:
            parameters["secondaryArtifactsOverride"] = [
                {**_artifact(bucket, folder, name), "artifactIdentifier": name} for name in outputs[1:]
            ]
    if action.commands:
        commands = request.commands()
        parameters["buildspecOverride"] = _commands_buildspec(request, commands.commands)
        parameters["environmentVariablesOverride"] += [
            {"name": name, "value": value, "type": "PLAINTEXT"} for name, value in commands.environment.items()
        ]
    elif configuration.get("BuildspecOverride"):
        parameters["buildspecOverride"] = configuration["BuildspecOverride"]
    build_id = builds.start(parameters)
    tokens.remember(
        build_id,
        {
            "taskToken": request.task_token,
            "action": label,
            "artifacts": {name: {"type": "S3", "location": f"s3://{bucket}/{folder}/{name}.zip"} for name in outputs},
            "variables": list(action.output_variables or []) if action.commands else None,
        },
    )
    return build_id


def _artifact(bucket: str, folder: str, name: str) -> dict[str, Any]:
    return {
        "type": "S3",
        "location": bucket,
        "path": folder,
        "name": f"{name}.zip",
        "packaging": "ZIP",
        "namespaceType": "NONE",
        "overrideArtifactName": False,
    }


def _environment(configuration: dict[str, str], declared: list[Any]) -> list[dict[str, str]]:
    entries = json.loads(configuration["EnvironmentVariables"]) if configuration.get("EnvironmentVariables") else []
    entries += [variable.model_dump() for variable in declared]
    return [
        {"name": str(e["name"]), "value": str(e["value"]), "type": str(e.get("type", "PLAINTEXT"))} for e in entries
    ]


def _commands_buildspec(request: ActionRequest, commands: list[str]) -> str:
    action = request.action
    spec: dict[str, Any] = {"version": 0.2, "phases": {"build": {"commands": commands}}}
    if action.output_variables:
        spec["env"] = {"exported-variables": list(action.output_variables)}
    if action.output_artifacts:
        spec["artifacts"] = {"files": action.output_artifacts[0].files or ["**/*"]}
    return json.dumps(spec)


class BuildPhase(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    phase_type: str = Field(alias="phase-type")
    phase_status: str | None = Field(None, alias="phase-status")
    phase_context: list[str] = Field(default_factory=list, alias="phase-context")


class BuildInformation(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    phases: list[BuildPhase] = Field(default_factory=list)
    logs: dict[str, Any] = Field(default_factory=dict)


class BuildStateDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    build_status: str = Field(alias="build-status")
    build_id: str = Field(alias="build-id")
    project_name: str = Field(alias="project-name")
    additional_information: BuildInformation = Field(default_factory=BuildInformation, alias="additional-information")


class BuildStateChange(BaseModel):
    """EventBridge's "CodeBuild Build State Change" event (source aws.codebuild)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    detail_type: str = Field(alias="detail-type")
    source: str
    detail: BuildStateDetail


def finish_codebuild(
    event: BuildStateChange, builds: BuildService, tokens: TaskTokens, callbacks: TaskCallbacks
) -> str:
    """Answer the task waiting for this build; returns what was done, for the log."""
    detail = event.detail
    if detail.build_status not in FINISHED:
        return f"ignored: build {detail.build_id} is {detail.build_status}"
    build_id = detail.build_id.rsplit("/", 1)[-1]  # the event names the build by ARN; StartBuild by id
    record = tokens.claim(build_id)
    if record is None:
        return f"ignored: no task waits for build {build_id} (not a pipeline build, or already answered)"
    token = str(record["taskToken"])
    if detail.build_status == "SUCCEEDED":
        exported = builds.exported_variables(build_id)
        wanted = record.get("variables")
        if isinstance(wanted, list):
            exported = {name: value for name, value in exported.items() if name in wanted}
        artifacts = record.get("artifacts")
        callbacks.succeed(token, action_result(artifacts if isinstance(artifacts, dict) else {}, exported))
        return f"succeeded: {record.get('action')} (build {build_id})"
    failed = next(
        (
            phase
            for phase in detail.additional_information.phases
            if phase.phase_status in {"FAILED", "TIMED_OUT", "FAULT", "STOPPED"}
        ),
        None,
    )
    where = f"phase {failed.phase_type} {failed.phase_status}" if failed else f"build {detail.build_status}"
    context = "; ".join(item for item in (failed.phase_context if failed else []) if item) or "no details"
    link = detail.additional_information.logs.get("deep-link")
    cause = f"{where}: {context}" + (f" (logs: {link})" if link else "")
    error = {"TIMED_OUT": "BuildTimedOut", "STOPPED": "BuildStopped"}.get(detail.build_status, "BuildFailed")
    callbacks.fail(token, error, cause)
    return f"failed: {record.get('action')} (build {build_id}): {cause}"
