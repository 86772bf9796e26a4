"""Action types of installed plugins (Task: lambda:invoke): run the plugin in this process
with the action's artifacts and return its output variables (stepline.definition.plugins)."""

from typing import Any

from stepline.actions.plugins import run_plugin
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_store


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return run_plugin(request, artifact_store())
