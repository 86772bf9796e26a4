"""Errors as Step Functions names them: those raised in executions (``StatesError``, matched by
Retry and Catch) and those the API refuses calls with (``EngineError``, named like its exceptions)."""

from __future__ import annotations

from stepline.errors import SteplineError

ALL = "States.ALL"
RUNTIME = "States.Runtime"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
TASK_FAILED = "States.TaskFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
BRANCH_FAILED = "States.BranchFailed"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
PERMISSIONS = "States.Permissions"
# What Step Functions raises when a Map's items are not an array (LocalStack's recordings of AWS).
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"

# States.ALL matches every error except States.Runtime. AWS's guide also names
# States.DataLimitExceeded as terminal, but executions recorded on AWS show a States.ALL
# catcher catching it (a Lambda result over 256 KiB), so the engine does what AWS does.
UNCATCHABLE = frozenset({RUNTIME})
# The errors raised by the interpreter itself whose causes AWS prefixes with the state and
# the id of its StateEntered event.
DECORATED = frozenset({RUNTIME, QUERY_EVALUATION_ERROR})

# Step Functions' payload quota: 256 KiB of UTF-8 per state input, output and task result.
MAX_PAYLOAD_BYTES = 256 * 1024


class StatesError(SteplineError):
    """An error raised in an execution: its name is what Retry and Catch match."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause else error)


def matches(error_equals: list[str], error: str | None) -> bool:
    """Whether a retrier's or catcher's ErrorEquals matches ``error``.

    ``States.TaskFailed`` is a wildcard too: AWS's guide says it "matches any known error name
    except for States.Timeout".
    """
    name = error or ""
    if name in error_equals:
        return True
    if name in UNCATCHABLE:
        return False
    return ALL in error_equals or (TASK_FAILED in error_equals and name != TIMEOUT)


def decorated(state: str, entered_event: int, cause: str | None) -> str:
    """A States.Runtime or QueryEvaluationError cause as AWS words it, naming where it happened."""
    where = f"An error occurred while executing the state '{state}' (entered at the event id #{entered_event})."
    return f"{where} {cause}" if cause else where


class EngineError(SteplineError):
    """An API call the engine refuses; ``code`` is Step Functions' exception name."""

    code = "EngineError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StateMachineDoesNotExist(EngineError):
    code = "StateMachineDoesNotExist"


class ExecutionDoesNotExist(EngineError):
    code = "ExecutionDoesNotExist"


class ExecutionAlreadyExists(EngineError):
    code = "ExecutionAlreadyExists"


class InvalidExecutionInput(EngineError):
    code = "InvalidExecutionInput"


class InvalidDefinition(EngineError):
    code = "InvalidDefinition"


class TaskDoesNotExist(EngineError):
    code = "TaskDoesNotExist"


class TaskTimedOut(EngineError):
    code = "TaskTimedOut"


class InvalidOutput(EngineError):
    code = "InvalidOutput"


class InvalidToken(EngineError):
    code = "InvalidToken"


class ValidationException(EngineError):
    code = "ValidationException"
