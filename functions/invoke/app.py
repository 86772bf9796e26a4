"""Invoke/AWS/Lambda (Task: lambda:invoke): call the user's function; its outputVariables come back."""

from typing import Any

from stepline.actions.invoke import invoke_lambda
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.settings import settings
from stepline.wiring import function_invoker


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    return invoke_lambda(request, function_invoker(), settings().artifact_bucket)
