"""Every five minutes (EventBridge Scheduler): answer the tasks whose builds, deployments,
executions or stack operations ended without their event reaching Stepline, and approvals whose
answer a crash interrupted (stepline.actions.sweeper)."""

from typing import Any

from stepline import wiring
from stepline.actions.sweeper import sweep_once, work_kinds
from stepline.observability import logger
from stepline.settings import settings


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[str]]:
    kinds = work_kinds(
        wiring.build_service,
        wiring.container_service,
        wiring.workflows,
        wiring.artifact_store,
        wiring.stacks,
        wiring.code_deployments,
        wiring.environments,
    )
    waiting, approvals, callbacks = wiring.waiters(), wiring.approvals(), wiring.task_callbacks()
    outcomes = sweep_once(waiting, approvals, kinds, callbacks, wiring.now(), settings().sweep_after_seconds)
    for outcome in outcomes:
        logger.info(outcome)
    return {"outcomes": outcomes}
