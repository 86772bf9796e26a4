"""What each state type does, one module per type, in one table keyed by the type."""

from typing import Any

from stepline.engine.definition import StateType
from stepline.engine.model import StateKind
from stepline.engine.states import choice, map_, parallel, pass_, task, terminal, wait

KINDS: dict[StateType, StateKind[Any]] = {
    StateType.PASS: pass_.KIND,
    StateType.TASK: task.KIND,
    StateType.CHOICE: choice.KIND,
    StateType.WAIT: wait.KIND,
    StateType.SUCCEED: terminal.SUCCEED,
    StateType.FAIL: terminal.FAIL,
    StateType.PARALLEL: parallel.KIND,
    StateType.MAP: map_.KIND,
}

__all__ = ["KINDS"]
