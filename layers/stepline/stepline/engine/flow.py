"""A frame leaving its state: on to the next one, or to the end of its scope.

When a frame's scope ends, the frame ends: the root frame ends its execution; a Parallel
branch or Map iteration tells its parent (``StateKind.child_ended``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors, executions, frames
from stepline.engine.definition import ChainedState, State, StateType
from stepline.engine.history import record, state_details
from stepline.engine.model import Ending, Execution, Frame, Phase
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active

_KEPT_ACROSS_STATES = ("last_event", "map_item", "vars", "vars_bytes")
_EXITED = {kind: f"{kind.value}StateExited" for kind in StateType}
_NOT_TRUNCATED = {"truncated": False}


def exit_state(
    active: Active,
    execution: Execution,
    frame: Frame,
    state: State,
    output: Any,
    *,
    next_state: str | None = None,
    assigned: dict[str, str] | None = None,
) -> None:
    """Leave ``state`` with ``output``: to ``next_state`` (a Choice's or Catch's), its Next, or the end.

    ``assigned`` holds the variables the state bound, shown in StateExited as Step Functions does.
    """
    text = frame.input_text if output is frame.input and frame.input_text is not None else dumps(output)
    if len(text) > errors.MAX_PAYLOAD_BYTES:  # ``dumps`` writes ASCII: characters are bytes
        fail_frame(
            active,
            execution,
            frame,
            errors.DATA_LIMIT_EXCEEDED,
            f"The state/task '{state.name}' returned a result with a size exceeding the maximum "
            "number of bytes service limit.",
        )
        return
    kind = _EXITED[state.type]
    if assigned:
        details: dict[str, Any] = {"name": state.name, "outputDetails": _NOT_TRUNCATED}
        details["assignedVariables"] = assigned
        details["assignedVariablesDetails"] = _NOT_TRUNCATED
        record(active, execution, frame, kind, "stateExitedEventDetails", details, "output", text)
    else:
        body = state_details("stateExitedEventDetails", state.name, "output")
        record(active, execution, frame, kind, None, None, "output", text, body=body)
    target = next_state
    if target is None and isinstance(state, ChainedState) and not state.end:
        target = state.next
    if target is None or state.type is StateType.SUCCEED:
        finish_frame(active, execution, frame, Ending(output=output, text=text))
        return
    data = frame.data
    frame.data = {key: data[key] for key in _KEPT_ACROSS_STATES if key in data}
    frame.token = None
    frame.state, frame.input, frame.input_text, frame.phase = target, output, text, Phase.ENTER
    frame.input_saved = False
    active.touch(frame)
    active.ready.append(frame.id)


def fail_frame(active: Active, execution: Execution, frame: Frame, error: str | None, cause: str | None) -> None:
    finish_frame(active, execution, frame, Ending(error=error, cause=cause, failed=True))


def finish_frame(active: Active, execution: Execution, frame: Frame, ending: Ending) -> None:
    frames.end(active, execution, frame, Phase.FAILED if ending.failed else Phase.DONE)
    if frame.parent is None:
        if ending.failed:
            executions.fail(active, execution, ending.error, ending.cause)
        else:
            executions.succeed(active, execution, ending.output, ending.text)
        return
    parent = active.frames.get(frame.parent)
    if parent is None or not parent.active:
        return
    parent_state = execution.definition.state(parent.scope, parent.state)
    child_ended = active.kinds[parent_state.type].child_ended
    assert child_ended is not None, f"a {parent_state.type} state has no child frames"
    child_ended(active, execution, parent, parent_state, frame, ending)
