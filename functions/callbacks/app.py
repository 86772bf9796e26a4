"""EventBridge events that finish waiting tasks: CodeBuild build state changes."""

from typing import Any

from stepline.actions.build.codebuild import BuildStateChange, finish_codebuild
from stepline.handlers import parse
from stepline.observability import correlate, logger
from stepline.wiring import build_service, task_callbacks, task_tokens


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    change = parse(BuildStateChange, event)
    correlate(change.detail.build_id)
    outcome = finish_codebuild(change, build_service(), task_tokens(), task_callbacks())
    logger.info(outcome)
    return {"outcome": outcome}
