"""Pass: its input (or its Result) placed at ResultPath; in JSONata, its Output (or its input)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.dataflow import conclude, effective_input, entered
from stepline.engine.definition import UNSET, PassState
from stepline.engine.flow import exit_state
from stepline.engine.model import Execution, Frame, StateKind

if TYPE_CHECKING:
    from stepline.engine.active import Active


def enter(active: Active, execution: Execution, frame: Frame, state: PassState, raw: Any) -> None:
    if state.plain:
        exit_state(active, execution, frame, state, raw)
    elif state.jsonata:
        output, assigned = conclude(active, execution, frame, state, raw)
        exit_state(active, execution, frame, state, output, assigned=assigned)
    else:
        data, bound = entered(active, execution, frame, state, raw)
        result = effective_input(state, data, bound) if state.result is UNSET else state.result
        output, assigned = conclude(active, execution, frame, state, raw, result, bound=bound)
        exit_state(active, execution, frame, state, output, assigned=assigned)


KIND: StateKind[PassState] = StateKind(enter)
