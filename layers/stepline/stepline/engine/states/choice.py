"""Choice: the first rule that matches names the next state, else Default, else States.NoChoiceMatched.

A JSONPath rule compares a Variable (a path into the input, ``$$`` or ``$name``); a JSONata
rule's Condition is an expression giving true or false. The matching rule's Assign (and
Output, in JSONata) apply; the state's own apply when Default is taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.dataflow import conclude, entered
from stepline.engine.definition import ChoiceState
from stepline.engine.errors import StatesError
from stepline.engine.flow import exit_state
from stepline.engine.model import Execution, Frame, StateKind

if TYPE_CHECKING:
    from stepline.engine.active import Active


def enter(active: Active, execution: Execution, frame: Frame, state: ChoiceState, raw: Any) -> None:
    data, bound = entered(active, execution, frame, state, raw)
    rule = next((rule for rule in state.choices if rule.test(data, bound)), None)
    target = rule.next if rule is not None else state.default
    if target is None:
        raise StatesError(errors.NO_CHOICE_MATCHED, f"No Matches! (state {state.name!r})")
    output, assigned = conclude(active, execution, frame, state, raw, rule=rule, bound=bound)
    exit_state(active, execution, frame, state, output, next_state=target, assigned=assigned)


KIND: StateKind[ChoiceState] = StateKind(enter)
