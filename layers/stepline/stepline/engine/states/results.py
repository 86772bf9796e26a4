"""What Task, Parallel and Map do with their result: ResultSelector, ResultPath, OutputPath, then exit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.dataflow import context, output, place
from stepline.engine.definition import FallibleState
from stepline.engine.errors import StatesError
from stepline.engine.flow import exit_state
from stepline.engine.model import Execution, Frame
from stepline.engine.retry import handle_error

if TYPE_CHECKING:
    from stepline.engine.active import Active


def complete(active: Active, execution: Execution, frame: Frame, state: FallibleState, result: Any) -> None:
    try:
        if state.result_selector is not None:
            result = state.result_selector(result, context(active, execution, frame, state))
        placed = place(state.result_path, frame.input, result)
    except StatesError as error:
        handle_error(active, execution, frame, state, error.error, error.cause)
        return
    active.forget_token(frame)
    exit_state(active, execution, frame, state, output(state, placed))
