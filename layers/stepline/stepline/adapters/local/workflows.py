"""State machines on the embedded engine, and their ends as EventBridge would report them."""

from __future__ import annotations

from typing import Any

from stepline.engine import (
    Engine,
    EngineError,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    StateMachineDoesNotExist,
)
from stepline.errors import ConfigurationError
from stepline.ports.workflows import ExecutionNameTaken, ExecutionNotFound


class EngineWorkflows:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def local_arn(self, arn: str) -> str:
        """The ARN on this engine of the state machine (or execution) an AWS ARN names: by its
        name, whatever Region and account a pipeline written for AWS gives (this engine has one
        of each)."""
        for kind in (":stateMachine:", ":execution:"):
            prefix, _, name = arn.partition(kind)
            if prefix.startswith("arn:") and name:
                return f"arn:aws:states:{self.engine.region}:{self.engine.account}{kind}{name}"
        return arn

    def start(self, state_machine_arn: str, name: str, payload: str) -> str:
        try:
            return str(self.engine.start_execution(self.local_arn(state_machine_arn), name, payload)["executionArn"])
        except StateMachineDoesNotExist:
            machine = state_machine_arn.rpartition(":")[2]
            raise ConfigurationError(
                f"no state machine {machine!r} on this machine: give its definition with "
                f"--state-machine {machine}=FILE (or STEPLINE_STATE_MACHINES)"
            ) from None
        except ExecutionAlreadyExists as error:
            raise ExecutionNameTaken(error.message) from None
        except EngineError as error:
            raise ConfigurationError(error.message) from None

    def executions(self, state_machine_arn: str, limit: int = 50) -> list[dict[str, object]]:
        # One page of at most ``limit``: the engine reads no more rows than that, however many it keeps.
        page = self.engine.list_executions(state_machine_arn, max_results=min(limit, 1000) or None)
        listed: list[dict[str, object]] = page["executions"][:limit]
        return listed

    def stop(self, execution_arn: str, error: str, cause: str) -> None:
        """Run control's abandon: the execution aborted now (stepline.control.levers)."""
        self.engine.stop_execution(execution_arn, error=error, cause=cause)

    def history(self, execution_arn: str) -> list[dict[str, object]]:
        events: list[dict[str, object]] = self.engine.get_execution_history(execution_arn)["events"]
        return events

    def describe(self, execution_arn: str) -> dict[str, object]:
        try:
            return self.engine.describe_execution(self.local_arn(execution_arn))
        except ExecutionDoesNotExist:
            raise ExecutionNotFound(f"no execution {execution_arn}") from None


def status_change_event(described: dict[str, Any]) -> dict[str, Any]:
    """A finished execution in the shape of "Step Functions Execution Status Change"."""
    detail = {
        "executionArn": described["executionArn"],
        "stateMachineArn": described["stateMachineArn"],
        "name": described["name"],
        "status": described["status"],
        "input": described.get("input"),
        "output": described.get("output"),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True},
        "error": described.get("error"),
        "cause": described.get("cause"),
    }
    return {"detail-type": "Step Functions Execution Status Change", "source": "aws.states", "detail": detail}
