"""Custom action types (Task: lambda:invoke.waitForTaskToken): queue the action's job with its
token for the workers of its type. The token is answered when a worker reports the job's
result through the CodePipeline API (PutJobSuccessResult, PutJobFailureResult)."""

from typing import Any

from stepline.actions.jobs import queue_job
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import jobs


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    job = queue_job(request, jobs())
    return {"job": job.id}
