"""Deploy/AWS/ECS, as CodePipeline's standard ECS deployment does it.

Read ``FileName`` (default ``imagedefinitions.json``: ``[{"name", "imageUri"}]``) from the
input artifact; take the service's current task definition; replace the image of each named
container, changing nothing else; register that as a new revision; point the service at it
(turning on the deployment circuit breaker, with rollback, when the service has none: without
it ECS never reports a failed deployment, and the stage would wait for its whole timeout).

The waiter (``stepline.actions.completions``) is registered before the service is updated and
the deployment attached after; ECS's "ECS Deployment State Change" event for that deployment —
or the sweeper reading the deployment's rolloutState — answers it once: COMPLETED succeeds,
FAILED (the circuit breaker, which may roll back) fails with ECS's reason. A retried attempt
finds what the first one registered and deployed: no second revision, no second update.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stepline.actions.artifacts import fetched_input
from stepline.actions.completions import (
    Answer,
    WorkKind,
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
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.deployments import ContainerService
from stepline.ports.records import Records
from stepline.ports.waiters import Completion, TaskCallbacks, Waiter, Waiters

# CodePipeline's limit on the image definitions file.
MAX_IMAGE_DEFINITIONS_BYTES = 100 * 1024
# Fields describe_task_definition returns that register_task_definition does not take.
READ_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)


def read_image_definitions(folder: Path, file_name: str, label: str) -> dict[str, str]:
    path = (folder / file_name).resolve()
    if folder.resolve() not in path.parents:
        raise ArtifactError(f"{label}: FileName {file_name!r} points outside the artifact")
    if not path.is_file():
        present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())[:10]
        raise ArtifactError(
            f"{label}: {file_name} is not in the input artifact (it has: {', '.join(present) or 'nothing'})"
        )
    if path.stat().st_size > MAX_IMAGE_DEFINITIONS_BYTES:
        raise ArtifactError(
            f"{label}: {file_name} is larger than CodePipeline's {MAX_IMAGE_DEFINITIONS_BYTES // 1024} KB"
        )
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        where = (
            f"line {error.lineno}, column {error.colno}: {error.msg}"
            if isinstance(error, json.JSONDecodeError)
            else str(error)
        )
        raise ArtifactError(f"{label}: {file_name} is not valid JSON ({where})") from None
    if not isinstance(entries, list):
        raise ArtifactError(f'{label}: {file_name} must be a JSON list of {{"name", "imageUri"}} objects')
    if not entries:
        raise ArtifactError(f"{label}: {file_name} is an empty list: it names no container to update")
    images: dict[str, str] = {}
    for index, entry in enumerate(entries):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("imageUri"), str)
        ):
            raise ArtifactError(
                f'{label}: {file_name} entry {index} must be an object with string "name" and "imageUri"'
            )
        images[entry["name"]] = entry["imageUri"]
    return images


def rewrite_task_definition(current: dict[str, Any], images: dict[str, str], label: str) -> dict[str, Any]:
    """The same task definition with new images for the named containers, and nothing else changed."""
    containers = current.get("containerDefinitions", [])
    names = [container["name"] for container in containers]
    unknown = sorted(set(images) - set(names))
    if unknown:
        raise ConfigurationError(
            f"{label}: imagedefinitions names {', '.join(repr(n) for n in unknown)}, but the task definition "
            f"{current.get('family')!r} has only these containers: {', '.join(names)}"
        )
    definition = {key: value for key, value in current.items() if key not in READ_ONLY}
    definition["containerDefinitions"] = [
        {**container, "image": images[container["name"]]} if container["name"] in images else container
        for container in containers
    ]
    return definition


def deploy_ecs(
    request: ActionRequest,
    store: ArtifactStore,
    ecs: ContainerService,
    waiters: Waiters,
    records: Records,
    callbacks: TaskCallbacks,
    now: float,
) -> dict[str, str]:
    """Start the rolling update; returns the task definition and deployment (the token waits)."""
    label = request.label
    task_token = request.waiting_token("an ECS deployment")
    configuration = request.configuration()
    cluster, service = configuration["ClusterName"], configuration["ServiceName"]
    waiter = register(
        waiters,
        Waiter(key=waiter_key("ecs", request.execution.id, label), kind="ecs", token=task_token, action=label),
        now,
    )
    kind = deployment_work(ecs)
    if answered_before(waiter, kind, waiters, callbacks) is not None:
        return _variables(waiter.work)
    key = f"{request.execution.id}/{label}"
    done = records.get(key) or {}
    arn = str(done.get("taskDefinitionArn", ""))
    if not arn:
        images = _images(request, store, configuration.get("FileName") or "imagedefinitions.json", label)
        definition = rewrite_task_definition(ecs.current_task_definition(cluster, service), images, label)
        arn = ecs.register(definition)
        records.put(key, {"taskDefinitionArn": arn})
    deployment = waiter.work.get("deployment") or str(done.get("deploymentId", "")) or ecs.update(cluster, service, arn)
    records.put(key, {"taskDefinitionArn": arn, "deploymentId": deployment})
    work = {"cluster": cluster, "service": service, "deployment": deployment, "taskDefinitionArn": arn}
    attach(waiters, waiter, f"ecs#{deployment}", work, kind, callbacks)
    return _variables(work)


def _variables(work: dict[str, str]) -> dict[str, str]:
    return {"TaskDefinitionArn": work.get("taskDefinitionArn", ""), "DeploymentId": work.get("deployment", "")}


def deployment_work(ecs: ContainerService) -> WorkKind:
    """ECS deployments: answered with the revision and deployment; polled with DescribeServices."""

    def answer(waiter: Waiter, completion: Completion) -> Answer:
        if not completion.succeeded:
            return Answer(error=completion.error, cause=completion.cause)
        return Answer(output=action_result({}, _variables(waiter.work)))

    def poll(waiting: list[Waiter]) -> dict[str, Completion]:
        finished: dict[str, Completion] = {}
        for waiter in waiting:
            cluster, service, deployment = waiter.work["cluster"], waiter.work["service"], waiter.work["deployment"]
            found = ecs.deployments(cluster, service)
            current = next((d for d in found if d.get("id") == deployment), None)
            if current is None:
                finished[waiter.key] = failed(
                    "DeploymentFailed",
                    f"deployment {deployment} of {cluster}/{service} is gone: the service was deleted, or a "
                    "later deployment replaced it before it completed",
                )
            elif current.get("rolloutState") == "COMPLETED":
                finished[waiter.key] = Completion(succeeded=True)
            elif current.get("rolloutState") == "FAILED":
                reason = str(current.get("rolloutStateReason") or "no reason given")
                finished[waiter.key] = failed(
                    "DeploymentFailed", f"deployment {deployment} of {cluster}/{service} failed: {reason}"
                )
        return finished

    return WorkKind(answer=answer, poll=poll)


def _images(request: ActionRequest, store: ArtifactStore, file_name: str, label: str) -> dict[str, str]:
    with fetched_input(request, store, label) as (artifact, folder):
        return read_image_definitions(folder, file_name, f"{label} ({artifact})")


class DeploymentDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    event_type: str = Field(alias="eventType")
    event_name: str = Field(alias="eventName")
    deployment_id: str = Field(alias="deploymentId")
    reason: str = ""


class DeploymentStateChange(BaseModel):
    """EventBridge's "ECS Deployment State Change" event (source aws.ecs)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    detail_type: str = Field(alias="detail-type")
    resources: list[str] = Field(default_factory=list)
    detail: DeploymentDetail


def finish_ecs_deployment(
    event: DeploymentStateChange, ecs: ContainerService, waiters: Waiters, callbacks: TaskCallbacks
) -> str:
    detail = event.detail
    if detail.event_name not in {"SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"}:
        return f"ignored: deployment {detail.deployment_id} is {detail.event_name}"
    if detail.event_name == "SERVICE_DEPLOYMENT_COMPLETED":
        completion = Completion(succeeded=True)
    else:
        service = event.resources[0] if event.resources else "the service"
        reason = detail.reason or "no reason given"
        completion = failed("DeploymentFailed", f"deployment {detail.deployment_id} of {service} failed: {reason}")
    return complete(f"ecs#{detail.deployment_id}", completion, deployment_work(ecs), waiters, callbacks)
