"""The console's levers on a pipeline, posted by its forms (a session's token in each, see
``console.control_token``) or by scripts with the API token: Release change starts an
execution with the source's latest change, as CodePipeline's button does
(``StartPipelineExecution``), then shows it."""

from __future__ import annotations

import json
import uuid

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from stepline import wiring
from stepline.api import console
from stepline.api.console_pages import path
from stepline.api.pages import SECURITY_HEADERS
from stepline.api.requests import form, header
from stepline.observability import logger

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
