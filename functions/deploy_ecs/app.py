"""Deploy/AWS/ECS (Task: lambda:invoke.waitForTaskToken): register the new revision and roll it out;
the callbacks function answers the token when ECS reports the deployment's end."""

from typing import Any

from stepline.actions.deploy.ecs import deploy_ecs
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_store, container_service, now, records, task_callbacks, waiters


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return deploy_ecs(request, artifact_store(), container_service(), waiters(), records(), task_callbacks(), now())
