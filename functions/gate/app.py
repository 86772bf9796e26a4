"""The stage gate (Task in front of every stage: lambda:invoke.waitForTaskToken; and the release
before the execution's end: lambda:invoke). Decides through the pipeline's lock record and
answers the gate tasks whose turn it is (stepline.control)."""

from typing import Any

from stepline.control.service import GateRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.wiring import run_control


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(GateRequest, event)
    correlate(request.execution.id)
    run_control().handle(request)
    return {"operation": request.operation, "stage": request.stage}
