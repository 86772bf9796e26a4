"""Deploy/AWS/CloudFormation, CloudFormationStackSet and CloudFormationStackInstances (Task:
lambda:invoke.waitForTaskToken): start the stack or stack set operation; the sweeper answers
the token when CloudFormation reports its end."""

from typing import Any

from stepline.actions.deploy.cloudformation import deploy_stack
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_store, now, records, stacks, task_callbacks, template_uploads, waiters


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return deploy_stack(
        request, artifact_store(), stacks(), waiters(), records(), task_callbacks(), now(), template_uploads()
    )
