"""Choice: the first rule that matches names the next state, else Default, else States.NoChoiceMatched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.dataflow import context, output, select
from stepline.engine.definition import ChoiceState
from stepline.engine.errors import StatesError
from stepline.engine.flow import exit_state
from stepline.engine.model import Execution, Frame, StateKind

if TYPE_CHECKING:
    from stepline.engine.active import Active


def enter(active: Active, execution: Execution, frame: Frame, state: ChoiceState, raw: Any) -> None:
    effective = select(state.input_path, raw)
    data_context = context(active, execution, frame, state)
    target = next((next_state for test, next_state in state.choices if test(effective, data_context)), state.default)
    if target is None:
        raise StatesError(errors.NO_CHOICE_MATCHED, f"No Matches! (state {state.name!r})")
    exit_state(active, execution, frame, state, output(state, effective), next_state=target)


KIND: StateKind[ChoiceState] = StateKind(enter)
