"""Wait: parked on a timer until Seconds pass or the Timestamp comes (static, or read by a path)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.dataflow import lookup, select
from stepline.engine.definition import WaitState, parse_timestamp
from stepline.engine.errors import StatesError
from stepline.engine.model import Execution, Frame, Phase, StateKind
from stepline.engine.timers import wait_until

if TYPE_CHECKING:
    from stepline.engine.active import Active


def enter(active: Active, execution: Execution, frame: Frame, state: WaitState, raw: Any) -> None:
    effective = select(state.input_path, raw)
    due = _due(active.clock.now(), state, effective)
    frame.data["effective"] = effective  # its output once the time has come (Phase.WAIT_OVER)
    wait_until(active, frame, Phase.WAITING_TIMER, due)


def _due(now: float, state: WaitState, effective: Any) -> float:
    if state.seconds is not None:
        return now + state.seconds
    if state.timestamp is not None:
        return _epoch(state.timestamp)
    if state.seconds_path is not None:
        seconds = lookup(state.seconds_path, effective, "SecondsPath", state.name)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise StatesError(
                errors.RUNTIME,
                f"The SecondsPath of state {state.name!r} is not a number of seconds, 0 or more",
            )
        return now + seconds
    assert state.timestamp_path is not None
    stamp = lookup(state.timestamp_path, effective, "TimestampPath", state.name)
    if parse_timestamp(stamp) is None:
        raise StatesError(errors.RUNTIME, f"The TimestampPath of state {state.name!r} is not an RFC 3339 timestamp")
    return _epoch(stamp)


def _epoch(stamp: str) -> float:
    parsed = parse_timestamp(stamp)
    assert parsed is not None
    return parsed.timestamp()


KIND: StateKind[WaitState] = StateKind(enter)
