"""What executions did, as Step Functions reports it: history events recorded, read back, described.

Events get consecutive ids per execution; ``previousEventId`` links an event to the one before
it on the same frame (so a Parallel branch's events chain within the branch), or to the
execution's previous event for execution-level events. An event's input, output or parameters
JSON is stored as it is (``payload``) rather than escaped inside the details.
"""

from __future__ import annotations

import base64
import functools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.errors import ExecutionDoesNotExist, InvalidToken, ValidationException
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
# ListExecutions' page sizes (Step Functions API Reference: maxResults 0-1000, 0 meaning 100).
DEFAULT_PAGE, MAX_PAGE = 100, 1000
_DESCRIBE = (
    "SELECT arn, state_machine_arn, name, status, input, output, error, cause, started, stopped "
    "FROM executions WHERE arn = ?"
)


def record(
    active: Active,
    execution: Execution,
    frame: Frame | None,
    kind: str,
    key: str | None = None,
    details: dict[str, Any] | None = None,
    field: str | None = None,
    payload: str | None = None,
    *,
    body: str | None = None,
) -> None:
    """Add one event to the commit in progress (``frame`` None: an execution-level event).

    ``details`` go under ``key`` (or ``body`` is both, written already: ``state_details``);
    ``payload`` is the event's input, output or parameters JSON (``field`` names which), kept as
    it is rather than escaped inside the details.

    Event 25,000 ends the execution: it is ExecutionFailed (States.Runtime) unless it is the
    execution's own end; after the last event, a step still unwinding adds nothing.
    """
    pending = active.pending
    assert pending is not None
    if execution.status is not ExecutionStatus.RUNNING:
        return
    event_id = execution.event_count + 1
    if event_id >= MAX_HISTORY_EVENTS and kind not in _FINAL_EVENTS:
        from stepline.engine import executions  # noqa: PLC0415 - it records through this module

        executions.fail(active, execution, errors.RUNTIME, HISTORY_LIMIT_CAUSE)
        return
    execution.event_count = event_id
    if frame is not None:
        data = frame.data
        previous = data.get("last_event", 0)
        data["last_event"] = event_id
        pending.frames[frame.id] = frame
    else:
        previous = event_id - 1
    if body is None and key is not None:
        body = dumps([key, details])
    pending.events.append((execution.arn, event_id, kind, active.clock.now(), previous, body, field, payload))


@functools.lru_cache(maxsize=4096)
def state_details(key: str, name: str, payload: str) -> str:
    """A state's entered or exited event details that only its name fills (beside its input or
    output, kept apart), written once."""
    return dumps([key, {"name": name, f"{payload}Details": {"truncated": False}}])


def events(
    store: Store,
    execution_arn: str,
    *,
    reverse_order: bool = False,
    max_results: int | None = None,
    next_token: str | None = None,
    include_data: bool = True,
) -> dict[str, Any]:
    """GetExecutionHistory: ``events`` in order of their ids (newest first if ``reverse_order``),
    ``max_results`` a page (0: Step Functions' default of 100; None: all) with ``nextToken`` when
    more follow; ``include_data=False`` leaves out each event's input, output or parameters."""
    page = _page_size(max_results)
    sql = "SELECT id, type, timestamp, previous, details, payload_field, payload FROM events WHERE execution_arn = ?"
    parameters: tuple[Any, ...] = (execution_arn,)
    if next_token is not None:
        sql += " AND id < ?" if reverse_order else " AND id > ?"
        parameters += (_event_after(next_token, reverse_order),)
    sql += " ORDER BY id DESC" if reverse_order else " ORDER BY id"
    if page is not None:
        sql += f" LIMIT {page + 1}"
    rows = store.query(sql, parameters)
    found = []
    for event_id, kind, timestamp, previous, details, payload_field, payload in rows[:page]:
        event: dict[str, Any] = {
            "timestamp": as_datetime(timestamp),
            "type": kind,
            "id": event_id,
            "previousEventId": previous,
        }
        if details:
            key, body = json.loads(details)
            if payload_field and include_data:
                body[payload_field] = payload
            event[key] = body
        found.append(event)
    history: dict[str, Any] = {"events": found}
    if page is not None and len(rows) > page:
        token = dumps(["events", found[-1]["id"], reverse_order])
        history["nextToken"] = base64.urlsafe_b64encode(token.encode()).decode()
    return history


def _event_after(token: str, reverse_order: bool) -> int:
    """The event id a history ``nextToken`` continues from; a token given for the other order is refused."""
    try:
        kind, event_id, reversed_ = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise InvalidToken(f"Invalid Token: {token!r} is not a token this engine gave") from None
    if (
        kind != "events"
        or isinstance(event_id, bool)
        or not isinstance(event_id, int)
        or reversed_ is not reverse_order
    ):
        raise InvalidToken(f"Invalid Token: {token!r} is not a token this engine gave for this history in this order")
    return event_id


def _page_size(max_results: int | None) -> int | None:
    """A page's size: Step Functions' maxResults (0-1000, 0 meaning 100); None: no pages."""
    if max_results is not None and not 0 <= max_results <= MAX_PAGE:
        raise ValidationException(f"maxResults must be between 0 and {MAX_PAGE}, not {max_results}")
    return None if max_results is None else max_results or DEFAULT_PAGE


def describe(store: Store, execution_arn: str) -> dict[str, Any]:
    rows = store.query(_DESCRIBE, (execution_arn,))
    if not rows:
        raise ExecutionDoesNotExist(f"Execution does not exist: {execution_arn}")
    return described(rows[0])


def listed(
    store: Store,
    state_machine_arn: str | None,
    status_filter: str | None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> dict[str, Any]:
    """ListExecutions: newest first, ``max_results`` a page (0: Step Functions' default of 100; None:
    all), ``nextToken`` when more follow. A page costs what it holds, however many executions exist."""
    page = _page_size(max_results)
    clauses: list[str] = []
    parameters: list[Any] = []
    if state_machine_arn:
        clauses.append("state_machine_arn = ?")
        parameters.append(state_machine_arn)
    if status_filter:
        clauses.append("status = ?")
        parameters.append(status_filter)
    if next_token is not None:
        clauses.append("(started, rowid) < (?, ?)")
        parameters.extend(_after(next_token))
    sql = "SELECT arn, state_machine_arn, name, status, started, stopped, rowid FROM executions"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY started DESC, rowid DESC"
    if page is not None:
        sql += f" LIMIT {page + 1}"
    rows = store.query(sql, tuple(parameters))
    listed: dict[str, Any] = {
        "executions": [
            {
                "executionArn": arn,
                "stateMachineArn": machine,
                "name": name,
                "status": status,
                "startDate": as_datetime(started),
                **({"stopDate": as_datetime(stopped)} if stopped is not None else {}),
            }
            for arn, machine, name, status, started, stopped, _ in rows[:page]
        ]
    }
    if page is not None and len(rows) > page:
        _, _, _, _, started, _, rowid = rows[page - 1]
        listed["nextToken"] = base64.urlsafe_b64encode(dumps([started, rowid]).encode()).decode()
    return listed


def _after(token: str) -> tuple[float, int]:
    """Where the page a ``nextToken`` asks for starts: after this start time and row."""
    try:
        started, rowid = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise InvalidToken(f"Invalid Token: {token!r} is not a token this engine gave") from None
    if isinstance(started, bool) or not isinstance(started, int | float) or not isinstance(rowid, int):
        raise InvalidToken(f"Invalid Token: {token!r} is not a token this engine gave")
    return started, rowid


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
