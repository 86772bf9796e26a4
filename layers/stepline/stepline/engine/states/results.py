"""What Task, Parallel and Map do with their result: Assign, ResultSelector, ResultPath and OutputPath
(or, in JSONata, Assign and Output), then exit. An error on the way is the state's error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.dataflow import conclude
from stepline.engine.definition import FallibleState
from stepline.engine.errors import StatesError
from stepline.engine.flow import exit_state
from stepline.engine.model import Execution, Frame
from stepline.engine.retry import raised

if TYPE_CHECKING:
    from stepline.engine.active import Active


def complete(active: Active, execution: Execution, frame: Frame, state: FallibleState, result: Any) -> None:
    try:
        output, assigned = conclude(active, execution, frame, state, frame.input, result)
    except StatesError as error:
        raised(active, execution, frame, state, error)
        return
    active.forget_token(frame)
    exit_state(active, execution, frame, state, output, assigned=assigned)
