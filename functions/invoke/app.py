"""Invoke actions. Lambda (Task: lambda:invoke): call the user's function and return its
outputVariables. StepFunctions (Task: lambda:invoke.waitForTaskToken): start the state machine;
the callbacks function answers the token when the execution ends."""

from typing import Any

from stepline.actions.invoke import invoke_lambda
from stepline.actions.invoke_states import start_state_machine
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import artifact_bucket, artifact_store, function_invoker, now, task_callbacks, waiters, workflows


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    if request.action.action_type_id.provider == "StepFunctions":
        started = start_state_machine(request, workflows(), artifact_store(), waiters(), task_callbacks(), now())
        return {"executionArn": started}
    return invoke_lambda(request, function_invoker(), artifact_bucket())
