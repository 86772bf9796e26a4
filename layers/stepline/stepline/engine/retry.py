"""An error in a state: retried, caught, or the end of the frame — the States Language's rules, in order.

Only Task, Parallel and Map have Retry and Catch. Retriers are tried in order: the first
whose ErrorEquals matches decides — another attempt after its back-off while it has attempts
left, otherwise none (later retriers are not consulted). Then the first matching catcher goes
to its Next with the error output ``{"Error", "Cause"}``: placed at its ResultPath (JSONPath)
or given to its Output as ``$states.errorOutput`` (JSONata), its Assign evaluated on it.
``States.ALL`` matches everything except ``States.Runtime``; ``States.TaskFailed`` everything
except ``States.Timeout`` too (``errors.matches``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from stepline.engine import errors, variables
from stepline.engine.dataflow import bindings, place
from stepline.engine.definition import Catcher, FallibleState, Retrier, State
from stepline.engine.errors import StatesError, matches
from stepline.engine.flow import exit_state, fail_frame
from stepline.engine.model import Execution, Frame, Phase
from stepline.engine.timers import wait_until

if TYPE_CHECKING:
    from stepline.engine.active import Active


def handle_error(
    active: Active, execution: Execution, frame: Frame, state: State, error: str | None, cause: str | None
) -> None:
    if isinstance(state, FallibleState) and (
        _retried(active, frame, state, error) or _caught(active, execution, frame, state, error, cause)
    ):
        return
    fail_frame(active, execution, frame, error, cause)


def raised(active: Active, execution: Execution, frame: Frame, state: State, failure: StatesError) -> None:
    """An error the state itself raised (a path, an expression, a limit): its cause worded as AWS
    words it for the interpreter's own errors, then retried, caught or the end of the frame."""
    cause = failure.cause
    if failure.error in errors.DECORATED:
        cause = errors.decorated(state.name, frame.data.get("entered_event", 0), cause)
    handle_error(active, execution, frame, state, failure.error, cause)


def back_off(retrier: Retrier, count: int, jitter: random.Random) -> float:
    """Seconds before retry number ``count + 1``: IntervalSeconds × BackoffRate^count, capped, jittered."""
    delay = retrier.interval_seconds * retrier.backoff_rate**count
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter:
        delay = jitter.uniform(0, delay)
    return delay


def _retried(active: Active, frame: Frame, state: FallibleState, error: str | None) -> bool:
    retries = frame.data.setdefault("retries", {})
    for index, retrier in enumerate(state.retry):
        if not matches(retrier.error_equals, error):
            continue
        count = retries.get(str(index), 0)
        if count >= retrier.max_attempts:
            return False
        delay = back_off(retrier, count, active.jitter)
        retries[str(index)] = count + 1
        wait_until(active, frame, Phase.WAITING_RETRY, active.clock.now() + delay)
        return True
    return False


def _caught(
    active: Active, execution: Execution, frame: Frame, state: FallibleState, error: str | None, cause: str | None
) -> bool:
    for catcher in state.catch:
        if not matches(catcher.error_equals, error):
            continue
        error_output = {"Error": error or "", **({"Cause": cause} if cause is not None else {})}
        try:
            output, assigned = _catcher_output(active, execution, frame, state, catcher, error_output)
        except StatesError as failure:
            fail_frame(active, execution, frame, failure.error, failure.cause)
            return True
        active.forget_token(frame)
        exit_state(active, execution, frame, state, output, next_state=catcher.next, assigned=assigned)
        return True
    return False


def _catcher_output(
    active: Active, execution: Execution, frame: Frame, state: State, catcher: Catcher, error_output: dict[str, Any]
) -> tuple[Any, dict[str, str]]:
    bound = bindings(active, execution, frame, state)
    values = None
    if state.jsonata:
        scoped = bound.with_states(input=frame.input, errorOutput=error_output)
        if catcher.assign is not None:
            values = catcher.assign(None, scoped)
        output = catcher.output(None, scoped) if catcher.output is not None else error_output
    else:
        if catcher.assign is not None:
            values = catcher.assign(error_output, bound)
        output = place(catcher.result_path, frame.input, error_output)
    shown = variables.assign(active, frame, state.name, values) if values is not None else {}
    return output, shown
