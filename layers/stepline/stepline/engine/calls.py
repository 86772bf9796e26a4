"""A task attempt called: its Lambda function run, or its nested execution started.

Always outside any transaction (on the scheduler's thread or a worker), after the attempt was
committed; what came back is then recorded by ``task.returned`` in a transaction of its own.
Whatever the handler raises becomes the attempt's error, never the engine's.
"""

from __future__ import annotations

import functools
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from stepline.engine import errors, executions
from stepline.engine.errors import EngineError, StatesError
from stepline.engine.integrations import FunctionError, LambdaContext, Pattern, invoke_result
from stepline.engine.model import Invocation
from stepline.engine.states import task
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active


def invoke(active: Active, invocation: Invocation) -> None:
    resource = invocation.resource
    try:
        if resource.pattern is Pattern.EXECUTION:
            outcome: dict[str, Any] = {"child": _start_child(active, invocation)}
        else:
            function = resource.function or _function_name(invocation.parameters, invocation.state)
            payload = invocation.parameters if resource.function else invocation.parameters.get("Payload", {})
            context = LambdaContext(function, invocation.deadline, active.clock.now)
            value = active.functions.invoke(function, payload, context)
            size = len(dumps(value))  # ASCII: characters are bytes
            if size > errors.MAX_PAYLOAD_BYTES:
                raise StatesError(
                    errors.DATA_LIMIT_EXCEEDED,
                    f"The state/task '{resource.kind if resource.wraps_payload else resource.arn}' returned a result "
                    "with a size exceeding the maximum number of bytes service limit.",
                )
            if resource.wraps_payload:
                date = _http_date(int(active.clock.now()))
                value = invoke_result(value, context.aws_request_id, date, size)
            outcome = {"result": value}
    except FunctionError as error:
        outcome = {"error": error.error, "cause": error.cause}
    except StatesError as error:
        outcome = {"error": error.error, "cause": error.cause}
    except Exception as error:
        outcome = {"error": type(error).__name__, "cause": str(error)}
    task.returned(active, invocation, outcome)


def _start_child(active: Active, invocation: Invocation) -> str:
    """states:startExecution: named after the parent, its frame and attempt unless Name is given,
    so the same attempt called again after a crash finds the execution it started."""
    parameters = invocation.parameters
    if not isinstance(parameters, dict) or not isinstance(parameters.get("StateMachineArn"), str):
        raise StatesError(errors.RUNTIME, f"state {invocation.state!r}: StartExecution needs a StateMachineArn")
    child_input = parameters.get("Input", {})
    text = child_input if isinstance(child_input, str) else dumps(child_input)
    name = (
        parameters.get("Name")
        or f"{invocation.execution.rsplit(':', 1)[-1]}-{invocation.frame_id}-{invocation.attempt}"
    )
    try:
        started = executions.start(active, parameters["StateMachineArn"], name, text, invocation.frame_id)
    except EngineError as error:
        raise StatesError(f"StepFunctions.{error.code}Exception", error.message) from None
    return str(started["executionArn"])


@functools.lru_cache(maxsize=64)
def _http_date(second: int) -> str:
    """An HTTP Date header (the SDK metadata's), made once per second."""
    return formatdate(second, usegmt=True)


def _function_name(parameters: Any, state: str) -> str:
    name = parameters.get("FunctionName") if isinstance(parameters, dict) else None
    if not isinstance(name, str):
        raise StatesError(errors.RUNTIME, f"state {state!r}: lambda:invoke needs a FunctionName parameter")
    return name
