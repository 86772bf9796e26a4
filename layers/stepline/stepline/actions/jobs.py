"""Custom action types run by job workers, as CodePipeline runs them.

An action of a ``Custom`` type Stepline does not run itself (``definition.providers.job_provider``)
becomes a *job* when its Task starts (``lambda:invoke.waitForTaskToken``): ``queue_job`` stores
it with the task token, Queued. A worker polls for its type (``poll``: the job is Dispatched
with a fresh nonce), acknowledges it with that nonce (InProgress), and reports: success (the
output artifacts it uploaded and its output variables answer the task), success with a
continuation token (the job is queued again as a new job carrying the token, so a long task is
reported in steps), or failure (the task fails with the failure's type as the error). A job
dispatched but not acknowledged within ``ACK_SECONDS`` is offered again with a new nonce, so a
worker that died after polling loses nothing. A job is answered once: a second report of a
finished job is refused.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping

from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError, Conflict, NotFound
from stepline.ports.jobs import Job, Jobs
from stepline.ports.waiters import TaskCallbacks

ACK_SECONDS = 60.0  # a dispatched job not acknowledged within this is offered again
_JOB_IDS = uuid.UUID("a3f1c6e2-54b7-4d0e-9c8a-1e2f3a4b5c6d")


class JobNotFound(NotFound):
    """No job of that id (or it was never offered)."""


class JobFinished(Conflict):
    """The job was already reported on."""


class WrongNonce(Conflict):
    """The nonce is not the one the job was last dispatched with."""


def type_key(category: str, provider: str, version: str) -> str:
    return f"{category}/Custom/{provider}/{version}"


def queue_job(request: ActionRequest, jobs: Jobs) -> Job:
    """Store the action's job with its task token, Queued (the same job again for a retried call)."""
    if request.task_token is None:
        raise ConfigurationError("a custom action's job needs the task token (.waitForTaskToken)")
    type_id = request.action.action_type_id
    declared = {artifact.name for artifact in request.action.input_artifacts}
    job = Job(
        id=str(uuid.uuid5(_JOB_IDS, request.task_token)),
        type_key=type_key(type_id.category.value, type_id.provider, type_id.version),
        pipeline=request.pipeline,
        stage=request.stage,
        action=request.action.name,
        execution_id=request.execution.id,
        execution_name=request.execution.name,
        configuration=request.configuration(),
        input_artifacts={name: dict(ref) for name, ref in request.artifacts.items() if name in declared},
        output_artifacts=[artifact.name for artifact in request.action.output_artifacts],
    )
    jobs.add(job, request.task_token)
    return job


def poll(jobs: Jobs, key: str, limit: int, now: float, query: Mapping[str, str] | None = None) -> list[Job]:
    """Up to ``limit`` jobs of the type for a worker: queued ones, and dispatched ones nobody
    acknowledged in time; each handed out with a new nonce. With ``query`` (PollForJobs'
    queryParam), only jobs whose configuration has those values."""
    wanted = dict(query or {})

    def matches(job: Job) -> bool:
        return all(job.configuration.get(key) == value for key, value in wanted.items())

    return jobs.claim(key, limit, now, now - ACK_SECONDS, lambda: secrets.token_hex(16), matches)


def acknowledge(jobs: Jobs, job_id: str, nonce: str) -> Job:
    found = jobs.get(job_id)
    if found is None:
        raise JobNotFound(f"there is no job {job_id}")
    job = found[0]
    if job.status in {"Succeeded", "Failed"}:
        raise JobFinished(f"job {job_id} already {job.status.lower()}")
    if not nonce or job.nonce != nonce:
        raise WrongNonce(f"the nonce is not the one job {job_id} was last dispatched with")
    acknowledged = jobs.acknowledge(job_id, nonce)
    if acknowledged is None:
        raise WrongNonce(f"job {job_id} was dispatched again meanwhile")
    return acknowledged


def _open(jobs: Jobs, job_id: str) -> tuple[Job, str]:
    found = jobs.get(job_id)
    if found is None:
        raise JobNotFound(f"there is no job {job_id}")
    if found[0].status in {"Succeeded", "Failed"}:
        raise JobFinished(f"job {job_id} already {found[0].status.lower()}")
    return found


def succeed(
    jobs: Jobs, callbacks: TaskCallbacks, job_id: str, variables: dict[str, str], continuation: str | None
) -> Job | None:
    """Report success: the task is answered, or with a continuation token a new job is queued
    (returned) carrying it."""
    job, token = _open(jobs, job_id)
    if continuation:
        follow = job.model_copy(
            update={
                "id": str(uuid.uuid5(_JOB_IDS, f"{job.id}\0{continuation}")),
                "continuation_token": continuation,
                "status": "Queued",
                "nonce": "",
                "dispatched_at": None,
            }
        )
        if not jobs.finish(job_id, "Succeeded"):
            raise JobFinished(f"job {job_id} was reported on meanwhile")
        jobs.add(follow, token)
        return follow
    if not jobs.finish(job_id, "Succeeded"):
        raise JobFinished(f"job {job_id} was reported on meanwhile")
    callbacks.succeed(token, action_result(dict(job.produced), variables))
    return None


def fail(jobs: Jobs, callbacks: TaskCallbacks, job_id: str, kind: str, message: str) -> None:
    """Report failure: the task fails with the failure's type as its error."""
    _, token = _open(jobs, job_id)
    if not jobs.finish(job_id, "Failed"):
        raise JobFinished(f"job {job_id} was reported on meanwhile")
    callbacks.fail(token, kind, message)
