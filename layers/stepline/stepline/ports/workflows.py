"""State machine executions: Step Functions on AWS, the embedded engine locally."""

from __future__ import annotations

from typing import Protocol

from stepline.errors import Conflict


class ExecutionNotFound(LookupError):
    """No execution of that ARN: the engine and Step Functions both report it as this."""


class ExecutionNameTaken(Conflict):
    """An execution of that name exists with another input (Step Functions' ExecutionAlreadyExists)."""


class Workflows(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: str) -> str:
        """Start (or find, for the same name and input) an execution; return its ARN.
        ExecutionNameTaken when one of that name exists with another input."""
        ...

    def describe(self, execution_arn: str) -> dict[str, object]:
        """DescribeExecution's answer; ExecutionNotFound when there is none."""
        ...

    def executions(self, state_machine_arn: str, limit: int = 50) -> list[dict[str, object]]:
        """The newest executions first, as ListExecutions gives them."""
        ...

    def history(self, execution_arn: str) -> list[dict[str, object]]:
        """Every history event, oldest first, as GetExecutionHistory gives them."""
        ...

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        """Abort the execution now (StopExecution): run control's abandon."""
        ...


def start_new(workflows: Workflows, state_machine_arn: str, name: str, payload: str) -> str | None:
    """Start an execution unless one of that name exists already (then None): a trigger
    names executions after the event, so a redelivered event starts nothing."""
    # Asked first because Step Functions (and the engine) answer a start with the same name and
    # input as a success while that execution runs: only the describe tells old from new.
    try:
        workflows.describe(execution_arn(state_machine_arn, name))
        return None
    except ExecutionNotFound:
        pass
    try:
        return workflows.start(state_machine_arn, name, payload)
    except ExecutionNameTaken:
        return None  # started a moment ago by a concurrent delivery of the same event


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives execution ``name`` of a state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
