"""Parallel: one child frame per branch; the list of their outputs, or the first failure, which
cancels the other branches. Each branch runs in a variable scope of its own. The outputs are
kept as a Map's results are (``Progress``): each written once, as its branch ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import frames
from stepline.engine.dataflow import effective_input, entered
from stepline.engine.definition import ParallelState
from stepline.engine.history import record
from stepline.engine.model import Ending, Execution, Frame, Phase, Progress, StateKind
from stepline.engine.retry import handle_error
from stepline.engine.states.results import complete
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active


def enter(active: Active, execution: Execution, frame: Frame, state: ParallelState, raw: Any) -> None:
    effective = effective_input(state, *entered(active, execution, frame, state, raw))
    record(active, execution, frame, "ParallelStateStarted", None, None)
    frame.phase = Phase.WAITING_CHILDREN
    frame.progress = Progress([None] * len(state.branches))
    frame.data.update(pending=len(state.branches), total=len(state.branches))
    active.touch(frame)
    for index, branch in enumerate(state.branches):
        frames.begin(active, execution, frame, index, branch.path, branch.start_at, effective, {})


def branch_ended(
    active: Active, execution: Execution, parent: Frame, state: ParallelState, child: Frame, ending: Ending
) -> None:
    progress = parent.progress
    assert progress is not None
    if ending.failed:
        frames.cancel_children(active, parent)
        record(active, execution, parent, "ParallelStateFailed", None, None)
        _forget_progress(active, parent)
        handle_error(active, execution, parent, state, ending.error, ending.cause)
        return
    progress.results[child.slot] = ending.output
    parent.data["pending"] -= 1
    if parent.data["pending"]:
        active.result(parent, child.slot, dumps(ending.output) if ending.text is None else ending.text)
        return
    _forget_progress(active, parent)
    record(active, execution, parent, "ParallelStateSucceeded", None, None)
    complete(active, execution, parent, state, progress.results)


def _forget_progress(active: Active, frame: Frame) -> None:
    frame.data.pop("pending", None)
    frame.data.pop("total", None)
    active.drop_lists(frame)


KIND: StateKind[ParallelState] = StateKind(enter, child_ended=branch_ended)
