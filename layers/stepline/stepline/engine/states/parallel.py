"""Parallel: one child frame per branch; the list of their outputs, or the first failure, which
cancels the other branches. Each branch runs in a variable scope of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import frames
from stepline.engine.dataflow import effective_input, entered
from stepline.engine.definition import ParallelState
from stepline.engine.history import record
from stepline.engine.model import Ending, Execution, Frame, Phase, StateKind
from stepline.engine.retry import handle_error
from stepline.engine.states.results import complete

if TYPE_CHECKING:
    from stepline.engine.active import Active


def enter(active: Active, execution: Execution, frame: Frame, state: ParallelState, raw: Any) -> None:
    effective = effective_input(state, *entered(active, execution, frame, state, raw))
    record(active, execution, frame, "ParallelStateStarted", None, None)
    frame.phase = Phase.WAITING_CHILDREN
    frame.data.update(pending=len(state.branches), results=[None] * len(state.branches))
    active.touch(frame)
    for index, branch in enumerate(state.branches):
        frames.begin(active, execution, frame, index, branch.path, branch.start_at, effective, {})


def branch_ended(
    active: Active, execution: Execution, parent: Frame, state: ParallelState, child: Frame, ending: Ending
) -> None:
    if ending.failed:
        frames.cancel_children(active, parent)
        record(active, execution, parent, "ParallelStateFailed", None, None)
        handle_error(active, execution, parent, state, ending.error, ending.cause)
        return
    parent.data["results"][child.slot] = ending.output
    parent.data["pending"] -= 1
    active.touch(parent)
    if parent.data["pending"] == 0:
        results = parent.data.pop("results")
        record(active, execution, parent, "ParallelStateSucceeded", None, None)
        complete(active, execution, parent, state, results)


KIND: StateKind[ParallelState] = StateKind(enter, child_ended=branch_ended)
