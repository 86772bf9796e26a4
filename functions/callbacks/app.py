"""EventBridge events that finish waiting tasks: CodeBuild build and ECS deployment state changes."""

from typing import Any

from stepline import wiring
from stepline.actions.build.codebuild import BuildStateChange, finish_codebuild
from stepline.actions.deploy.ecs import DeploymentStateChange, finish_ecs_deployment
from stepline.actions.errors import ConfigurationError
from stepline.handlers import parse
from stepline.observability import correlate, logger


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    kind = event.get("detail-type") if isinstance(event, dict) else None
    if kind == "CodeBuild Build State Change":
        build = parse(BuildStateChange, event)
        correlate(build.detail.build_id)
        outcome = finish_codebuild(build, wiring.build_service(), wiring.task_tokens(), wiring.task_callbacks())
    elif kind == "ECS Deployment State Change":
        deployment = parse(DeploymentStateChange, event)
        correlate(deployment.detail.deployment_id)
        outcome = finish_ecs_deployment(deployment, wiring.task_tokens(), wiring.task_callbacks())
    else:
        raise ConfigurationError(f"the callbacks function handles CodeBuild and ECS state changes, not {kind!r}")
    logger.info(outcome)
    return {"outcome": outcome}
