"""Pass: its input (or its Result) placed at ResultPath."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.dataflow import effective_input, output, place
from stepline.engine.definition import UNSET, PassState
from stepline.engine.flow import exit_state
from stepline.engine.model import Execution, Frame, StateKind

if TYPE_CHECKING:
    from stepline.engine.active import Active


def enter(active: Active, execution: Execution, frame: Frame, state: PassState, raw: Any) -> None:
    effective = effective_input(active, execution, frame, state, raw)
    result = effective if state.result is UNSET else state.result
    exit_state(active, execution, frame, state, output(state, place(state.result_path, raw, result)))


KIND: StateKind[PassState] = StateKind(enter)
