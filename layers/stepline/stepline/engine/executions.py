"""An execution's life: started (idempotently by name), loaded, ended, and its end announced.

StartExecution commits before it answers. A distributed map's child starts inside its
parent's step and gets its row with the next commit, as it is by then: started, or already
ended. An end is written in the same commit as the execution's last event, and its frames
with it; in the ``unannounced`` table too when anyone listens (``Engine.on_finished``), and
forgotten only after every listener has heard it: at least once, across crashes.
"""

from __future__ import annotations

import functools
import heapq
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stepline.engine import frames, machines
from stepline.engine.definition import StateMachineDefinition
from stepline.engine.errors import (
    TIMEOUT,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidDefinition,
    InvalidExecutionInput,
)
from stepline.engine.history import as_datetime, describe, described, record
from stepline.engine.integrations import UnknownResourceError, parse_resource
from stepline.engine.model import Execution, ExecutionStatus
from stepline.engine.store import dumps
from stepline.observability import logger

if TYPE_CHECKING:
    from stepline.engine.active import Active

_NOT_TRUNCATED = {"truncated": False}
_SUCCEEDED_DETAILS = dumps(["executionSucceededEventDetails", {"outputDetails": _NOT_TRUNCATED}])


def start(
    active: Active,
    machine_arn: str,
    name: str | None,
    input: str,
    parent_frame: int | None = None,
    run_ahead: Callable[[Execution], None] | None = None,
) -> dict[str, Any]:
    """StartExecution: the same name and input is the same execution (Standard workflows).

    ``run_ahead`` steps the new execution up to its first pause inside the start's transaction,
    so what it did commits with its start (``Scheduler.run_ahead``).
    """
    machine_name, definition, role = machines.get(active, machine_arn)
    try:
        data = json.loads(input)
    except (TypeError, json.JSONDecodeError) as error:
        raise InvalidExecutionInput(f"the execution input is not JSON: {error}") from None
    except RecursionError:
        raise InvalidExecutionInput("the execution input nests arrays or objects too deeply to be read") from None
    check_resources(active, definition)
    name = name or str(uuid.uuid4())
    arn = f"arn:aws:states:{active.region}:{active.account}:execution:{machine_name}:{name}"
    input_text = dumps(data)
    with active.store.transaction(), active.batch():
        now = active.clock.now()
        inserted = active.store.db.execute(
            "INSERT INTO executions (arn, state_machine_arn, name, status, input, started, parent_frame) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING",
            (arn, machine_arn, name, ExecutionStatus.RUNNING.value, input_text, now, parent_frame),
        ).rowcount
        if not inserted:
            existing = load(active, arn)
            assert existing is not None
            if existing.input == data:
                return {"executionArn": arn, "startDate": as_datetime(existing.started)}
            raise ExecutionAlreadyExists(f"Execution already exists: {arn}")
        execution = Execution(
            arn,
            machine_arn,
            machine_name,
            name,
            role,
            data,
            now,
            definition,
            parent_frame=parent_frame,
            input_text=input_text,
        )
        _begin(active, execution)
        if run_ahead is not None:
            run_ahead(execution)
    active.notify()
    return {"executionArn": arn, "startDate": as_datetime(now)}


def start_child(active: Active, machine_arn: str, name: str, data_in: Any, parent_frame: int, slot: int) -> Execution:
    """A distributed map's child, started inside its parent's step.

    Its resources were checked with its parent's definition, which holds its states.
    """
    machine_name, definition, role = machines.get(active, machine_arn)
    arn = f"arn:aws:states:{active.region}:{active.account}:execution:{machine_name}:{name}"
    execution = Execution(
        arn,
        machine_arn,
        machine_name,
        name,
        role,
        data_in,
        active.clock.now(),
        definition,
        parent_frame=parent_frame,
        parent_slot=slot,
        input_text=dumps(data_in),
        saved=False,
    )
    active.written(execution)
    _begin(active, execution)
    return execution


def _begin(active: Active, execution: Execution) -> None:
    active.executions[execution.arn] = execution
    arm_deadline(active, execution)
    body = _started_details(execution.role_arn)
    record(active, execution, None, "ExecutionStarted", None, None, "input", execution.input_text, body=body)
    root(active, execution)


@functools.lru_cache(maxsize=256)
def _started_details(role_arn: str) -> str:
    """ExecutionStarted's details beside its input: the same for every execution of a role, written once."""
    return dumps(["executionStartedEventDetails", {"inputDetails": _NOT_TRUNCATED, "roleArn": role_arn}])


def arm_deadline(active: Active, execution: Execution) -> None:
    """Its state machine's TimeoutSeconds, as a deadline the timers fire (``timers.fire_due``)."""
    timeout = execution.definition.timeout_seconds
    if timeout is not None:
        heapq.heappush(active.timers.deadlines, (execution.started + timeout, execution.arn))


def root(active: Active, execution: Execution) -> None:
    """The execution's first frame, at its first state. Not written with the start: recovery makes
    it again for an execution that has only started (its history is ExecutionStarted alone)."""
    start_at = execution.definition.root.start_at
    frames.begin(
        active, execution, None, 0, "", start_at, execution.input, input_text=execution.input_text, write=False
    )


def check_resources(active: Active, definition: StateMachineDefinition) -> None:
    """Refuse, when an execution starts, a task this engine cannot run, naming its state."""
    for state in definition.tasks():
        try:
            resource = parse_resource(state.resource)
        except UnknownResourceError:
            raise InvalidDefinition(
                f"state {state.name!r}: Resource {state.resource!r} is not one the local engine runs "
                "(lambda:invoke, lambda:invoke.waitForTaskToken, a Lambda function ARN, states:startExecution)"
            ) from None
        if resource.function and active.functions.resolve(resource.function) is None:
            raise InvalidDefinition(
                f"state {state.name!r}: no local function {resource.function!r} "
                f"(registered: {', '.join(active.functions.names()) or 'none'})"
            )


def load(active: Active, arn: str) -> Execution | None:
    """The execution: from memory while it runs or its end is not written yet, else from the database."""
    cached = active.executions.get(arn)
    if cached is None and active.pending is not None:
        cached = active.pending.executions.get(arn)
    if cached is not None:
        return cached
    rows = active.store.db.execute(
        "SELECT state_machine_arn, name, status, input, output, error, cause, started, stopped, parent_frame, "
        "parent_slot, (SELECT coalesce(max(id), 0) FROM events WHERE execution_arn = executions.arn) "
        "FROM executions WHERE arn = ?",
        (arn,),
    ).fetchall()
    if not rows:
        return None
    machine_arn, name, status, data, output, error, cause, started, stopped, parent_frame, slot, count = rows[0]
    machine_name, definition, role = machines.get(active, machine_arn)
    execution = Execution(
        arn,
        machine_arn,
        machine_name,
        name,
        role,
        json.loads(data),
        started,
        definition,
        ExecutionStatus(status),
        count,
        parent_frame,
        slot,
        input_text=data,
        output=json.loads(output) if output is not None else None,
        output_text=output,
        error=error,
        cause=cause,
        stopped=stopped,
    )
    if execution.status is ExecutionStatus.RUNNING:
        active.executions[arn] = execution
    return execution


def description(execution: Execution) -> dict[str, Any]:
    """DescribeExecution's answer, from memory (its end may not be written yet)."""
    return described(
        (
            execution.arn,
            execution.machine_arn,
            execution.name,
            execution.status.value,
            execution.input_text,
            execution.output_text,
            execution.error,
            execution.cause,
            execution.started,
            execution.stopped,
        )
    )


def succeed(active: Active, execution: Execution, output: Any, text: str | None = None) -> None:
    text = dumps(output) if text is None else text
    record(active, execution, None, "ExecutionSucceeded", None, None, "output", text, body=_SUCCEEDED_DETAILS)
    end(active, execution, ExecutionStatus.SUCCEEDED, output=output, text=text)


def fail(active: Active, execution: Execution, error: str | None, cause: str | None) -> None:
    """The execution failed; a Fail state without Error fails it with no error at all, as on AWS."""
    details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
    record(active, execution, None, "ExecutionFailed", "executionFailedEventDetails", details)
    end(active, execution, ExecutionStatus.FAILED, error=error, cause=cause)


def time_out(active: Active, execution: Execution) -> None:
    """It ran past its state machine's TimeoutSeconds: TIMED_OUT. As on AWS, States.Timeout is in
    its ExecutionTimedOut event only; DescribeExecution shows no error or cause."""
    record(active, execution, None, "ExecutionTimedOut", "executionTimedOutEventDetails", {"error": TIMEOUT})
    end(active, execution, ExecutionStatus.TIMED_OUT)


def abort(active: Active, execution: Execution, error: str | None = None, cause: str | None = None) -> None:
    details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
    record(active, execution, None, "ExecutionAborted", "executionAbortedEventDetails", details)
    end(active, execution, ExecutionStatus.ABORTED, error=error, cause=cause)


def end(
    active: Active,
    execution: Execution,
    status: ExecutionStatus,
    *,
    output: Any = None,
    text: str | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> None:
    if execution.status is not ExecutionStatus.RUNNING:
        return  # ended already (its history filled up while this step was under way)
    execution.status = status
    execution.stopped = active.clock.now()
    if status is ExecutionStatus.SUCCEEDED:
        execution.output, execution.output_text = output, dumps(output) if text is None else text
    execution.error, execution.cause = error, cause
    active.written(execution)
    frames.forget_execution(active, execution)
    active.executions.pop(execution.arn, None)
    if active.listeners:
        assert active.pending is not None
        active.pending.unannounced.append((execution.arn,))
        active.finished.append(execution.arn)
    if execution.parent_frame is not None:
        parent = active.frames.get(execution.parent_frame)
        parent_execution = active.executions.get(parent.execution) if parent is not None else None
        if parent is not None and parent_execution is not None:
            parent_state = parent_execution.definition.state(parent.scope, parent.state)
            nested_ended = active.kinds[parent_state.type].nested_ended
            if nested_ended is not None:
                nested_ended(active, parent, execution)


def stop(active: Active, execution_arn: str, error: str | None, cause: str | None) -> float:
    """StopExecution: abort it if it runs; the time it was asked."""
    with active.store.transaction(), active.batch():
        execution = load(active, execution_arn)
        if execution is None:
            raise ExecutionDoesNotExist(f"Execution does not exist: {execution_arn}")
        now = active.clock.now()
        if execution.status is ExecutionStatus.RUNNING:
            abort(active, execution, error, cause)
    active.notify()
    return now


def announce(active: Active) -> None:
    """Tell the listeners of each ended execution they have not all heard of yet.

    Ends are forgotten together once heard; one a listener failed on is told again at the
    engine's next start.
    """
    with active.lock:
        owed, active.finished = active.finished, []
    heard = []
    for arn in owed:
        ended = describe(active.store, arn)
        told = True
        for listener in active.listeners:
            try:
                listener(ended)
            except Exception:  # a listener's fault must not stop the engine; told again at the next start
                told = False
                logger.exception("an execution listener failed", extra={"execution": arn})
        if told:
            heard.append((arn,))
    if heard:
        with active.store.transaction() as db:
            db.executemany("DELETE FROM unannounced WHERE execution_arn = ?", heard)
