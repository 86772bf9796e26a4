"""Task tokens answered from outside: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat.

A token is good while its task's attempt waits for it; an answer to a token whose task has
moved on (timed out, stopped, answered) is ``TaskTimedOut``, as Step Functions says, and one
no task ever had is ``TaskDoesNotExist``. An answer that arrives while the handler that got
the token still runs is kept, and settles the task once the handler returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.errors import TaskDoesNotExist, TaskTimedOut
from stepline.engine.model import Frame, Phase
from stepline.engine.timers import arm_task

if TYPE_CHECKING:
    from stepline.engine.active import Active


# A task can be answered while its handler still runs, once it returned (before the engine
# has recorded that), and while it waits.
_ANSWERABLE = frozenset({Phase.INVOKE, Phase.RETURNED, Phase.WAITING_TOKEN})


def answer(active: Active, token: str, outcome: dict[str, Any]) -> None:
    """``outcome`` is ``{"result": …}`` or ``{"error": …, "cause": …}``."""
    with active.store.transaction():
        frame = _waiting_for(active, token)
        if frame.phase not in _ANSWERABLE or "outcome" in frame.data:
            raise TaskTimedOut("Task Timed Out: the task has already been answered")
        frame.data["outcome"] = outcome
        with active.batch():
            if frame.phase is Phase.WAITING_TOKEN:
                frame.phase = Phase.OUTCOME
                active.ready.append(frame.id)
            active.touch(frame)
    active.notify()


def heartbeat(active: Active, token: str) -> None:
    """Move the task's heartbeat deadline on, if it has HeartbeatSeconds."""
    with active.store.transaction():
        frame = _waiting_for(active, token)
        beat = frame.data.get("heartbeat")
        if beat:
            frame.data["heartbeat_at"] = active.clock.now() + beat
            with active.batch():
                active.touch(frame)
            arm_task(active, frame)


def _waiting_for(active: Active, token: str) -> Frame:
    frame_id = active.tokens.get(token)
    frame = active.frames.get(frame_id) if frame_id is not None else None
    if frame is None or not frame.active or frame.token != token:
        rows = active.store.query("SELECT 1 FROM tokens WHERE token = ?", (token,))
        if rows:
            raise TaskTimedOut("Task Timed Out: the task is no longer waiting for this token")
        raise TaskDoesNotExist("Task does not exist: unknown task token")
    return frame
