"""What executions did, as Step Functions reports it: history events recorded, read back, described.

Events get consecutive ids per execution; ``previousEventId`` links an event to the one before
it on the same frame (so a Parallel branch's events chain within the branch), or to the
execution's previous event for execution-level events. An event's input, output or parameters
JSON is stored as it is (``payload``) rather than escaped inside the details.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.errors import ExecutionDoesNotExist
from stepline.engine.model import Execution, ExecutionStatus, Frame
from stepline.engine.store import Store, dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active

# Step Functions' hard quota of history events per execution. "When an execution reaches 24,999
# events, it waits for the next event to happen. If the event number 25,000 is
# ExecutionSucceeded, the execution finishes successfully. If [it] isn't ExecutionSucceeded, the
# ExecutionFailed event is logged" (Step Functions Developer Guide, "Avoid reaching the history
# quota", bp-history-limit.html). The error and cause are AWS's as executions report them, e.g.
# {"error": "States.Runtime", "cause": "The execution reached the maximum number of history
# events (25000)."} (github.com/loads/ardere/issues/86; the same text in
# aws-samples/aws-organizations-tag-inventory#16 and awslabs/aws-sfn-resume-from-any-state#8).
MAX_HISTORY_EVENTS = 25_000
HISTORY_LIMIT_CAUSE = f"The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
# Events that end an execution take the last place themselves.
_FINAL_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
_PAYLOAD_FIELDS = ("input", "output", "parameters")
_DESCRIBE = (
    "SELECT arn, state_machine_arn, name, status, input, output, error, cause, started, stopped "
    "FROM executions WHERE arn = ?"
)


def record(
    active: Active,
    execution: Execution,
    frame: Frame | None,
    kind: str,
    key: str | None,
    details: dict[str, Any] | None,
) -> None:
    """Add one event to the transaction in progress (``frame`` None: an execution-level event).

    Event 25,000 ends the execution: it is ExecutionFailed (States.Runtime) unless it is the
    execution's own end; after the last event, a step still unwinding adds nothing.
    """
    pending = active.pending
    assert pending is not None
    if execution.status is not ExecutionStatus.RUNNING:
        return
    if execution.event_count >= MAX_HISTORY_EVENTS - 1 and kind not in _FINAL_EVENTS:
        from stepline.engine import executions  # noqa: PLC0415 - it records through this module

        executions.fail(active, execution, errors.RUNTIME, HISTORY_LIMIT_CAUSE)
        return
    execution.event_count += 1
    event_id = execution.event_count
    previous = 0
    if frame is not None:
        previous = frame.data.get("last_event", 0)
        frame.data["last_event"] = event_id
        pending.frames[frame.id] = frame
    elif event_id > 1:
        previous = event_id - 1
    payload_field = payload = None
    if details:
        for name in _PAYLOAD_FIELDS:
            if isinstance(details.get(name), str):
                payload_field, payload = name, details[name]
                details = {field: value for field, value in details.items() if field != name}
                break
    body = dumps([key, details]) if key is not None else None
    pending.events.append((execution.arn, event_id, kind, active.clock.now(), previous, body, payload_field, payload))


def events(store: Store, execution_arn: str, *, reverse_order: bool = False) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT id, type, timestamp, previous, details, payload_field, payload FROM events "
        "WHERE execution_arn = ? ORDER BY id",
        (execution_arn,),
    )
    found = []
    for event_id, kind, timestamp, previous, details, payload_field, payload in rows:
        event: dict[str, Any] = {
            "timestamp": as_datetime(timestamp),
            "type": kind,
            "id": event_id,
            "previousEventId": previous,
        }
        if details:
            key, body = json.loads(details)
            if payload_field:
                body[payload_field] = payload
            event[key] = body
        found.append(event)
    return found[::-1] if reverse_order else found


def describe(store: Store, execution_arn: str) -> dict[str, Any]:
    rows = store.query(_DESCRIBE, (execution_arn,))
    if not rows:
        raise ExecutionDoesNotExist(f"Execution does not exist: {execution_arn}")
    return described(rows[0])


def describe_in_transaction(store: Store, execution_arn: str) -> dict[str, Any] | None:
    """The execution as the transaction in progress sees it (None: no such execution)."""
    rows = store.db.execute(_DESCRIBE, (execution_arn,)).fetchall()
    return described(rows[0]) if rows else None


def listed(store: Store, state_machine_arn: str | None, status_filter: str | None) -> list[dict[str, Any]]:
    sql = "SELECT arn, state_machine_arn, name, status, started, stopped FROM executions"
    clauses, parameters = [], []
    if state_machine_arn:
        clauses.append("state_machine_arn = ?")
        parameters.append(state_machine_arn)
    if status_filter:
        clauses.append("status = ?")
        parameters.append(status_filter)
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    rows = store.query(sql + " ORDER BY started DESC, rowid DESC", tuple(parameters))
    return [
        {
            "executionArn": arn,
            "stateMachineArn": machine,
            "name": name,
            "status": status,
            "startDate": as_datetime(started),
            **({"stopDate": as_datetime(stopped)} if stopped is not None else {}),
        }
        for arn, machine, name, status, started, stopped in rows
    ]


def described(row: tuple[Any, ...]) -> dict[str, Any]:
    arn, machine, name, status, data, output, error, cause, started, stopped = row
    description: dict[str, Any] = {
        "executionArn": arn,
        "stateMachineArn": machine,
        "name": name,
        "status": status,
        "startDate": as_datetime(started),
        "input": data,
        "inputDetails": {"included": True},
    }
    if stopped is not None:
        description["stopDate"] = as_datetime(stopped)
    if output is not None:
        description["output"] = output
        description["outputDetails"] = {"included": True}
    if error is not None:
        description["error"] = error
    if cause is not None:
        description["cause"] = cause
    return description


def as_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
