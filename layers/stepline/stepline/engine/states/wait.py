"""Wait: parked on a timer until Seconds pass or the Timestamp comes (static, read by a path, or computed).

Step Functions refuses at run time what a definition cannot show: a SecondsPath that is not a
whole number, a negative one, a timestamp that is not ISO 8601, and a delay too long for it
(its limit is a 32-bit count of seconds, about 68 years): each is ``States.Runtime``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.dataflow import entered
from stepline.engine.definition import WaitState, parse_timestamp
from stepline.engine.errors import StatesError
from stepline.engine.model import Execution, Frame, Phase, StateKind
from stepline.engine.timers import wait_until

if TYPE_CHECKING:
    from stepline.engine.active import Active

MAX_DELAY_SECONDS = 2**31 - 1


def enter(active: Active, execution: Execution, frame: Frame, state: WaitState, raw: Any) -> None:
    now = active.clock.now()
    due = _due(now, state, *entered(active, execution, frame, state, raw))
    if due - now > MAX_DELAY_SECONDS:
        raise StatesError(errors.RUNTIME, "Wait state delay is too long")
    wait_until(active, frame, Phase.WAITING_TIMER, due)


def _due(now: float, state: WaitState, data: Any, bound: Any) -> float:
    if state.seconds is not None:
        return now + state.seconds
    if state.timestamp is not None:
        return _epoch(state.timestamp)
    field = "Seconds" if state.jsonata else "SecondsPath"
    if state.seconds_from is not None:
        source = state.raw.get(field)
        try:
            seconds = state.seconds_from(data, bound)
        except StatesError as error:
            if state.jsonata:
                raise
            raise StatesError(
                errors.RUNTIME, f"The SecondsPath parameter does not reference an input value: {source}"
            ) from error
        described = f"{source} == {json.dumps(seconds)}"
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise StatesError(errors.RUNTIME, f"The {field} parameter cannot be parsed as a long value: {described}")
        if seconds < 0:
            raise StatesError(errors.RUNTIME, f"The {field} parameter references a negative value: {described}")
        return now + seconds
    assert state.timestamp_from is not None
    stamp = state.timestamp_from(data, bound)
    if parse_timestamp(stamp) is None:
        field = "Timestamp" if state.jsonata else "TimestampPath"
        raise StatesError(
            errors.RUNTIME,
            f"The {field} parameter does not reference a valid ISO-8601 extended offset date-time format string: "
            f"{state.raw.get(field)} == {stamp}",
        )
    return _epoch(stamp)


def _epoch(stamp: str) -> float:
    parsed = parse_timestamp(stamp)
    assert parsed is not None
    return parsed.timestamp()


KIND: StateKind[WaitState] = StateKind(enter)
