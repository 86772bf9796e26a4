"""Build and Commands actions on AWS: StartBuild now, the task's answer when the build ends.

Starting: the input artifacts become the build's S3 sources (the primary one first, the others
secondary sources named after the artifacts), the output artifacts S3 locations beside the
execution's other artifacts, and the action's ``EnvironmentVariables`` the environment
overrides. The waiter (``stepline.actions.completions``) is registered before StartBuild and
the build id attached after it; ``idempotencyToken`` (the waiter's own digest) makes a retried
start the same build (CodeBuild keeps it five minutes), and an attempt that finds a build id on
its waiter starts nothing.

Ending: EventBridge delivers "CodeBuild Build State Change", or the sweeper finds the build
finished with BatchGetBuilds; either way the task is answered once: success with the output
artifacts and the exported variables, or failure naming the phase, its context and the logs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stepline.actions.completions import (
    Answer,
    WorkKind,
    action_digest,
    answered_before,
    attach,
    complete,
    failed,
    register,
    waiter_key,
)
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError
from stepline.ports.builds import BuildService
from stepline.ports.waiters import Completion, TaskCallbacks, Waiter, Waiters

FINISHED = {"SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT", "FAULT"}
# The shared project that runs Compute/AWS/Commands actions (template.yaml creates it).
COMMANDS_PROJECT_SETTING = "COMMANDS_PROJECT"


@dataclass(frozen=True)
class CodeBuildBuilds:
    """Builds on AWS: started on CodeBuild; the callbacks function answers the token when one ends."""

    service: BuildService
    waiters: Waiters
    callbacks: TaskCallbacks
    bucket: str
    clock: Callable[[], float]
    commands_project: str | None = None

    def run(self, request: ActionRequest) -> dict[str, Any]:
        started = start_codebuild(
            request, self.service, self.waiters, self.callbacks, self.bucket, self.clock(), self.commands_project
        )
        return {"buildId": started}


def start_codebuild(
    request: ActionRequest,
    builds: BuildService,
    waiters: Waiters,
    callbacks: TaskCallbacks,
    bucket: str,
    now: float,
    commands_project: str | None = None,
) -> str:
    task_token = request.waiting_token("a build")
    parameters = _build_parameters(request, bucket, commands_project)
    waiter = register(waiters, _waiter(request, task_token, bucket), now)
    kind = build_work(builds)
    if answered_before(waiter, kind, waiters, callbacks) is not None:
        return waiter.work.get("id", "")
    build_id = waiter.work.get("id") or builds.start(parameters)
    attach(waiters, waiter, f"build#{build_id}", {"id": build_id}, kind, callbacks)
    return build_id


def _sources(request: ActionRequest, label: str) -> list[tuple[str, str]]:
    """The input artifacts as (name, bucket/key), the primary source first."""
    sources = []
    for artifact in request.action.input_artifacts:
        reference = request.artifacts.get(artifact.name)
        if reference is None or reference.get("type") != "S3":
            raise ArtifactError(f"{label}: input artifact {artifact.name!r} is not in the S3 artifact store")
        sources.append((artifact.name, reference["location"].removeprefix("s3://")))
    primary_name = request.configuration().get("PrimarySource") or sources[0][0]
    return sorted(sources, key=lambda source: source[0] != primary_name)


def _build_parameters(request: ActionRequest, bucket: str, commands_project: str | None) -> dict[str, Any]:
    """StartBuild's parameters: the project, its sources and artifacts overridden for this action."""
    configuration = request.configuration()
    action = request.action
    label = request.label
    ordered = _sources(request, label)
    folder = f"{request.pipeline}/{request.execution.name}"
    outputs = [artifact.name for artifact in action.output_artifacts]
    parameters: dict[str, Any] = {
        "projectName": configuration.get("ProjectName") or commands_project or "",
        "sourceTypeOverride": "S3",
        "sourceLocationOverride": ordered[0][1],
        "environmentVariablesOverride": _environment(configuration, action.environment_variables or []),
        "idempotencyToken": action_digest(request.execution.id, label),
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
    return parameters


def _waiter(request: ActionRequest, token: str, bucket: str) -> Waiter:
    """What the callbacks function needs to answer the token when the build ends."""
    action = request.action
    label = request.label
    folder = f"{request.pipeline}/{request.execution.name}"
    return Waiter(
        key=waiter_key("build", request.execution.id, label),
        kind="build",
        token=token,
        action=label,
        context={
            "artifacts": {
                artifact.name: {"type": "S3", "location": f"s3://{bucket}/{folder}/{artifact.name}.zip"}
                for artifact in action.output_artifacts
            },
            "variables": list(action.output_variables or []) if action.commands else None,
        },
    )


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


class BuildContext(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    status_code: str = Field("", alias="statusCode")
    message: str = ""


class DescribedPhase(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    phase_type: str = Field(alias="phaseType")
    phase_status: str | None = Field(None, alias="phaseStatus")
    contexts: list[BuildContext] = Field(default_factory=list)


class DescribedBuild(BaseModel):
    """A build as BatchGetBuilds describes it (the fields an answer needs)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    id: str
    build_status: str = Field(alias="buildStatus")
    phases: list[DescribedPhase] = Field(default_factory=list)
    logs: dict[str, Any] = Field(default_factory=dict)
    exported: list[dict[str, str]] = Field(default_factory=list, alias="exportedEnvironmentVariables")


def build_completion(status: str, phases: list[tuple[str, str | None, list[str]]], link: str | None) -> Completion:
    """How a finished build ended, from an event or BatchGetBuilds alike."""
    if status == "SUCCEEDED":
        return Completion(succeeded=True)
    broken = next((phase for phase in phases if phase[1] in {"FAILED", "TIMED_OUT", "FAULT", "STOPPED"}), None)
    where = f"phase {broken[0]} {broken[1]}" if broken else f"build {status}"
    context = "; ".join(item for item in (broken[2] if broken else []) if item) or "no details"
    cause = f"{where}: {context}" + (f" (logs: {link})" if link else "")
    return failed({"TIMED_OUT": "BuildTimedOut", "STOPPED": "BuildStopped"}.get(status, "BuildFailed"), cause)


def build_work(builds: BuildService) -> WorkKind:
    """Builds: answered with the artifacts and exported variables; polled with BatchGetBuilds."""

    def answer(waiter: Waiter, completion: Completion) -> Answer:
        if not completion.succeeded:
            return Answer(error=completion.error, cause=completion.cause)
        exported = completion.variables
        if exported is None:
            exported = builds.exported_variables(waiter.work["id"])
        wanted = waiter.context.get("variables")
        if isinstance(wanted, list):
            exported = {name: value for name, value in exported.items() if name in wanted}
        artifacts = waiter.context.get("artifacts")
        return Answer(output=action_result(artifacts if isinstance(artifacts, dict) else {}, exported))

    def poll(waiting: list[Waiter]) -> dict[str, Completion]:
        by_build = {waiter.work["id"]: waiter.key for waiter in waiting}
        finished: dict[str, Completion] = {}
        ids = sorted(by_build)
        for start in range(0, len(ids), 100):  # BatchGetBuilds takes at most 100 ids
            for described in builds.describe(ids[start : start + 100]):
                try:
                    build = DescribedBuild.model_validate(described)
                except ValidationError:
                    continue
                if build.build_status not in FINISHED or build.id not in by_build:
                    continue
                phases = [
                    (p.phase_type, p.phase_status, [f"{c.status_code}: {c.message}" for c in p.contexts])
                    for p in build.phases
                ]
                completion = build_completion(build.build_status, phases, build.logs.get("deepLink"))
                if completion.succeeded:
                    completion = Completion(
                        succeeded=True, variables={v["name"]: v.get("value", "") for v in build.exported}
                    )
                finished[by_build[build.id]] = completion
        return finished

    return WorkKind(answer=answer, poll=poll)


def finish_codebuild(event: BuildStateChange, builds: BuildService, waiters: Waiters, callbacks: TaskCallbacks) -> str:
    """Answer the task waiting for this build (or keep the end until one waits); what was done."""
    detail = event.detail
    if detail.build_status not in FINISHED:
        return f"ignored: build {detail.build_id} is {detail.build_status}"
    build_id = detail.build_id.rsplit("/", 1)[-1]  # the event names the build by ARN; StartBuild by id
    phases = [(p.phase_type, p.phase_status, p.phase_context) for p in detail.additional_information.phases]
    completion = build_completion(detail.build_status, phases, detail.additional_information.logs.get("deep-link"))
    return complete(f"build#{build_id}", completion, build_work(builds), waiters, callbacks)
