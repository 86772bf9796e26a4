"""Deploy/AWS/CodeDeploy (EC2/on-premises) and Deploy/AWS/CodeDeployToECS (ECS blue/green).

CodeDeploy: the input artifact, a zip with its appspec.yml, is the revision (CodeDeploy reads it
from the artifact bucket, so the artifact must be in S3). CodeDeployToECS: the task definition
and AppSpec templates come from artifacts and are filled in (``ecs_blue_green``), the task
definition registered, and the AppSpec sent as the revision's content.

Both follow ``stepline.actions.completions`` (kind ``codedeploy``): the waiter is registered
before CreateDeployment, the deployment attached after, and the sweeper's BatchGetDeployments
answers it once: Succeeded succeeds with the deployment's id; Failed or Stopped fails with
CodeDeploy's error. What a first attempt started is recorded, so a retry starts nothing again.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field

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
from stepline.actions.deploy.ecs_blue_green import blue_green_revision
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import CodeDeployments
from stepline.ports.deployments import ContainerService
from stepline.ports.records import Records
from stepline.ports.waiters import Completion, TaskCallbacks, Waiter, Waiters

Revision = Callable[[], dict[str, object]]


def deploy_with_codedeploy(
    request: ActionRequest,
    store: ArtifactStore,
    deployments: CodeDeployments,
    ecs: ContainerService,
    waiters: Waiters,
    records: Records,
    callbacks: TaskCallbacks,
    now: float,
) -> dict[str, str]:
    """Start the deployment (either provider); the task token waits for its end."""
    label = request.label
    task_token = request.waiting_token("a CodeDeploy action")
    configuration = request.configuration()
    waiter = register(
        waiters,
        Waiter(
            key=waiter_key("codedeploy", request.execution.id, label),
            kind="codedeploy",
            token=task_token,
            action=label,
        ),
        now,
    )
    kind = deployment_work(deployments)
    if answered_before(waiter, kind, waiters, callbacks) is not None:
        return waiter.work
    key = f"{request.execution.id}/{label}"
    deployment = waiter.work.get("deployment") or str((records.get(key) or {}).get("deploymentId", ""))
    if not deployment:
        if request.action.action_type_id.provider == "CodeDeployToECS":
            revision = blue_green_revision(request, store, ecs, configuration, label)
        else:
            revision = _s3_revision(request, label)
        parameters = {
            "applicationName": configuration["ApplicationName"],
            "deploymentGroupName": configuration["DeploymentGroupName"],
            "revision": revision,
            "description": f"Stepline {request.pipeline} {request.execution.name} {label}"[:512],
        }
        deployment = deployments.create(parameters)
        records.put(key, {"deploymentId": deployment})
    work = {"deployment": deployment}
    attach(waiters, waiter, f"codedeploy#{deployment}", work, kind, callbacks)
    return work


def _s3_revision(request: ActionRequest, label: str) -> dict[str, object]:
    """The input artifact as an S3 revision CodeDeploy fetches itself."""
    name = request.action.input_artifacts[0].name
    reference = request.artifacts.get(name)
    if reference is None:
        raise ArtifactError(f"{label}: input artifact {name!r} was not produced in this execution")
    location = urlparse(reference.get("location", ""))
    if location.scheme != "s3":
        raise ConfigurationError(
            f"{label}: CodeDeploy reads its revision from S3, and artifact {name!r} is on this machine "
            f"({reference.get('location')}); run this pipeline on AWS (stepline deploy)"
        )
    return {
        "revisionType": "S3",
        "s3Location": {"bucket": location.netloc, "key": location.path.lstrip("/"), "bundleType": "zip"},
    }


def deployment_work(deployments: CodeDeployments) -> WorkKind:
    """CodeDeploy deployments: answered with the deployment's id; polled with BatchGetDeployments."""

    def answer(waiter: Waiter, completion: Completion) -> Answer:
        if not completion.succeeded:
            return Answer(error=completion.error, cause=completion.cause)
        return Answer(output=action_result({}, {"DeploymentId": waiter.work["deployment"]}))

    def poll(waiting: list[Waiter]) -> dict[str, Completion]:
        by_id = {waiter.work["deployment"]: waiter for waiter in waiting}
        finished: dict[str, Completion] = {}
        found = {str(d.get("deploymentId")): d for d in deployments.describe(list(by_id))}
        for deployment, waiter in by_id.items():
            ended = deployment_ended(deployment, found.get(deployment))
            if ended is not None:
                finished[waiter.key] = ended
        return finished

    return WorkKind(answer=answer, poll=poll)


def deployment_ended(deployment: str, info: dict[str, object] | None) -> Completion | None:
    if info is None:
        return failed("DeploymentFailed", f"CodeDeploy deployment {deployment} does not exist")
    status = info.get("status")
    if status == "Succeeded":
        return Completion(succeeded=True)
    if status in {"Failed", "Stopped"}:
        error = info.get("errorInformation") if isinstance(info.get("errorInformation"), dict) else {}
        assert isinstance(error, dict)
        reason = ": ".join(str(part) for part in (error.get("code"), error.get("message")) if part)
        return failed("DeploymentFailed", f"CodeDeploy deployment {deployment} {status}: {reason or 'no reason given'}")
    return None  # Created, Queued, InProgress, Baking, Ready (waiting to reroute traffic)


class DeploymentDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    deployment_id: str = Field(alias="deploymentId")
    state: str
    application: str = ""
    deployment_group: str = Field("", alias="deploymentGroup")


class DeploymentStateChange(BaseModel):
    """EventBridge's "CodeDeploy Deployment State-change Notification" (source aws.codedeploy)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    detail_type: str = Field(alias="detail-type")
    detail: DeploymentDetail


def finish_codedeploy(
    event: DeploymentStateChange, deployments: CodeDeployments, waiters: Waiters, callbacks: TaskCallbacks
) -> str:
    """A deployment's end, as its event reports it: SUCCESS succeeds; FAILURE and STOP fail with
    the error BatchGetDeployments gives. Kept until the action links it, when it comes first."""
    detail = event.detail
    if detail.state not in {"SUCCESS", "FAILURE", "STOP"}:
        return f"ignored: deployment {detail.deployment_id} is {detail.state}"
    completion = Completion(succeeded=True)
    if detail.state != "SUCCESS":
        found = deployments.describe([detail.deployment_id])
        ended = deployment_ended(detail.deployment_id, found[0] if found else None)
        reason = f"CodeDeploy deployment {detail.deployment_id}: {detail.state}"
        # The event is the newer word when BatchGetDeployments has not caught up.
        completion = ended if ended is not None and not ended.succeeded else failed("DeploymentFailed", reason)
    kind = deployment_work(deployments)
    return complete(f"codedeploy#{detail.deployment_id}", completion, kind, waiters, callbacks)
