"""Succeed and Fail: the states that end their scope (Fail with an Error and Cause, static or read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.dataflow import context, output, select
from stepline.engine.definition import FailState, SucceedState
from stepline.engine.errors import StatesError
from stepline.engine.flow import exit_state, fail_frame
from stepline.engine.model import Execution, Frame, StateKind

if TYPE_CHECKING:
    from stepline.engine.active import Active


def succeed(active: Active, execution: Execution, frame: Frame, state: SucceedState, raw: Any) -> None:
    exit_state(active, execution, frame, state, output(state, select(state.input_path, raw)))


def fail(active: Active, execution: Execution, frame: Frame, state: FailState, raw: Any) -> None:
    data_context = context(active, execution, frame, state)
    error = state.error if state.error_from is None else state.error_from(raw, data_context)
    cause = state.cause if state.cause_from is None else state.cause_from(raw, data_context)
    for label, value in (("ErrorPath", error), ("CausePath", cause)):
        if value is not None and not isinstance(value, str):
            raise StatesError(errors.RUNTIME, f"The {label} of state {state.name!r} did not resolve to a string")
    fail_frame(active, execution, frame, error or "", cause)


SUCCEED: StateKind[SucceedState] = StateKind(succeed)
FAIL: StateKind[FailState] = StateKind(fail)
