"""The steps of statemachines/lambda_deploy.asl.json: prepare, shift, check, rollback."""

from typing import Any

from stepline.actions.deploy.lambda_deploy import run_step
from stepline.observability import correlate
from stepline.wiring import artifact_store, lambda_functions, records


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event.get("request") if isinstance(event, dict) else None
    correlate(request.get("execution", {}).get("id") if isinstance(request, dict) else None)
    return run_step(event, lambda_functions(), records(), artifact_store())
