"""One step of one frame: what its phase says to do next, in memory, written with its group's commit.

Entering a state records ``<Type>StateEntered`` and hands the state to its type's ``enter``
(``states.KINDS``); an error it raises goes to Retry and Catch (``retry.handle_error``). A bug
in the engine itself (any other exception) undoes the step's whole group and is raised as a
``Fault`` naming the execution, which the scheduler fails alone (``recovery.after_fault``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stepline.engine.dataflow import conclude
from stepline.engine.definition import State, StateType, TaskState
from stepline.engine.errors import StatesError
from stepline.engine.flow import exit_state
from stepline.engine.history import record, state_details
from stepline.engine.model import Execution, ExecutionStatus, Frame, Invocation, Phase
from stepline.engine.retry import raised
from stepline.engine.states import task
from stepline.engine.store import StoreError, dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active

Advance = Callable[["Active", Execution, Frame, State], Invocation | None]


_ENTERED = {kind: f"{kind.value}StateEntered" for kind in StateType}


class Fault(Exception):
    """An engine bug met while stepping an execution: that execution fails, the others go on."""

    def __init__(self, execution: str, message: str) -> None:
        super().__init__(message)
        self.execution, self.message = execution, message


def step(active: Active, frame_id: int) -> Invocation | None:
    """Move the frame one step; the task attempt to call once the group commits, if any."""
    frame = active.frames.get(frame_id)
    if frame is None or not frame.active:
        return None
    execution = active.executions.get(frame.execution)
    if execution is None or execution.status is not ExecutionStatus.RUNNING:
        active.frames.pop(frame_id, None)  # a branch begun in the step that ended its execution
        return None
    state = execution.definition.state(frame.scope, frame.state)
    active.transitions += 1
    advance = _ADVANCE.get(frame.phase)
    if advance is None:
        return None
    try:
        invocation = advance(active, execution, frame, state)
        # An execution that ended inside the step (its history full) calls nothing more.
        return invocation if execution.status is ExecutionStatus.RUNNING else None
    except (sqlite3.Error, StoreError):
        raise  # the database, not the execution, failed (a full disk): nothing is committed
    except Exception as error:  # an engine fault: undo this step's group, then fail the execution
        active.pending = None
        fault = f"internal engine error in state {state.name!r}: {type(error).__name__}: {error}"
        raise Fault(execution.arn, fault) from error


def _enter(active: Active, execution: Execution, frame: Frame, state: State) -> Invocation | None:
    data = frame.data
    data["entered"] = active.clock.now()
    data["retries"] = {}
    if frame.input_text is None:
        frame.input_text = dumps(frame.input)
    body = state_details("stateEnteredEventDetails", state.name, "input")
    record(active, execution, frame, _ENTERED[state.type], None, None, "input", frame.input_text, body=body)
    data["entered_event"] = data["last_event"]  # AWS names it in the causes of its own errors
    return _run(active, execution, frame, state, frame.input)


def _run(active: Active, execution: Execution, frame: Frame, state: State, raw: Any) -> Invocation | None:
    """The state's type runs it: on entering, and again after a retry's back-off."""
    try:
        return active.kinds[state.type].enter(active, execution, frame, state, raw)
    except StatesError as error:
        raised(active, execution, frame, state, error)
        return None


def _retry(active: Active, execution: Execution, frame: Frame, state: State) -> Invocation | None:
    return _run(active, execution, frame, state, frame.input)


def _invoke(active: Active, execution: Execution, frame: Frame, state: State) -> Invocation | None:
    assert isinstance(state, TaskState)
    return task.attempt(active, execution, frame, state)


def _returned(active: Active, execution: Execution, frame: Frame, state: State) -> Invocation | None:
    assert isinstance(state, TaskState)
    task.recorded(active, execution, frame, state)
    return None


def _settle(active: Active, execution: Execution, frame: Frame, state: State) -> Invocation | None:
    assert isinstance(state, TaskState)
    task.settle(active, execution, frame, state, frame.data.pop("outcome"))
    return None


def _wait_over(active: Active, execution: Execution, frame: Frame, state: State) -> Invocation | None:
    try:
        output, assigned = conclude(active, execution, frame, state, frame.input)
    except StatesError as error:
        raised(active, execution, frame, state, error)
        return None
    exit_state(active, execution, frame, state, output, assigned=assigned)
    return None


# The phases a frame is stepped in (model.READY_PHASES); a frame in any other phase waits.
_ADVANCE: dict[Phase, Advance] = {
    Phase.ENTER: _enter,
    Phase.INVOKE: _invoke,
    Phase.RETURNED: _returned,
    Phase.OUTCOME: _settle,
    Phase.RETRY: _retry,
    Phase.WAIT_OVER: _wait_over,
}
