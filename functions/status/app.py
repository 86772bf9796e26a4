"""Each execution of a pipeline registered with --report-status, reported on the GitHub commit
it builds: pending, then success, failure or error (Step Functions' execution status changes,
or CodePipeline-shaped pipeline execution state changes)."""

from typing import Any

from stepline import wiring


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"posted": wiring.status_reporter()(event)}
