"""An execution's life: started (idempotently by name), loaded, ended, and its end announced.

An end is recorded in the same transaction as the execution's last event, in the
``unannounced`` table when anyone listens (``Engine.on_finished``), and forgotten only after
every listener has heard it: at least once, across crashes.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from stepline.engine import frames, machines
from stepline.engine.definition import StateMachineDefinition
from stepline.engine.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidDefinition,
    InvalidExecutionInput,
)
from stepline.engine.history import as_datetime, describe, record
from stepline.engine.integrations import UnknownResourceError, parse_resource
from stepline.engine.model import Execution, ExecutionStatus
from stepline.engine.store import dumps
from stepline.observability import logger

if TYPE_CHECKING:
    from stepline.engine.active import Active


def start(
    active: Active, machine_arn: str, name: str | None, input: str, parent_frame: int | None = None
) -> dict[str, Any]:
    """StartExecution: the same name and input is the same execution (Standard workflows)."""
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
    with active.store.transaction():
        now = active.clock.now()
        inserted = active.store.db.execute(
            "INSERT INTO executions (arn, state_machine_arn, name, status, input, started, parent_frame) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING",
            (arn, machine_arn, name, ExecutionStatus.RUNNING, input_text, now, parent_frame),
        ).rowcount
        if not inserted:
            existing = load(active, arn)
            assert existing is not None
            if existing.input == data:
                return {"executionArn": arn, "startDate": as_datetime(existing.started)}
            raise ExecutionAlreadyExists(f"Execution already exists: {arn}")
        execution = Execution(
            arn, machine_arn, machine_name, name, role, data, now, definition, parent_frame=parent_frame
        )
        active.executions[arn] = execution
        with active.batch():
            details = {"input": input_text, "inputDetails": {"truncated": False}, "roleArn": role}
            record(active, execution, None, "ExecutionStarted", "executionStartedEventDetails", details)
            frames.begin(active, execution, None, 0, "", definition.root.start_at, data, {})
    active.notify()
    return {"executionArn": arn, "startDate": as_datetime(now)}


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
    """The execution, from memory while it runs, else from the database."""
    cached = active.executions.get(arn)
    if cached is not None:
        return cached
    rows = active.store.db.execute(
        "SELECT state_machine_arn, name, status, input, started, parent_frame, "
        "(SELECT coalesce(max(id), 0) FROM events WHERE execution_arn = executions.arn) FROM executions "
        "WHERE arn = ?",
        (arn,),
    ).fetchall()
    if not rows:
        return None
    machine_arn, name, status, data, started, parent_frame, event_count = rows[0]
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
        event_count,
        parent_frame,
    )
    if execution.status is ExecutionStatus.RUNNING:
        active.executions[arn] = execution
    return execution


def succeed(active: Active, execution: Execution, output: Any) -> None:
    details = {"output": dumps(output), "outputDetails": {"truncated": False}}
    record(active, execution, None, "ExecutionSucceeded", "executionSucceededEventDetails", details)
    end(active, execution, ExecutionStatus.SUCCEEDED, output=output)


def fail(active: Active, execution: Execution, error: str | None, cause: str | None) -> None:
    """The execution failed; a Fail state without Error fails it with no error at all, as on AWS."""
    details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
    record(active, execution, None, "ExecutionFailed", "executionFailedEventDetails", details)
    end(active, execution, ExecutionStatus.FAILED, error=error, cause=cause)


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
    error: str | None = None,
    cause: str | None = None,
) -> None:
    if execution.status is not ExecutionStatus.RUNNING:
        return  # ended already (its history filled up while this step was under way)
    execution.status = status
    now = active.clock.now()
    active.store.db.execute(
        "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stopped = ? WHERE arn = ?",
        (status, dumps(output) if status is ExecutionStatus.SUCCEEDED else None, error, cause, now, execution.arn),
    )
    frames.forget_execution(active, execution.arn)
    active.executions.pop(execution.arn, None)
    if active.listeners:
        active.store.db.execute("INSERT OR IGNORE INTO unannounced (execution_arn) VALUES (?)", (execution.arn,))
        active.finished.append(execution.arn)
    if execution.parent_frame is not None:
        parent = active.frames.get(execution.parent_frame)
        parent_execution = active.executions.get(parent.execution) if parent is not None else None
        if parent is not None and parent_execution is not None:
            parent_state = parent_execution.definition.state(parent.scope, parent.state)
            nested_ended = active.kinds[parent_state.type].nested_ended
            if nested_ended is not None:
                nested_ended(active, parent, execution.arn)


def stop(active: Active, execution_arn: str, error: str | None, cause: str | None) -> float:
    """StopExecution: abort it if it runs; the time it was asked."""
    with active.store.transaction():
        execution = load(active, execution_arn)
        if execution is None:
            raise ExecutionDoesNotExist(f"Execution does not exist: {execution_arn}")
        now = active.clock.now()
        if execution.status is ExecutionStatus.RUNNING:
            with active.batch():
                abort(active, execution, error, cause)
    active.notify()
    return now


def announce(active: Active) -> None:
    """Tell the listeners of each ended execution they have not all heard of yet."""
    while True:
        with active.lock:
            if not active.finished:
                return
            arn = active.finished.pop(0)
        described = describe(active.store, arn)
        heard = True
        for listener in active.listeners:
            try:
                listener(described)
            except Exception:  # a listener's fault must not stop the engine; told again at the next start
                heard = False
                logger.exception("an execution listener failed", extra={"execution": arn})
        if heard:
            with active.store.transaction():
                active.store.db.execute("DELETE FROM unannounced WHERE execution_arn = ?", (arn,))
