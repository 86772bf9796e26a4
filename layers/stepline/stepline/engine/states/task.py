"""Task: an attempt scheduled and called (at least once), then settled by its outcome.

The phases of a task's frame:

    INVOKE              scheduled (TaskScheduled written, committed): the handler is called
                        outside any transaction (``calls``); a crash here calls it again,
                        with the same parameters and task token
    RETURNED            the call came back (in memory only): the next step records what it
                        returned, in the next commit
    WAITING_TOKEN       a callback task whose handler returned: waiting for SendTask*
    WAITING_EXECUTION   a nested execution (states:startExecution) running
    OUTCOME             an answer arrived while waiting; the next step settles it

TimeoutSeconds and HeartbeatSeconds are timers (``timers.arm_task``); when one fires the
attempt is over (``timed_out``) and any late result of it is ignored.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from stepline.engine import errors, executions
from stepline.engine.dataflow import effective_input, entered
from stepline.engine.definition import TaskState
from stepline.engine.errors import StatesError
from stepline.engine.history import record
from stepline.engine.integrations import Pattern, Resource, parse_resource
from stepline.engine.model import Execution, ExecutionStatus, Frame, Invocation, Phase, StateKind
from stepline.engine.retry import handle_error
from stepline.engine.states.results import complete
from stepline.engine.store import dumps
from stepline.engine.timers import arm_task

if TYPE_CHECKING:
    from stepline.engine.active import Active

DEFAULT_TIMEOUT = 99_999_999  # Step Functions' default TimeoutSeconds


def schedule(active: Active, execution: Execution, frame: Frame, state: TaskState, raw: Any) -> Invocation:
    """A new attempt: its parameters, token and deadlines fixed and recorded, then called."""
    resource = parse_resource(state.resource)
    token = secrets.token_hex(32) if resource.pattern is Pattern.CALLBACK else None  # 64 hex digits
    data, bound = entered(active, execution, frame, state, frame.input, token)
    timeout, heartbeat = _deadlines(state, data, bound)
    parameters = effective_input(state, data, bound)
    text = dumps(parameters)
    if token is not None and token not in text:
        source = "$states.context.Task.Token" if state.jsonata else "$$.Task.Token"
        raise StatesError(
            errors.RUNTIME,
            f"state {state.name!r} waits for a task token but its {'Arguments' if state.jsonata else 'Parameters'} "
            f"never pass {source}",
        )
    now = active.clock.now()
    frame.data.update(attempt=frame.data.get("attempt", 0) + 1, parameters=parameters, timeout_at=now + timeout)
    frame.data["heartbeat"] = heartbeat
    frame.data["heartbeat_at"] = now + heartbeat if heartbeat else None
    active.forget_token(frame)
    frame.token = token
    if token:
        active.tokens[token] = frame.id
        assert active.pending is not None
        active.pending.tokens.append((token,))
    frame.phase = Phase.INVOKE
    details: dict[str, Any] = {**_names(resource), "region": active.region}
    if state.timeout_seconds or state.timeout_from:
        details["timeoutInSeconds"] = int(timeout)
    if heartbeat:
        details["heartbeatInSeconds"] = int(heartbeat)
    record(active, execution, frame, "TaskScheduled", "taskScheduledEventDetails", details, "parameters", text)
    arm_task(active, frame)
    return attempt(active, execution, frame, state)


def attempt(active: Active, execution: Execution, frame: Frame, state: TaskState) -> Invocation:
    """The scheduled attempt, to call once the transaction commits (again, after a crash)."""
    resource = parse_resource(state.resource)
    if not frame.data.get("started"):
        frame.data["started"] = True
        record(active, execution, frame, "TaskStarted", "taskStartedEventDetails", _names(resource))
    active.touch(frame)
    return Invocation(
        frame.id,
        frame.data["attempt"],
        resource,
        frame.data["parameters"],
        frame.token,
        frame.data["timeout_at"],
        execution.arn,
        state.name,
    )


def returned(active: Active, invocation: Invocation, outcome: dict[str, Any]) -> None:
    """The handler's call came back with ``outcome`` (``result``, ``error``/``cause`` or ``child``).

    Kept in memory for the frame's next step to record (``recorded``): nothing outside has seen
    it, so until the next commit a crash only means the attempt is called again.
    """
    with active.lock:
        frame = active.frames.get(invocation.frame_id)
        if (
            frame is None
            or not frame.active
            or frame.phase is not Phase.INVOKE
            or frame.data.get("attempt") != invocation.attempt
        ):
            return  # timed out, stopped or answered meanwhile: this result is late
        late = active.clock.now() >= frame.data["timeout_at"]  # the handler overran TimeoutSeconds
        frame.data["call"] = {"late": True} if late else outcome
        frame.phase = Phase.RETURNED
        # First in line, in the order they came back: recorded in the very next commit, the one
        # before any further call leaves, so a crash costs at most one group's calls.
        active.returned.append(frame.id)
        active.changed.notify_all()


def recorded(active: Active, execution: Execution, frame: Frame, state: TaskState) -> None:
    """What the attempt's call returned, recorded: settled, submitted, or timed out."""
    call = frame.data.pop("call")
    resource = parse_resource(state.resource)
    if "late" in call:
        timed_out(active, execution, frame, state)
    elif "error" in call or resource.pattern is Pattern.REQUEST:
        settle(active, execution, frame, state, call)
    elif resource.pattern is Pattern.EXECUTION:
        _submitted_execution(active, execution, frame, resource, call["child"])
    else:
        _submitted_callback(active, execution, frame, state, resource, call.get("result"))


def _submitted_execution(active: Active, execution: Execution, frame: Frame, resource: Resource, child: str) -> None:
    frame.data["child"] = child
    frame.phase = Phase.WAITING_EXECUTION
    text = dumps({"ExecutionArn": child})
    record(active, execution, frame, "TaskSubmitted", "taskSubmittedEventDetails", _names(resource), "output", text)
    active.touch(frame)
    started = executions.load(active, child)
    if started is not None:
        nested_ended(active, frame, started)  # it may have ended already


def _submitted_callback(
    active: Active, execution: Execution, frame: Frame, state: TaskState, resource: Resource, result: Any
) -> None:
    text = dumps(result)
    record(active, execution, frame, "TaskSubmitted", "taskSubmittedEventDetails", _names(resource), "output", text)
    if "outcome" in frame.data:  # answered while the handler was still running
        settle(active, execution, frame, state, frame.data.pop("outcome"))
    else:
        frame.phase = Phase.WAITING_TOKEN
        active.touch(frame)


def settle(active: Active, execution: Execution, frame: Frame, state: TaskState, outcome: dict[str, Any]) -> None:
    """The attempt's outcome: TaskSucceeded and the result placed, or TaskFailed and Retry/Catch."""
    names = _names(parse_resource(state.resource))
    frame.data.pop("started", None)
    if "error" in outcome:
        details = {**names, "error": outcome["error"]}
        if outcome.get("cause") is not None:
            details["cause"] = outcome["cause"]
        record(active, execution, frame, "TaskFailed", "taskFailedEventDetails", details)
        handle_error(active, execution, frame, state, outcome["error"], outcome.get("cause"))
        return
    result = outcome["result"]
    text = dumps(result)
    record(active, execution, frame, "TaskSucceeded", "taskSucceededEventDetails", names, "output", text)
    complete(active, execution, frame, state, result)


def timed_out(active: Active, execution: Execution, frame: Frame, state: TaskState) -> None:
    """States.Timeout (or States.HeartbeatTimeout); a nested execution still running is aborted."""
    heartbeat_at = frame.data.get("heartbeat_at")
    if heartbeat_at and heartbeat_at <= active.clock.now() and heartbeat_at < frame.data["timeout_at"]:
        error, cause = errors.HEARTBEAT_TIMEOUT, "The task did not send a heartbeat in time"
    else:
        error, cause = errors.TIMEOUT, "The task did not finish within its TimeoutSeconds"
    child = frame.data.get("child") if frame.phase is Phase.WAITING_EXECUTION else None
    frame.data["attempt"] = frame.data.get("attempt", 0) + 1000  # any late result is now stale
    frame.data.pop("outcome", None)
    frame.data.pop("started", None)
    details = {**_names(parse_resource(state.resource)), "error": error, "cause": cause}
    record(active, execution, frame, "TaskTimedOut", "taskTimedOutEventDetails", details)
    if child:
        child_execution = executions.load(active, child)
        if child_execution is not None and child_execution.status is ExecutionStatus.RUNNING:
            child_execution.parent_frame = None
            executions.abort(active, child_execution)
    handle_error(active, execution, frame, state, error, cause)


def nested_ended(active: Active, frame: Frame, child: Execution) -> None:
    """If the nested execution ``frame`` waits for has ended, its description answers the task."""
    if frame.phase is not Phase.WAITING_EXECUTION or frame.data.get("child") != child.arn:
        return
    if child.status is ExecutionStatus.RUNNING:
        return
    execution = active.executions[frame.execution]
    state = execution.definition.state(frame.scope, frame.state)
    assert isinstance(state, TaskState)
    described = executions.description(child)
    shown = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in described.items()}
    outcome: dict[str, Any]
    if child.status is ExecutionStatus.SUCCEEDED:
        if parse_resource(state.resource).nested_output == "sync:2":
            shown["Output"] = json.loads(described.get("output") or "null")
        else:
            shown["Output"] = described.get("output")
        shown.pop("output", None)
        outcome = {"result": {key[:1].upper() + key[1:]: value for key, value in shown.items()}}
    else:
        outcome = {"error": errors.TASK_FAILED, "cause": dumps(shown)}
    frame.phase = Phase.OUTCOME
    frame.data["outcome"] = outcome
    active.touch(frame)
    active.ready.append(frame.id)


def _deadlines(state: TaskState, data: Any, bound: Any) -> tuple[float, float | None]:
    """TimeoutSeconds and HeartbeatSeconds: static, read by a path, or computed (a positive number)."""
    timeout = state.timeout_seconds or DEFAULT_TIMEOUT
    if state.timeout_from is not None:
        timeout = _positive(state.timeout_from(data, bound), state, "TimeoutSeconds")
    heartbeat = state.heartbeat_seconds
    if state.heartbeat_from is not None:
        heartbeat = _positive(state.heartbeat_from(data, bound), state, "HeartbeatSeconds")
    return timeout, heartbeat


def _positive(value: Any, state: TaskState, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or int(value) != value:
        source = field if state.jsonata else f"{field}Path"
        raise StatesError(
            errors.RUNTIME,
            f"The {source} of state '{state.name}' must be a positive whole number of seconds, not {dumps(value)}",
        )
    return float(value)


def _names(resource: Resource) -> dict[str, Any]:
    return {"resourceType": resource.kind, "resource": resource.action}


KIND: StateKind[TaskState] = StateKind(schedule, timed_out=timed_out, nested_ended=nested_ended)
