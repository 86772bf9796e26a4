"""Deploy/AWS/ElasticBeanstalk (Task: lambda:invoke.waitForTaskToken): the input artifact as an
application version, the environment updated to it; the sweeper answers the token when the
environment is Ready again."""

from typing import Any

from stepline.actions.deploy.beanstalk import deploy_to_environment
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_store, buckets, environments, now, records, task_callbacks, waiters


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return deploy_to_environment(
        request, artifact_store(), environments(), buckets(), waiters(), records(), task_callbacks(), now()
    )
