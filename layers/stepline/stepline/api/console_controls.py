"""The console's levers on a pipeline, posted by its forms (a session's token in each, see
``console.control_token``) or by scripts with the API token: Release change starts an
execution with the source's latest change, as CodePipeline's button does
(``StartPipelineExecution``), then shows it; Stop and wait / Abandon stop a running execution
through run control's lever (``stepline.control.levers.stop_execution``)."""

from __future__ import annotations

import json
import uuid

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from stepline import wiring
from stepline.api import console
from stepline.api.console_pages import path
from stepline.api.pages import SECURITY_HEADERS
from stepline.api.problems import ApiProblem
from stepline.api.requests import form, header
from stepline.control import levers
from stepline.errors import SteplineError
from stepline.observability import logger
from stepline.ports.workflows import ExecutionNotFound, execution_arn

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@router.post("/pipelines/<name>/release")
def release_change(name: str) -> Response[str]:
    console._signed_in()
    entry = console._pipeline(name)
    scripted = bool(header(router.current_event, "authorization"))
    if not scripted:
        console.check_control_token(form(router.current_event).get("csrf", ""))
    who = "the API token" if scripted else "the console"
    payload = {"trigger": {"type": "StartPipelineExecution", "startedBy": who}, "variables": {}}
    execution = str(uuid.uuid4())
    wiring.workflows().start(entry.state_machine_arn, execution, json.dumps(payload, sort_keys=True))
    logger.info("release change", extra={"pipeline": entry.name, "execution": execution, "by": who})
    target = f"{console._base()}/pipelines/{path(entry.name)}/executions/{path(execution)}"
    return Response(303, content_types.TEXT_HTML, "", {**SECURITY_HEADERS, "Location": target})


@router.post("/pipelines/<name>/executions/<execution>/stop")
def stop_execution(name: str, execution: str) -> Response[str]:
    """Stop and wait (running actions finish, nothing new starts) or Abandon (stopped now)."""
    console._signed_in()
    entry = console._pipeline(name)
    scripted = bool(header(router.current_event, "authorization"))
    fields = {} if scripted else form(router.current_event)
    if not scripted:
        console.check_control_token(fields.get("csrf", ""))
    workflows = wiring.workflows()
    arn = execution_arn(entry.state_machine_arn, execution)
    try:
        described = workflows.describe(arn)
    except ExecutionNotFound:
        raise ApiProblem(404, "No such execution", f"{name} has no execution {execution!r}", page=True) from None
    reason = fields.get("reason", "").strip() or "stopped from the console"
    try:
        levers.stop_execution(
            wiring.run_control(), entry, arn, described, reason, fields.get("how") == "abandon", workflows
        )
    except SteplineError as error:
        raise ApiProblem.of(error, page=True) from None
    target = f"{console._base()}/pipelines/{path(entry.name)}/executions/{path(execution)}"
    return Response(303, content_types.TEXT_HTML, "", {**SECURITY_HEADERS, "Location": target})
