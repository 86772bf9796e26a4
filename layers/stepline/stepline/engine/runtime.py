"""The embedded engine: runs any ASL definition durably, with an API shaped like Step Functions'.

Model. An execution is a tree of *frames*: the root frame walks the top-level states; a
Parallel state starts one child frame per branch and a Map state one per item. A frame is
always at one state in one *phase*:

    enter            about to run the state (it has its raw input)
    invoke           a task attempt to call (at-least-once: a crash here calls it again)
    waiting_token    a callback task waiting for SendTaskSuccess/Failure
    waiting_execution  a nested execution running
    waiting_timer    a Wait state; waiting_retry: a retry's back-off
    waiting_children a Parallel or Map waiting for its branches or iterations
    outcome          an answer has arrived for a waiting task; to be settled

Every move from one phase to the next, with the history events it records, is a single
SQLite transaction, so a killed process resumes every unfinished execution from its last
committed transition (``Engine(...)`` on the same file recovers). Handlers run outside
transactions: a task interrupted mid-call is called again on recovery — the contract is
at-least-once, as with Step Functions' own retries, so handlers must be idempotent.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stepline.engine import errors
from stepline.engine.clock import Clock, ManualClock, SystemClock, iso
from stepline.engine.definition import (
    UNSET,
    ChainedState,
    DefinitionError,
    StateMachineDefinition,
    StateType,
    parse_definition,
    parse_timestamp,
)
from stepline.engine.errors import StatesError, matches
from stepline.engine.integrations import (
    FunctionError,
    Functions,
    LambdaContext,
    Pattern,
    Resource,
    UnknownResourceError,
    parse_resource,
)
from stepline.engine.paths import PathNotFound, ResultPathError, place_result
from stepline.engine.store import Store, dumps
from stepline.observability import logger

State = Any  # each type's own class (definition.states); the runtime reads each type's fields

DEFAULT_TASK_TIMEOUT = 99_999_999  # Step Functions' default TimeoutSeconds
MAX_GROUP = 64  # steps committed together at most, bounding what a crash makes the engine redo


class EngineError(Exception):
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


@dataclass(slots=True)
class Frame:
    id: int
    execution: str
    parent: int | None
    slot: int
    scope: str
    state: str
    phase: str
    input: Any
    data: dict[str, Any]
    token: str | None = None
    active: bool = True
    # ``input`` as JSON when already written out: each value is serialized once, not three times.
    input_text: str | None = None


@dataclass(slots=True)
class _Execution:
    arn: str
    machine_arn: str
    machine_name: str
    name: str
    role_arn: str
    input: Any
    started: float
    definition: StateMachineDefinition
    status: str = "RUNNING"
    event_count: int = 0
    parent_frame: int | None = None


@dataclass(slots=True)
class _Invocation:
    frame_id: int
    attempt: int
    resource: Resource
    parameters: Any
    token: str | None
    deadline: float | None
    execution: str
    state: str


@dataclass(slots=True)
class _Pending:
    """Writes of the transaction in progress, flushed together at its end."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    frames: dict[int, Frame] = field(default_factory=dict)
    executions: dict[str, _Execution] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        store: Store | None = None,
        *,
        clock: Clock | None = None,
        functions: Functions | None = None,
        region: str = "local",
        account: str = "000000000000",
        workers: int = 0,
        jitter: random.Random | None = None,
        durability: str = "group",
    ) -> None:
        if durability not in {"group", "transition"}:
            raise ValueError("durability is 'group' (commit before anything leaves the engine) or 'transition'")
        self._group = 1 if durability == "transition" else MAX_GROUP
        self.store = store or Store()
        self.clock: Clock = clock or SystemClock()
        self.functions = functions or Functions()
        self.region, self.account = region, account
        self._jitter = jitter or random.Random()  # noqa: S311 - retry jitter, not a secret
        self._lock = self.store.lock
        self._changed = threading.Condition(self._lock)
        self._ready: deque[int] = deque()
        self._timers: list[tuple[float, int, int]] = []
        self._frames: dict[int, Frame] = {}
        self._tokens: dict[str, int] = {}
        self._executions: dict[str, _Execution] = {}
        self._machines: dict[str, tuple[str, StateMachineDefinition, str]] = {}
        self._pending: _Pending | None = None
        self._inflight = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stepline-task") if workers else None
        self.transitions = 0
        self._finished: list[str] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._recover()

    # ------------------------------------------------------------------ state machines ----

    def create_state_machine(self, name: str, definition: str | dict[str, Any], role_arn: str = "") -> dict[str, Any]:
        parsed = self._parse(definition)
        arn = f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"
        now = self.clock.now()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO state_machines (arn, name, definition, role_arn, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (arn) DO UPDATE SET definition = excluded.definition, role_arn = excluded.role_arn",
                (arn, name, parsed.text, role_arn or f"arn:aws:iam::{self.account}:role/stepline-local", now),
            )
        self._machines[arn] = (name, parsed, role_arn)
        return {"stateMachineArn": arn, "creationDate": _datetime(now)}

    update_state_machine_definition = create_state_machine

    def _parse(self, definition: str | dict[str, Any]) -> StateMachineDefinition:
        try:
            parsed = parse_definition(definition)
        except DefinitionError as error:
            raise InvalidDefinition(str(error)) from None
        return parsed

    def _machine(self, arn: str) -> tuple[str, StateMachineDefinition, str]:
        machine = self._machines.get(arn)
        if machine is None:
            rows = self.store.query("SELECT name, definition, role_arn FROM state_machines WHERE arn = ?", (arn,))
            if not rows:
                raise StateMachineDoesNotExist(f"State machine does not exist: {arn}")
            name, text, role = rows[0]
            machine = self._machines[arn] = (name, parse_definition(text), role)
        return machine

    # ------------------------------------------------------------------ executions --------

    def start_execution(
        self,
        state_machine_arn: str,
        name: str | None = None,
        input: str = "{}",
        *,
        _parent_frame: int | None = None,
    ) -> dict[str, Any]:
        machine_name, definition, role = self._machine(state_machine_arn)
        try:
            data = json.loads(input)
        except (TypeError, json.JSONDecodeError) as error:
            raise InvalidExecutionInput(f"the execution input is not JSON: {error}") from None
        self._check_resources(definition)
        name = name or str(uuid.uuid4())
        arn = f"arn:aws:states:{self.region}:{self.account}:execution:{machine_name}:{name}"
        input_text = dumps(data)
        with self.store.transaction():
            now = self.clock.now()
            inserted = self.store.db.execute(
                "INSERT INTO executions (arn, state_machine_arn, name, status, input, started, parent_frame) "
                "VALUES (?, ?, ?, 'RUNNING', ?, ?, ?) ON CONFLICT (arn) DO NOTHING",
                (arn, state_machine_arn, name, input_text, now, _parent_frame),
            ).rowcount
            if not inserted:
                existing = self._load_execution(arn)
                assert existing is not None
                # Standard workflows: the same name and input is the same execution.
                if existing.input == data:
                    return {"executionArn": arn, "startDate": _datetime(existing.started)}
                raise ExecutionAlreadyExists(f"Execution already exists: {arn}")
            execution = _Execution(
                arn,
                state_machine_arn,
                machine_name,
                name,
                role,
                data,
                now,
                definition,
                parent_frame=_parent_frame,
            )
            self._executions[arn] = execution
            with self._batch():
                self._event(
                    execution,
                    None,
                    "ExecutionStarted",
                    "executionStartedEventDetails",
                    {"input": input_text, "inputDetails": {"truncated": False}, "roleArn": role},
                )
                self._new_frame(execution, None, 0, "", definition.root.start_at, data, {})
        self._notify()
        return {"executionArn": arn, "startDate": _datetime(now)}

    def _check_resources(self, definition: StateMachineDefinition) -> None:
        for state in definition.tasks():
            try:
                resource = parse_resource(state.resource)
            except UnknownResourceError:
                raise InvalidDefinition(
                    f"state {state.name!r}: Resource {state.resource!r} is not one the local engine runs "
                    "(lambda:invoke, lambda:invoke.waitForTaskToken, a Lambda function ARN, states:startExecution)"
                ) from None
            if resource.function and self.functions.resolve(resource.function) is None:
                raise InvalidDefinition(
                    f"state {state.name!r}: no local function {resource.function!r} "
                    f"(registered: {', '.join(self.functions.names()) or 'none'})"
                )

    def describe_execution(self, execution_arn: str) -> dict[str, Any]:
        rows = self.store.query(
            "SELECT e.arn, e.state_machine_arn, e.name, e.status, e.input, e.output, e.error, e.cause, e.started, "
            "e.stopped FROM executions e WHERE e.arn = ?",
            (execution_arn,),
        )
        if not rows:
            raise ExecutionDoesNotExist(f"Execution does not exist: {execution_arn}")
        return _described(rows[0])

    def list_executions(self, state_machine_arn: str | None = None, status_filter: str | None = None) -> dict[str, Any]:
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
        rows = self.store.query(sql + " ORDER BY started DESC, rowid DESC", tuple(parameters))
        return {
            "executions": [
                {
                    "executionArn": arn,
                    "stateMachineArn": machine,
                    "name": name,
                    "status": status,
                    "startDate": _datetime(started),
                    **({"stopDate": _datetime(stopped)} if stopped is not None else {}),
                }
                for arn, machine, name, status, started, stopped in rows
            ]
        }

    def get_execution_history(self, execution_arn: str, reverse_order: bool = False) -> dict[str, Any]:
        self.describe_execution(execution_arn)
        rows = self.store.query(
            "SELECT id, type, timestamp, previous, details, payload_field, payload FROM events "
            "WHERE execution_arn = ? ORDER BY id",
            (execution_arn,),
        )
        events = []
        for event_id, kind, timestamp, previous, details, payload_field, payload in rows:
            event: dict[str, Any] = {
                "timestamp": _datetime(timestamp),
                "type": kind,
                "id": event_id,
                "previousEventId": previous,
            }
            if details:
                key, body = json.loads(details)
                if payload_field:
                    body[payload_field] = payload
                event[key] = body
            events.append(event)
        return {"events": events[::-1] if reverse_order else events}

    def stop_execution(self, execution_arn: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
        with self.store.transaction():
            execution = self._load_execution(execution_arn)
            if execution is None:
                raise ExecutionDoesNotExist(f"Execution does not exist: {execution_arn}")
            now = self.clock.now()
            if execution.status == "RUNNING":
                with self._batch():
                    details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
                    self._event(execution, None, "ExecutionAborted", "executionAbortedEventDetails", details)
                    self._end_execution(execution, "ABORTED", error=error, cause=cause)
        self._notify()
        self._tell_listeners()
        return {"stopDate": _datetime(now)}

    # ------------------------------------------------------------------ callbacks ---------

    def send_task_success(self, task_token: str, output: str) -> dict[str, Any]:
        try:
            result = json.loads(output)
        except (TypeError, json.JSONDecodeError) as error:
            raise InvalidOutput(f"the task output is not JSON: {error}") from None
        self._answer(task_token, {"result": result})
        return {}

    def send_task_failure(self, task_token: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
        self._answer(task_token, {"error": error or "", "cause": cause})
        return {}

    def send_task_heartbeat(self, task_token: str) -> dict[str, Any]:
        with self.store.transaction():
            frame = self._frame_for_token(task_token)
            beat = frame.data.get("heartbeat")
            if beat:
                frame.data["heartbeat_at"] = self.clock.now() + beat
                with self._batch():
                    self._touch(frame)
                self._arm_task_timer(frame)
        return {}

    def _frame_for_token(self, token: str) -> Frame:
        frame_id = self._tokens.get(token)
        frame = self._frames.get(frame_id) if frame_id is not None else None
        if frame is None or not frame.active or frame.token != token:
            rows = self.store.query("SELECT 1 FROM frames WHERE token = ?", (token,))
            if rows:
                raise TaskTimedOut("Task Timed Out: the task is no longer waiting for this token")
            raise TaskDoesNotExist("Task does not exist: unknown task token")
        return frame

    def _answer(self, token: str, outcome: dict[str, Any]) -> None:
        with self.store.transaction():
            frame = self._frame_for_token(token)
            if frame.phase not in {"invoke", "waiting_token"} or "outcome" in frame.data:
                raise TaskTimedOut("Task Timed Out: the task has already been answered")
            frame.data["outcome"] = outcome
            with self._batch():
                if frame.phase == "waiting_token":
                    frame.phase = "outcome"
                    self._ready.append(frame.id)
                self._touch(frame)
        self._notify()

    def on_finished(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each execution's description once it ends (as EventBridge would).

        At least once: an end is recorded in the same transaction as the execution's last
        event and forgotten only after every listener has heard it, so an end a crash kept
        from the listeners is told when the engine next runs (from ``run``).
        """
        self._listeners.append(listener)

    def _tell_listeners(self) -> None:
        while True:
            with self._lock:
                if not self._finished:
                    return
                arn = self._finished.pop(0)
            described = self.describe_execution(arn)
            heard = True
            for listener in self._listeners:
                try:
                    listener(described)
                except Exception:  # a listener's fault must not stop the engine; told again at the next start
                    heard = False
                    logger.exception("an execution listener failed", extra={"execution": arn})
            if heard:
                with self.store.transaction():
                    self.store.db.execute("DELETE FROM unannounced WHERE execution_arn = ?", (arn,))

    # ------------------------------------------------------------------ running -----------

    def run(
        self,
        *,
        until: Callable[[], bool] | None = None,
        skip_waits: bool = False,
        block: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Run what can run. ``skip_waits`` moves a ManualClock to the next timer when idle
        (days pass instantly); ``block`` waits for timers, callbacks and in-flight tasks in
        real time until ``until()`` holds or ``timeout`` seconds pass."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._finished:
                self._tell_listeners()
            if until is not None and until():
                return
            invocation = None
            with self._lock:
                self._fire_due_timers()
                if not self._ready:
                    if not self._idle_wait(skip_waits, block, deadline):
                        return
                    continue
                try:
                    invocation = self._burst()
                except _Fault as fault:
                    self._fail_after_fault(fault.execution, fault.message)
                    continue
            if invocation is not None:
                self._dispatch(invocation)

    def awaiting_outside(self) -> bool:
        """Only an outside answer (a task token, a heartbeat) or a task's timeout can move things now."""
        with self._lock:
            return not self._ready and not self._inflight and self._next_skippable_timer() is None

    def _burst(self) -> _Invocation | None:
        """Ready steps in one transaction, committed before any of them reaches outside.

        A step that calls a task ends the group (the commit comes before the call), as do API
        calls and waits, which commit on their own. So a crash can lose only steps that nothing
        outside has seen, and recovery redoes them. ``durability="transition"`` commits every
        step by itself instead.
        """
        with self.store.transaction(), self._batch():
            for _ in range(self._group):
                if not self._ready:
                    break
                invocation = self._step(self._ready.popleft())
                if invocation is not None:
                    return invocation
        return None

    def run_until_done(
        self, execution_arn: str, *, skip_waits: bool = False, timeout: float | None = None
    ) -> dict[str, Any]:
        def done() -> bool:
            execution = self._executions.get(execution_arn)
            return execution is None or execution.status != "RUNNING" or (not block and self.awaiting_outside())

        block = not skip_waits
        self.run(until=done, skip_waits=skip_waits, block=block, timeout=timeout)
        return self.describe_execution(execution_arn)

    def _idle_wait(self, skip_waits: bool, block: bool, deadline: float | None) -> bool:
        """With the lock held and nothing ready: wait, skip time, or report idle (False)."""
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        if self._inflight:
            self._changed.wait(timeout=min(remaining or 0.05, 0.05))
            return True
        next_due = self._next_timer()
        skippable = self._next_skippable_timer() if skip_waits and isinstance(self.clock, ManualClock) else None
        if skippable is not None and isinstance(self.clock, ManualClock):
            self.clock.set(skippable)
            self.store.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', ?)", (str(skippable),))
            return True
        if not block:
            return False
        wait = 0.25 if next_due is None else max(0.0, min(next_due - self.clock.now(), 0.25))
        self._changed.wait(timeout=wait if remaining is None else min(wait, remaining))
        return True

    def _notify(self) -> None:
        with self._lock:
            self._changed.notify_all()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _dispatch(self, invocation: _Invocation) -> None:
        if self._pool is None:
            self._invoke(invocation)
            return
        with self._lock:
            self._inflight += 1
        self._pool.submit(self._invoke_in_pool, invocation)

    def _invoke_in_pool(self, invocation: _Invocation) -> None:
        try:
            self._invoke(invocation)
        finally:
            with self._lock:
                self._inflight -= 1
                self._changed.notify_all()

    # ------------------------------------------------------------------ transactions ------

    class _BatchContext:
        def __init__(self, engine: Engine) -> None:
            self.engine = engine
            self.outer = False

        def __enter__(self) -> None:
            if self.engine._pending is None:
                self.engine._pending = _Pending()
                self.outer = True

        def __exit__(self, kind: Any, value: Any, trace: Any) -> None:
            if not self.outer:
                return
            pending, self.engine._pending = self.engine._pending, None
            if kind is None and pending is not None:
                self.engine._flush(pending)

    def _batch(self) -> Engine._BatchContext:
        return Engine._BatchContext(self)

    def _flush(self, pending: _Pending) -> None:
        db = self.store.db
        if pending.events:
            db.executemany(
                "INSERT INTO events (execution_arn, id, type, timestamp, previous, details, payload_field, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                pending.events,
            )
        for frame in pending.frames.values():
            if frame.input_text is None:
                frame.input_text = dumps(frame.input)
            db.execute(
                "UPDATE frames SET state = ?, phase = ?, input = ?, data = ?, token = ?, active = ? WHERE id = ?",
                (
                    frame.state,
                    frame.phase,
                    frame.input_text,
                    dumps(frame.data),
                    frame.token,
                    int(frame.active),
                    frame.id,
                ),
            )

    def _touch(self, frame: Frame) -> None:
        assert self._pending is not None
        self._pending.frames[frame.id] = frame

    def _event(
        self,
        execution: _Execution,
        frame: Frame | None,
        kind: str,
        key: str | None,
        details: dict[str, Any] | None,
    ) -> None:
        assert self._pending is not None
        execution.event_count += 1
        event_id = execution.event_count
        previous = 0
        if frame is not None:
            previous = frame.data.get("last_event", 0)
            frame.data["last_event"] = event_id
            self._touch(frame)
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
        self._pending.events.append(
            (execution.arn, event_id, kind, self.clock.now(), previous, body, payload_field, payload)
        )
        self._pending.executions[execution.arn] = execution

    def _new_frame(
        self,
        execution: _Execution,
        parent: Frame | None,
        slot: int,
        scope: str,
        state: str,
        data_in: Any,
        extra: dict[str, Any],
    ) -> Frame:
        data = dict(extra)
        if parent is None:
            data["last_event"] = execution.event_count
        else:
            data["last_event"] = parent.data.get("last_event", 0)
            if "map_item" in parent.data and "map_item" not in data:
                data["map_item"] = parent.data["map_item"]
        input_text = dumps(data_in)
        cursor = self.store.db.execute(
            "INSERT INTO frames (execution_arn, parent, slot, scope, state, phase, input, data, active) "
            "VALUES (?, ?, ?, ?, ?, 'enter', ?, ?, 1)",
            (execution.arn, parent.id if parent else None, slot, scope, state, input_text, dumps(data)),
        )
        frame = Frame(
            int(cursor.lastrowid or 0),
            execution.arn,
            parent.id if parent else None,
            slot,
            scope,
            state,
            "enter",
            data_in,
            data,
            input_text=input_text,
        )
        self._frames[frame.id] = frame
        self._ready.append(frame.id)
        return frame

    # ------------------------------------------------------------------ one step ----------

    def _step(self, frame_id: int) -> _Invocation | None:
        with self.store.transaction():
            frame = self._frames.get(frame_id)
            if frame is None or not frame.active:
                return None
            execution = self._executions[frame.execution]
            if execution.status != "RUNNING":
                return None
            state = execution.definition.state(frame.scope, frame.state)
            self.transitions += 1
            try:
                with self._batch():
                    return self._advance(execution, frame, state)
            except Exception as error:  # an engine fault: undo this step, then fail the execution
                self._pending = None
                fault = f"internal engine error in state {state.name!r}: {type(error).__name__}: {error}"
                raise _Fault(execution.arn, fault) from error
        return None

    def _fail_after_fault(self, execution_arn: str, message: str) -> None:
        """The faulty group was rolled back: reload what memory held from disk, then fail the execution."""
        self._frames.clear()
        self._tokens.clear()
        self._executions.clear()
        self._ready.clear()
        self._timers.clear()
        self._recover()
        with self.store.transaction():
            execution = self._load_execution(execution_arn)
            if execution is not None and execution.status == "RUNNING":
                for frame in [f for f in self._frames.values() if f.execution == execution_arn]:
                    self._frames.pop(frame.id, None)
                # Some of this execution's frames may exist only on disk: end them there.
                self.store.db.execute(
                    "UPDATE frames SET active = 0, phase = 'cancelled' WHERE execution_arn = ? AND active = 1",
                    (execution_arn,),
                )
                with self._batch():
                    self._fail_execution(execution, errors.RUNTIME, message)
        self._notify()

    def _advance(self, execution: _Execution, frame: Frame, state: State) -> _Invocation | None:
        phase = frame.phase
        if phase == "enter":
            return self._enter(execution, frame, state)
        if phase == "invoke":
            return self._attempt(execution, frame, state)
        if phase == "outcome":
            self._settle(execution, frame, state, frame.data.pop("outcome"))
            return None
        if phase == "retry":
            return self._retry(execution, frame, state)
        if phase == "wait_over":
            output = self._output(state, frame.data.pop("effective"))
            self._exit(execution, frame, state, output)
            return None
        return None

    def _context(self, execution: _Execution, frame: Frame, state: State, token: str | None = None) -> dict[str, Any]:
        if not state.needs_context and token is None:
            return _NO_CONTEXT
        context: dict[str, Any] = {
            "Execution": {
                "Id": execution.arn,
                "Input": execution.input,
                "Name": execution.name,
                "RoleArn": execution.role_arn,
                "StartTime": iso(execution.started),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": iso(frame.data.get("entered", self.clock.now())),
                "Name": state.name,
                "RetryCount": sum(frame.data.get("retries", {}).values()),
            },
            "StateMachine": {"Id": execution.machine_arn, "Name": execution.machine_name},
        }
        if token is not None:
            context["Task"] = {"Token": token}
        if "map_item" in frame.data:
            context["Map"] = {"Item": frame.data["map_item"]}
        return context

    def _enter(self, execution: _Execution, frame: Frame, state: State) -> _Invocation | None:
        frame.data["entered"] = self.clock.now()
        frame.data["retries"] = {}
        raw = frame.input
        self._event(
            execution,
            frame,
            f"{state.type}StateEntered",
            "stateEnteredEventDetails",
            {"name": state.name, "input": frame.input_text or dumps(raw), "inputDetails": {"truncated": False}},
        )
        try:
            handler = getattr(self, f"_enter_{state.type.lower()}")
            result: _Invocation | None = handler(execution, frame, state, raw)
            return result
        except StatesError as error:
            self._state_error(execution, frame, state, error.error, error.cause)
            return None

    def _effective_input(
        self, execution: _Execution, frame: Frame, state: State, raw: Any, token: str | None = None
    ) -> Any:
        selected = _select(state.input_path, raw)
        if state.parameters is not None:
            return state.parameters(selected, self._context(execution, frame, state, token))
        return selected

    def _output(self, state: State, value: Any) -> Any:
        return _select(state.output_path, value)

    def _exit(
        self, execution: _Execution, frame: Frame, state: State, output: Any, *, next_state: str | None = None
    ) -> None:
        text = dumps(output)
        if len(text.encode()) > errors.MAX_PAYLOAD_BYTES:
            self._fail_frame(
                execution,
                frame,
                errors.DATA_LIMIT_EXCEEDED,
                f"The state/task {state.name!r} returned a result with a size exceeding the maximum "
                f"number of bytes service limit ({errors.MAX_PAYLOAD_BYTES})",
            )
            return
        self._event(
            execution,
            frame,
            f"{state.type}StateExited",
            "stateExitedEventDetails",
            {"name": state.name, "output": text, "outputDetails": {"truncated": False}},
        )
        target = next_state
        if target is None and isinstance(state, ChainedState) and not state.end:
            target = state.next
        if target is None or state.type is StateType.SUCCEED:
            self._finish_frame(execution, frame, output=output)
            return
        frame.data = {key: frame.data[key] for key in ("last_event", "map_item") if key in frame.data}
        frame.token = None
        frame.state, frame.input, frame.input_text, frame.phase = target, output, text, "enter"
        self._touch(frame)
        self._ready.append(frame.id)

    # --- simple states ----------------------------------------------------------------------

    def _enter_pass(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> None:
        effective = self._effective_input(execution, frame, state, raw)
        result = effective if state.result is UNSET else state.result
        output = self._output(state, self._place(state.result_path, raw, result))
        self._exit(execution, frame, state, output)

    def _enter_succeed(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> None:
        self._exit(execution, frame, state, self._output(state, _select(state.input_path, raw)))

    def _enter_fail(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> None:
        context = self._context(execution, frame, state)
        error = state.error if state.error_from is None else state.error_from(raw, context)
        cause = state.cause if state.cause_from is None else state.cause_from(raw, context)
        for label, value in (("ErrorPath", error), ("CausePath", cause)):
            if value is not None and not isinstance(value, str):
                raise StatesError(errors.RUNTIME, f"The {label} of state {state.name!r} did not resolve to a string")
        self._fail_frame(execution, frame, error or "", cause)

    def _enter_choice(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> None:
        effective = _select(state.input_path, raw)
        context = self._context(execution, frame, state)
        target = next((next_state for test, next_state in state.choices if test(effective, context)), state.default)
        if target is None:
            raise StatesError(errors.NO_CHOICE_MATCHED, f"No Matches! (state {state.name!r})")
        self._exit(execution, frame, state, self._output(state, effective), next_state=target)

    def _enter_wait(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> None:
        effective = _select(state.input_path, raw)
        now = self.clock.now()
        if state.seconds is not None:
            due = now + state.seconds
        elif state.timestamp is not None:
            due = _epoch(state.timestamp)
        elif state.seconds_path is not None:
            seconds = _lookup(state.seconds_path, effective, "SecondsPath", state.name)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise StatesError(
                    errors.RUNTIME,
                    f"The SecondsPath of state {state.name!r} is not a number of seconds, 0 or more",
                )
            due = now + seconds
        else:
            assert state.timestamp_path is not None
            stamp = _lookup(state.timestamp_path, effective, "TimestampPath", state.name)
            if parse_timestamp(stamp) is None:
                raise StatesError(
                    errors.RUNTIME, f"The TimestampPath of state {state.name!r} is not an RFC 3339 timestamp"
                )
            due = _epoch(stamp)
        frame.data["effective"] = effective
        self._wait_until(frame, "waiting_timer", due)

    def _wait_until(self, frame: Frame, phase: str, due: float) -> None:
        frame.phase = phase
        frame.data["due"] = due
        frame.data["timer"] = frame.data.get("timer", 0) + 1
        self._touch(frame)
        heapq.heappush(self._timers, (due, frame.id, frame.data["timer"]))

    # --- tasks ------------------------------------------------------------------------------

    def _enter_task(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> _Invocation | None:
        return self._schedule(execution, frame, state)

    def _schedule(self, execution: _Execution, frame: Frame, state: State) -> _Invocation | None:
        resource = parse_resource(state.resource)
        attempt = frame.data.get("attempt", 0) + 1
        token = f"{uuid.uuid4().hex}{uuid.uuid4().hex}" if resource.pattern is Pattern.CALLBACK else None
        raw = frame.input
        selected = _select(state.input_path, raw)
        timeout = state.timeout_seconds or DEFAULT_TASK_TIMEOUT
        if state.timeout_seconds_path is not None:
            timeout = _positive(
                _lookup(state.timeout_seconds_path, selected, "TimeoutSecondsPath", state.name), state.name
            )
        heartbeat = state.heartbeat_seconds
        if state.heartbeat_seconds_path is not None:
            heartbeat = _positive(
                _lookup(state.heartbeat_seconds_path, selected, "HeartbeatSecondsPath", state.name),
                state.name,
            )
        parameters = self._effective_input(execution, frame, state, raw, token)
        if token is not None and token not in dumps(parameters):
            raise StatesError(
                errors.RUNTIME,
                f"state {state.name!r} waits for a task token but its Parameters never pass $$.Task.Token",
            )
        now = self.clock.now()
        frame.data.update(attempt=attempt, parameters=parameters, timeout_at=now + timeout)
        frame.data["heartbeat"] = heartbeat
        frame.data["heartbeat_at"] = now + heartbeat if heartbeat else None
        if frame.token:
            self._tokens.pop(frame.token, None)
        frame.token = token
        if token:
            self._tokens[token] = frame.id
        frame.phase = "invoke"
        details: dict[str, Any] = {
            "resourceType": resource.kind,
            "resource": resource.action,
            "region": self.region,
            "parameters": dumps(parameters),
        }
        if state.timeout_seconds or state.timeout_seconds_path:
            details["timeoutInSeconds"] = int(timeout)
        if heartbeat:
            details["heartbeatInSeconds"] = int(heartbeat)
        self._event(execution, frame, "TaskScheduled", "taskScheduledEventDetails", details)
        self._arm_task_timer(frame)
        return self._attempt(execution, frame, state)

    def _arm_task_timer(self, frame: Frame) -> None:
        due = frame.data["timeout_at"]
        if frame.data.get("heartbeat_at"):
            due = min(due, frame.data["heartbeat_at"])
        frame.data["timer"] = frame.data.get("timer", 0) + 1
        heapq.heappush(self._timers, (due, frame.id, frame.data["timer"]))

    def _attempt(self, execution: _Execution, frame: Frame, state: State) -> _Invocation:
        resource = parse_resource(state.resource)
        if not frame.data.get("started"):
            frame.data["started"] = True
            self._event(
                execution,
                frame,
                "TaskStarted",
                "taskStartedEventDetails",
                {"resourceType": resource.kind, "resource": resource.action},
            )
        self._touch(frame)
        return _Invocation(
            frame.id,
            frame.data["attempt"],
            resource,
            frame.data["parameters"],
            frame.token,
            frame.data["timeout_at"],
            execution.arn,
            state.name,
        )

    def _invoke(self, invocation: _Invocation) -> None:
        """Call the task's handler — outside any transaction — then record what happened."""
        resource = invocation.resource
        try:
            if resource.pattern is Pattern.EXECUTION:
                outcome: dict[str, Any] = {"child": self._start_child(invocation)}
            else:
                function = resource.function or _function_name(invocation.parameters, invocation.state)
                payload = invocation.parameters if resource.function else invocation.parameters.get("Payload", {})
                context = LambdaContext(function, invocation.deadline, self.clock.now)
                value = self.functions.invoke(function, payload, context)
                if resource.wraps_payload:
                    value = {"ExecutedVersion": "$LATEST", "Payload": value, "StatusCode": 200}
                outcome = {"result": value}
        except FunctionError as error:
            outcome = {"error": error.error, "cause": error.cause}
        except StatesError as error:
            outcome = {"error": error.error, "cause": error.cause}
        except Exception as error:
            outcome = {"error": type(error).__name__, "cause": str(error)}
        self._invocation_returned(invocation, outcome)

    def _start_child(self, invocation: _Invocation) -> str:
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
            started = self.start_execution(parameters["StateMachineArn"], name, text, _parent_frame=invocation.frame_id)
        except EngineError as error:
            raise StatesError(f"StepFunctions.{error.code}Exception", error.message) from None
        return str(started["executionArn"])

    def _invocation_returned(self, invocation: _Invocation, outcome: dict[str, Any]) -> None:
        with self.store.transaction():
            frame = self._frames.get(invocation.frame_id)
            if (
                frame is None
                or not frame.active
                or frame.phase != "invoke"
                or frame.data.get("attempt") != invocation.attempt
            ):
                return  # timed out, stopped or answered meanwhile: this result is late
            execution = self._executions[frame.execution]
            state = execution.definition.state(frame.scope, frame.state)
            with self._batch():
                resource = invocation.resource
                if self.clock.now() >= frame.data["timeout_at"]:
                    self._task_timed_out(execution, frame, state)  # the handler overran TimeoutSeconds
                elif "error" in outcome or resource.pattern is Pattern.REQUEST:
                    self._settle(execution, frame, state, outcome)
                elif resource.pattern is Pattern.EXECUTION:
                    frame.data["child"] = outcome["child"]
                    frame.phase = "waiting_execution"
                    self._event(
                        execution,
                        frame,
                        "TaskSubmitted",
                        "taskSubmittedEventDetails",
                        {
                            "resourceType": resource.kind,
                            "resource": resource.action,
                            "output": dumps({"ExecutionArn": outcome["child"]}),
                        },
                    )
                    self._touch(frame)
                    self._deliver_finished_child(frame)
                else:
                    self._event(
                        execution,
                        frame,
                        "TaskSubmitted",
                        "taskSubmittedEventDetails",
                        {
                            "resourceType": resource.kind,
                            "resource": resource.action,
                            "output": dumps(outcome.get("result")),
                        },
                    )
                    if "outcome" in frame.data:  # answered while the handler was still running
                        self._settle(execution, frame, state, frame.data.pop("outcome"))
                    else:
                        frame.phase = "waiting_token"
                        self._touch(frame)
        self._notify()

    def _settle(self, execution: _Execution, frame: Frame, state: State, outcome: dict[str, Any]) -> None:
        resource = parse_resource(state.resource)
        names = {"resourceType": resource.kind, "resource": resource.action}
        frame.data.pop("started", None)
        if "error" in outcome:
            details = {**names, "error": outcome["error"]}
            if outcome.get("cause") is not None:
                details["cause"] = outcome["cause"]
            self._event(execution, frame, "TaskFailed", "taskFailedEventDetails", details)
            self._state_error(execution, frame, state, outcome["error"], outcome.get("cause"))
            return
        result = outcome["result"]
        self._event(execution, frame, "TaskSucceeded", "taskSucceededEventDetails", {**names, "output": dumps(result)})
        self._complete(execution, frame, state, result)

    def _complete(self, execution: _Execution, frame: Frame, state: State, result: Any) -> None:
        """A Task, Parallel or Map produced ``result``: ResultSelector, ResultPath, OutputPath, exit."""
        try:
            if state.result_selector is not None:
                result = state.result_selector(result, self._context(execution, frame, state))
            placed = self._place(state.result_path, frame.input, result)
        except StatesError as error:
            self._state_error(execution, frame, state, error.error, error.cause)
            return
        if frame.token:
            self._tokens.pop(frame.token, None)
        self._exit(execution, frame, state, self._output(state, placed))

    def _place(self, path: Any, raw: Any, result: Any) -> Any:
        try:
            return place_result(raw, path, result)
        except ResultPathError as error:
            raise StatesError(errors.RESULT_PATH_MATCH_FAILURE, str(error)) from None

    # --- failure handling ---------------------------------------------------------------

    def _state_error(self, execution: _Execution, frame: Frame, state: State, error: str, cause: str | None) -> None:
        """Retry, catch, or fail the frame: Step Functions' rules, in that order."""
        if state.type in {"Task", "Parallel", "Map"}:
            retries = frame.data.setdefault("retries", {})
            for index, retrier in enumerate(state.retry):
                if not matches(retrier.error_equals, error):
                    continue
                count = retries.get(str(index), 0)
                if count < retrier.max_attempts:
                    delay = retrier.interval_seconds * retrier.backoff_rate**count
                    if retrier.max_delay_seconds is not None:
                        delay = min(delay, retrier.max_delay_seconds)
                    if retrier.jitter:
                        delay = self._jitter.uniform(0, delay)
                    retries[str(index)] = count + 1
                    self._wait_until(frame, "waiting_retry", self.clock.now() + delay)
                    return
                break
            for catcher in state.catch:
                if matches(catcher.error_equals, error):
                    error_output = {"Error": error, **({"Cause": cause} if cause is not None else {})}
                    try:
                        output = self._place(catcher.result_path, frame.input, error_output)
                    except StatesError as failure:
                        self._fail_frame(execution, frame, failure.error, failure.cause)
                        return
                    if frame.token:
                        self._tokens.pop(frame.token, None)
                    self._exit(execution, frame, state, output, next_state=catcher.next)
                    return
        self._fail_frame(execution, frame, error, cause)

    def _retry(self, execution: _Execution, frame: Frame, state: State) -> _Invocation | None:
        try:
            if state.type == "Task":
                return self._schedule(execution, frame, state)
            if state.type == "Parallel":
                self._enter_parallel(execution, frame, state, frame.input)
            else:
                self._enter_map(execution, frame, state, frame.input)
        except StatesError as error:
            self._state_error(execution, frame, state, error.error, error.cause)
        return None

    def _fail_frame(self, execution: _Execution, frame: Frame, error: str, cause: str | None) -> None:
        self._finish_frame(execution, frame, error=error, cause=cause, failed=True)

    # --- frames ending ------------------------------------------------------------------

    def _finish_frame(
        self,
        execution: _Execution,
        frame: Frame,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
        failed: bool = False,
    ) -> None:
        frame.active = False
        frame.phase = "failed" if failed else "done"
        if frame.token:
            self._tokens.pop(frame.token, None)
        frame.data = (
            {"output": output}
            if not failed
            else {"error": error, "cause": cause, "last_event": frame.data.get("last_event", 0)}
        )
        self._touch(frame)
        self._frames.pop(frame.id, None)
        if frame.parent is None:
            if failed:
                self._fail_execution(execution, error or "", cause)
            else:
                self._event(
                    execution,
                    None,
                    "ExecutionSucceeded",
                    "executionSucceededEventDetails",
                    {"output": dumps(output), "outputDetails": {"truncated": False}},
                )
                self._end_execution(execution, "SUCCEEDED", output=output)
            return
        parent = self._frames.get(frame.parent)
        if parent is None or not parent.active:
            return
        parent_state = execution.definition.state(parent.scope, parent.state)
        if parent_state.type == "Parallel":
            self._branch_finished(execution, parent, parent_state, frame, output, error, cause, failed)
        else:
            self._iteration_finished(execution, parent, parent_state, frame, output, error, cause, failed)

    def _fail_execution(self, execution: _Execution, error: str, cause: str | None) -> None:
        details = {"error": error, **({"cause": cause} if cause is not None else {})}
        self._event(execution, None, "ExecutionFailed", "executionFailedEventDetails", details)
        self._end_execution(execution, "FAILED", error=error, cause=cause)

    def _end_execution(
        self,
        execution: _Execution,
        status: str,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        execution.status = status
        now = self.clock.now()
        self.store.db.execute(
            "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stopped = ? WHERE arn = ?",
            (status, dumps(output) if status == "SUCCEEDED" else None, error, cause, now, execution.arn),
        )
        self._cancel_frames(execution.arn)
        self._executions.pop(execution.arn, None)
        if self._listeners:
            self.store.db.execute("INSERT OR IGNORE INTO unannounced (execution_arn) VALUES (?)", (execution.arn,))
            self._finished.append(execution.arn)
        if execution.parent_frame is not None:
            parent = self._frames.get(execution.parent_frame)
            if parent is not None and parent.phase == "waiting_execution" and parent.data.get("child") == execution.arn:
                self._deliver_finished_child(parent)

    def _cancel_frames(self, execution_arn: str) -> None:
        for frame in [f for f in self._frames.values() if f.execution == execution_arn]:
            frame.active = False
            frame.phase = "cancelled"
            if frame.token:
                self._tokens.pop(frame.token, None)
            self._frames.pop(frame.id, None)

    def _deliver_finished_child(self, frame: Frame) -> None:
        """A nested execution ended: answer the task that started it."""
        child = frame.data.get("child")
        rows = self.store.db.execute(
            "SELECT arn, state_machine_arn, name, status, input, output, error, cause, started, stopped "
            "FROM executions WHERE arn = ?",
            (child,),
        ).fetchall()
        if not rows or rows[0][3] == "RUNNING":
            return
        described = _described(rows[0])
        execution = self._executions[frame.execution]
        state: State = execution.definition.state(frame.scope, frame.state)
        resource = parse_resource(state.resource)
        if described["status"] == "SUCCEEDED":
            result = {
                key: value.isoformat() if isinstance(value, datetime) else value for key, value in described.items()
            }
            if resource.nested_output == "sync:2":
                result["Output"] = json.loads(described.get("output") or "null")
            else:
                result["Output"] = described.get("output")
            result.pop("output", None)
            result = {_pascal(key): value for key, value in result.items()}
            outcome: dict[str, Any] = {"result": result}
        else:
            outcome = {
                "error": errors.TASK_FAILED,
                "cause": dumps({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in described.items()}),
            }
        frame.phase = "outcome"
        frame.data["outcome"] = outcome
        self._touch(frame)
        self._ready.append(frame.id)

    # --- Parallel and Map -----------------------------------------------------------------

    def _enter_parallel(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> None:
        effective = self._effective_input(execution, frame, state, raw)
        self._event(execution, frame, "ParallelStateStarted", None, None)
        frame.phase = "waiting_children"
        frame.data.update(pending=len(state.branches), results=[None] * len(state.branches))
        self._touch(frame)
        for index, branch in enumerate(state.branches):
            self._new_frame(execution, frame, index, branch.path, branch.start_at, effective, {})

    def _branch_finished(
        self,
        execution: _Execution,
        parent: Frame,
        state: State,
        child: Frame,
        output: Any,
        error: str | None,
        cause: str | None,
        failed: bool,
    ) -> None:
        if failed:
            self._cancel_children(parent)
            self._event(execution, parent, "ParallelStateFailed", None, None)
            self._state_error(execution, parent, state, error or "", cause)
            return
        parent.data["results"][child.slot] = output
        parent.data["pending"] -= 1
        self._touch(parent)
        if parent.data["pending"] == 0:
            results = parent.data.pop("results")
            self._event(execution, parent, "ParallelStateSucceeded", None, None)
            self._complete(execution, parent, state, results)

    def _cancel_children(self, parent: Frame) -> None:
        for frame in [f for f in self._frames.values() if f.parent == parent.id]:
            self._cancel_children(frame)
            frame.active = False
            frame.phase = "cancelled"
            if frame.token:
                self._tokens.pop(frame.token, None)
            self._touch(frame)
            self._frames.pop(frame.id, None)

    def _enter_map(self, execution: _Execution, frame: Frame, state: State, raw: Any) -> None:
        selected = _select(state.input_path, raw)
        items = _lookup(state.items_path, selected, "ItemsPath", state.name) if state.items_path else selected
        if not isinstance(items, list):
            raise StatesError(
                errors.QUERY_EVALUATION_ERROR,
                f"Map state input must be an array: the ItemsPath of {state.name!r} selected {dumps(items)[:100]}",
            )
        limit = state.max_concurrency
        if state.max_concurrency_path is not None:
            limit = int(_lookup(state.max_concurrency_path, selected, "MaxConcurrencyPath", state.name))
        self._event(execution, frame, "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
        frame.phase = "waiting_children"
        frame.data.update(
            items=items,
            next=0,
            running=0,
            results=[None] * len(items),
            failures=0,
            limit=limit or len(items) or 1,
            selected=selected,
        )
        self._touch(frame)
        if not items:
            self._map_done(execution, frame, state)
            return
        self._start_iterations(execution, frame, state)

    def _start_iterations(self, execution: _Execution, frame: Frame, state: State) -> None:
        data = frame.data
        processor = state.processor
        while data["next"] < len(data["items"]) and data["running"] < data["limit"]:
            index = data["next"]
            item = data["items"][index]
            map_item = {"Index": index, "Value": item}
            iteration_input = item
            if state.item_selector is not None:
                context = self._context(execution, frame, state)
                context["Map"] = {"Item": map_item}
                iteration_input = state.item_selector(data["selected"], context)
            data["next"] += 1
            data["running"] += 1
            self._event(
                execution,
                frame,
                "MapIterationStarted",
                "mapIterationStartedEventDetails",
                {"name": state.name, "index": index},
            )
            self._new_frame(
                execution,
                frame,
                index,
                processor.path,
                processor.start_at,
                iteration_input,
                {"map_item": map_item},
            )
        self._touch(frame)

    def _iteration_finished(
        self,
        execution: _Execution,
        parent: Frame,
        state: State,
        child: Frame,
        output: Any,
        error: str | None,
        cause: str | None,
        failed: bool,
    ) -> None:
        data = parent.data
        data["running"] -= 1
        details = {"name": state.name, "index": child.slot}
        if failed:
            self._event(execution, parent, "MapIterationFailed", "mapIterationFailedEventDetails", details)
            data["failures"] += 1
            data["results"][child.slot] = {"Error": error, **({"Cause": cause} if cause is not None else {})}
            if not self._tolerated(state, data["failures"], len(data["items"])):
                self._cancel_children(parent)
                self._event(execution, parent, "MapStateFailed", None, None)
                tolerance_set = (
                    state.tolerated_failure_count is not None or state.tolerated_failure_percentage is not None
                )
                if tolerance_set:
                    error, cause = (
                        errors.EXCEED_TOLERATED_FAILURE_THRESHOLD,
                        (f"The specified tolerated failure threshold was exceeded ({data['failures']} failed)"),
                    )
                self._state_error(execution, parent, state, error or "", cause)
                return
        else:
            self._event(execution, parent, "MapIterationSucceeded", "mapIterationSucceededEventDetails", details)
            data["results"][child.slot] = output
        self._touch(parent)
        if data["next"] < len(data["items"]):
            self._start_iterations(execution, parent, state)
        elif data["running"] == 0:
            self._map_done(execution, parent, state)

    def _tolerated(self, state: State, failures: int, total: int) -> bool:
        if state.tolerated_failure_count is not None and failures <= state.tolerated_failure_count:
            return True
        if state.tolerated_failure_percentage is not None and total:
            return bool(failures * 100 / total <= state.tolerated_failure_percentage)
        return False

    def _map_done(self, execution: _Execution, frame: Frame, state: State) -> None:
        results = frame.data["results"]
        for key in ("items", "next", "running", "results", "failures", "limit", "selected"):
            frame.data.pop(key, None)
        self._event(execution, frame, "MapStateSucceeded", None, None)
        self._complete(execution, frame, state, results)

    # --- timers ---------------------------------------------------------------------------

    def _next_timer(self) -> float | None:
        while self._timers:
            due, frame_id, version = self._timers[0]
            frame = self._frames.get(frame_id)
            if frame is not None and frame.active and frame.data.get("timer") == version:
                return due
            heapq.heappop(self._timers)
        return None

    def _next_skippable_timer(self) -> float | None:
        """The next Wait state or retry back-off: what ``skip_waits`` may jump the clock to.

        A task's timeout is not skipped: jumping years ahead because nobody has answered a
        token yet would turn every unanswered callback into a timeout.
        """
        self._next_timer()
        due_times = [
            due
            for due, frame_id, version in self._timers
            if (frame := self._frames.get(frame_id)) is not None
            and frame.active
            and frame.data.get("timer") == version
            and frame.phase in {"waiting_timer", "waiting_retry"}
        ]
        return min(due_times, default=None)

    def _fire_due_timers(self) -> None:
        now = self.clock.now()
        while (due := self._next_timer()) is not None and due <= now:
            _, frame_id, _ = heapq.heappop(self._timers)
            frame = self._frames[frame_id]
            with self.store.transaction():
                execution = self._executions[frame.execution]
                state = execution.definition.state(frame.scope, frame.state)
                with self._batch():
                    self._timer_fired(execution, frame, state)
            self._changed.notify_all()

    def _timer_fired(self, execution: _Execution, frame: Frame, state: State) -> None:
        frame.data.pop("timer", None)
        if frame.phase == "waiting_timer":
            frame.phase = "wait_over"
        elif frame.phase == "waiting_retry":
            frame.phase = "retry"
        elif frame.phase in {"invoke", "waiting_token", "waiting_execution"}:
            self._task_timed_out(execution, frame, state)
            return
        else:
            return
        self._touch(frame)
        self._ready.append(frame.id)

    def _task_timed_out(self, execution: _Execution, frame: Frame, state: State) -> None:
        now = self.clock.now()
        heartbeat_at = frame.data.get("heartbeat_at")
        if heartbeat_at and heartbeat_at <= now and heartbeat_at < frame.data["timeout_at"]:
            error, cause = errors.HEARTBEAT_TIMEOUT, "The task did not send a heartbeat in time"
        else:
            error, cause = errors.TIMEOUT, "The task did not finish within its TimeoutSeconds"
        resource = parse_resource(state.resource)
        child = frame.data.get("child") if frame.phase == "waiting_execution" else None
        frame.data["attempt"] = frame.data.get("attempt", 0) + 1000  # any late result is now stale
        frame.data.pop("outcome", None)
        frame.data.pop("started", None)
        self._event(
            execution,
            frame,
            "TaskTimedOut",
            "taskTimedOutEventDetails",
            {"resourceType": resource.kind, "resource": resource.action, "error": error, "cause": cause},
        )
        if child:
            child_execution = self._load_execution(child)
            if child_execution is not None and child_execution.status == "RUNNING":
                self._event(child_execution, None, "ExecutionAborted", "executionAbortedEventDetails", {})
                child_execution.parent_frame = None
                self._end_execution(child_execution, "ABORTED")
        self._state_error(execution, frame, state, error, cause)

    # --- recovery -------------------------------------------------------------------------

    def _load_execution(self, arn: str) -> _Execution | None:
        cached = self._executions.get(arn)
        if cached is not None:
            return cached
        rows = self.store.db.execute(
            "SELECT state_machine_arn, name, status, input, started, parent_frame, "
            "(SELECT coalesce(max(id), 0) FROM events WHERE execution_arn = executions.arn) FROM executions "
            "WHERE arn = ?",
            (arn,),
        ).fetchall()
        if not rows:
            return None
        machine_arn, name, status, data, started, parent_frame, event_count = rows[0]
        machine_name, definition, role = self._machine(machine_arn)
        execution = _Execution(
            arn,
            machine_arn,
            machine_name,
            name,
            role,
            json.loads(data),
            started,
            definition,
            status,
            event_count,
            parent_frame,
        )
        if status == "RUNNING":
            self._executions[arn] = execution
        return execution

    def _recover(self) -> None:
        """Pick up every unfinished execution where its last transaction left it."""
        stored_clock = self.store.get_meta("clock")
        if stored_clock is not None and isinstance(self.clock, ManualClock):
            self.clock.set(float(stored_clock))
        rows = self.store.query(
            "SELECT id, execution_arn, parent, slot, scope, state, phase, input, data, token FROM frames "
            "WHERE active = 1 ORDER BY id"
        )
        for frame_id, arn, parent, slot, scope, state, phase, data_in, data, token in rows:
            execution = self._load_execution(arn)
            if execution is None or execution.status != "RUNNING":
                continue
            frame = Frame(
                frame_id, arn, parent, slot, scope, state, phase, json.loads(data_in), json.loads(data), token
            )
            self._frames[frame_id] = frame
            if token:
                self._tokens[token] = frame_id
            if phase in {"enter", "invoke", "outcome", "retry", "wait_over"}:
                self._ready.append(frame_id)
            if phase in {"waiting_timer", "waiting_retry"}:
                heapq.heappush(self._timers, (frame.data["due"], frame_id, frame.data.get("timer", 0)))
            elif phase in {"invoke", "waiting_token", "waiting_execution"} and "timeout_at" in frame.data:
                self._arm_task_timer(frame)
        for frame in list(self._frames.values()):
            if frame.phase == "waiting_execution":
                with self.store.transaction(), self._batch():
                    self._deliver_finished_child(frame)
        # Ends a crash kept from the listeners: told when the engine next runs.
        known = set(self._finished)
        unannounced = self.store.query("SELECT execution_arn FROM unannounced")
        self._finished += [arn for (arn,) in unannounced if arn not in known]


_NO_CONTEXT: dict[str, Any] = {}
_PAYLOAD_FIELDS = ("input", "output", "parameters")


class _Fault(Exception):
    def __init__(self, execution: str, message: str) -> None:
        super().__init__(message)
        self.execution, self.message = execution, message


def _select(path: Any, value: Any) -> Any:
    """InputPath/OutputPath: None (null) gives {}; a path that matches nothing is States.Runtime."""
    if path is None:
        return {}
    if not path.steps:
        return value
    try:
        return path.evaluate(value)
    except PathNotFound:
        raise StatesError(
            errors.RUNTIME, f"Invalid path {path.text!r}: the path could not be found in the input"
        ) from None


def _lookup(path: Any, value: Any, field: str, state: str) -> Any:
    try:
        return path.evaluate(value)
    except PathNotFound:
        raise StatesError(
            errors.RUNTIME, f"The {field} {path.text!r} of state {state!r} could not be found in the input"
        ) from None


def _positive(value: Any, state: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise StatesError(errors.RUNTIME, f"state {state!r}: a timeout path must select a positive number of seconds")
    return float(value)


def _function_name(parameters: Any, state: str) -> str:
    name = parameters.get("FunctionName") if isinstance(parameters, dict) else None
    if not isinstance(name, str):
        raise StatesError(errors.RUNTIME, f"state {state!r}: lambda:invoke needs a FunctionName parameter")
    return name


def _epoch(stamp: str) -> float:
    parsed = parse_timestamp(stamp)
    assert parsed is not None
    return parsed.timestamp()


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


def _described(row: tuple[Any, ...]) -> dict[str, Any]:
    arn, machine, name, status, data, output, error, cause, started, stopped = row
    described: dict[str, Any] = {
        "executionArn": arn,
        "stateMachineArn": machine,
        "name": name,
        "status": status,
        "startDate": _datetime(started),
        "input": data,
        "inputDetails": {"included": True},
    }
    if stopped is not None:
        described["stopDate"] = _datetime(stopped)
    if output is not None:
        described["output"] = output
        described["outputDetails"] = {"included": True}
    if error is not None:
        described["error"] = error
    if cause is not None:
        described["cause"] = cause
    return described
