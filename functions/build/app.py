"""Build, Test and Commands actions (Task: lambda:invoke.waitForTaskToken).

On AWS the build starts on CodeBuild and the callbacks function answers the token when it ends;
on one machine it runs here and answers at once (stepline.actions.build.Builds).
"""

from typing import Any

from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import builds


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return builds().run(request)
