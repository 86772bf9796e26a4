"""Commit statuses on one machine: the local runtime tells the reporter (stepline.triggers.reporting)
each start and end in Step Functions' "Execution Status Change" shape, as EventBridge does on AWS.

Reports are made one at a time, so a start's "pending" is on GitHub before its end's result
even when the end is told first; a report that fails is logged and never fails the pipeline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from stepline import wiring
from stepline.adapters.local.workflows import status_change_event
from stepline.observability import logger
from stepline.ports.workflows import Workflows

_one_at_a_time = threading.Lock()


def report_locally(event: dict[str, Any]) -> None:
    with _one_at_a_time:
        try:
            wiring.status_reporter()(event)
        except Exception:
            logger.exception("the execution's status could not be reported on its commit")


class ReportedStarts:
    """The Workflows port, telling ``started`` of each execution it starts (status RUNNING)."""

    def __init__(self, workflows: Workflows, started: Callable[[dict[str, Any]], None] = report_locally) -> None:
        self.workflows = workflows
        self.started = started

    def start(self, state_machine_arn: str, name: str, payload: str) -> str:
        arn = self.workflows.start(state_machine_arn, name, payload)
        self._tell(arn)
        return arn

    def describe(self, execution_arn: str) -> dict[str, object]:
        return self.workflows.describe(execution_arn)

    def executions(self, state_machine_arn: str, limit: int = 50) -> list[dict[str, object]]:
        return self.workflows.executions(state_machine_arn, limit)

    def history(self, execution_arn: str) -> list[dict[str, object]]:
        return self.workflows.history(execution_arn)

    def __getattr__(self, name: str) -> Any:
        """Whatever else the port offers (stopping an execution, …) is the engine's own."""
        return getattr(self.workflows, name)

    def _tell(self, arn: str) -> None:
        described = dict(self.workflows.describe(arn))
        self.started(status_change_event({**described, "status": "RUNNING"}))
