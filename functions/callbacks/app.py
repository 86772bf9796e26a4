"""EventBridge events that finish waiting tasks: CodeBuild builds, ECS and CodeDeploy deployments,
CloudFormation stack operations and Step Functions executions reaching their end. An end nobody waits for yet is
kept until the action that started the work links it (stepline.actions.completions)."""

from typing import Any

from stepline import wiring
from stepline.actions.build.codebuild import BuildStateChange, finish_codebuild
from stepline.actions.deploy.codedeploy import DeploymentStateChange as CodeDeployStateChange
from stepline.actions.deploy.codedeploy import finish_codedeploy
from stepline.actions.deploy.ecs import DeploymentStateChange, finish_ecs_deployment
from stepline.actions.deploy.stack_work import StackStatusChange, finish_stack_operation
from stepline.actions.invoke_states import ExecutionStatusChange, finish_state_machine
from stepline.errors import ConfigurationError
from stepline.handlers import parse
from stepline.observability import correlate, logger

HANDLED = "CodeBuild, ECS, CodeDeploy, CloudFormation and Step Functions state changes"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    kind = event.get("detail-type") if isinstance(event, dict) else None
    waiters, callbacks = wiring.waiters, wiring.task_callbacks
    if kind == "CodeBuild Build State Change":
        build = parse(BuildStateChange, event)
        correlate(build.detail.build_id)
        outcome = finish_codebuild(build, wiring.build_service(), waiters(), callbacks())
    elif kind == "ECS Deployment State Change":
        deployment = parse(DeploymentStateChange, event)
        correlate(deployment.detail.deployment_id)
        outcome = finish_ecs_deployment(deployment, wiring.container_service(), waiters(), callbacks())
    elif kind == "CodeDeploy Deployment State-change Notification":
        deployment_change = parse(CodeDeployStateChange, event)
        correlate(deployment_change.detail.deployment_id)
        outcome = finish_codedeploy(deployment_change, wiring.code_deployments(), waiters(), callbacks())
    elif kind == "CloudFormation Stack Status Change":
        stack = parse(StackStatusChange, event)
        correlate(stack.detail.stack_id)
        outcome = finish_stack_operation(stack, wiring.stacks(), wiring.artifact_store(), waiters(), callbacks())
    elif kind == "Step Functions Execution Status Change":
        execution = parse(ExecutionStatusChange, event)
        correlate(execution.detail.execution_arn)
        store, ended = wiring.artifact_store(), execution.detail  # a pipeline's end: its events told
        outcome = wiring.announce_end(ended.execution_arn, ended.state_machine_arn, ended.status) or (
            finish_state_machine(execution, wiring.workflows(), store, waiters(), callbacks())
        )
    else:
        raise ConfigurationError(f"the callbacks function handles {HANDLED}, not {kind!r}")
    logger.info(outcome)
    return {"outcome": outcome}
