"""Source actions (Task: lambda:invoke): fetch the commit or object, store it, return its variables."""

from typing import Any

from stepline.actions.request import ActionRequest
from stepline.actions.source import run_source_action
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_store, source_provider


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return run_source_action(request, source_provider(request.action.action_type_id.provider), artifact_store())
