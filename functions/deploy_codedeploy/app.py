"""Deploy/AWS/CodeDeploy and CodeDeployToECS (Task: lambda:invoke.waitForTaskToken): start the
CodeDeploy deployment (for ECS blue/green, after registering the filled-in task definition);
the sweeper answers the token when CodeDeploy reports its end."""

from typing import Any

from stepline.actions.deploy.codedeploy import deploy_with_codedeploy
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_store, code_deployments, container_service, now, records, task_callbacks, waiters


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return deploy_with_codedeploy(
        request,
        artifact_store(),
        code_deployments(),
        container_service(),
        waiters(),
        records(),
        task_callbacks(),
        now(),
    )
