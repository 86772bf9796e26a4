"""Succeed and Fail: the states that end their scope (Fail with an Error and Cause, static or computed).

A Fail state without Error fails with no error at all (null), as on AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.dataflow import bindings, conclude
from stepline.engine.definition import FailState, SucceedState
from stepline.engine.errors import StatesError
from stepline.engine.flow import exit_state, fail_frame
from stepline.engine.model import Execution, Frame, StateKind

if TYPE_CHECKING:
    from stepline.engine.active import Active


def succeed(active: Active, execution: Execution, frame: Frame, state: SucceedState, raw: Any) -> None:
    output, _ = conclude(active, execution, frame, state, raw)
    exit_state(active, execution, frame, state, output)


def fail(active: Active, execution: Execution, frame: Frame, state: FailState, raw: Any) -> None:
    bound = bindings(active, execution, frame, state)
    if state.jsonata:
        bound = bound.with_states(input=raw)
    error = state.error if state.error_from is None else state.error_from(raw, bound)
    cause = state.cause if state.cause_from is None else state.cause_from(raw, bound)
    for label, value in (("Error", error), ("Cause", cause)):
        if value is not None and not isinstance(value, str):
            field = label if state.jsonata else f"{label}Path"
            raise StatesError(errors.RUNTIME, f"The {field} of state '{state.name}' did not resolve to a string")
    fail_frame(active, execution, frame, error, cause)


SUCCEED: StateKind[SucceedState] = StateKind(succeed)
FAIL: StateKind[FailState] = StateKind(fail)
