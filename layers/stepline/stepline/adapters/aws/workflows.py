"""Starting and reading Step Functions executions on AWS."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError
from stepline.ports.workflows import ExecutionNameTaken, ExecutionNotFound


class StepFunctionsWorkflows:
    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, state_machine_arn: str, name: str, payload: str) -> str:
        try:
            return str(
                self.client.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)["executionArn"]
            )
        except ClientError as error:
            code = error_code(error)
            if code == "ExecutionAlreadyExists":
                raise ExecutionNameTaken(f"an execution named {name!r} already exists with another input") from None
            if code in {"StateMachineDoesNotExist", "InvalidArn"}:
                raise ConfigurationError(f"state machine {state_machine_arn!r} does not exist") from None
            if code in {"ThrottlingException", "ExecutionLimitExceeded"}:
                raise TransientActionError(f"Step Functions could not start {name!r} now: {code}") from None
            raise ConfigurationError(f"Step Functions refused to start {name!r}: {code}") from None

    def executions(self, state_machine_arn: str, limit: int = 50) -> list[dict[str, object]]:
        listed: list[dict[str, object]] = self.client.list_executions(
            stateMachineArn=state_machine_arn, maxResults=limit
        )["executions"]
        return listed

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        """Run control's abandon: StopExecution (stepline.control.levers)."""
        self.client.stop_execution(executionArn=execution_arn, error=error[:256], cause=cause[:32768])

    def history(self, execution_arn: str) -> list[dict[str, object]]:
        events: list[dict[str, object]] = []
        for page in self.client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def describe(self, execution_arn: str) -> dict[str, object]:
        try:
            described: dict[str, object] = self.client.describe_execution(executionArn=execution_arn)
        except ClientError as error:
            if error_code(error) == "ExecutionDoesNotExist":
                raise ExecutionNotFound(f"no execution {execution_arn}") from None
            raise
        return described
