"""A state's input and output processing, and the context object (``$$``) its templates read.

InputPath selects from the raw input, Parameters shape it (the *effective input*),
ResultSelector shapes a task's result, ResultPath places it into the raw input, OutputPath
selects the output: the States Language's order. A path that selects nothing is
``States.Runtime``; a ResultPath that cannot be placed is ``States.ResultPathMatchFailure``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors
from stepline.engine.clock import iso
from stepline.engine.definition import ResultState, State
from stepline.engine.errors import StatesError
from stepline.engine.model import Execution, Frame
from stepline.engine.paths import JsonPath, PathNotFound, ResultPathError, place_result

if TYPE_CHECKING:
    from stepline.engine.active import Active

_NO_CONTEXT: dict[str, Any] = {}


def select(path: JsonPath | None, value: Any) -> Any:
    """InputPath/OutputPath: None (null) gives {}; a path that matches nothing is States.Runtime."""
    if path is None:
        return {}
    if not path.steps:
        return value
    try:
        return path.evaluate(value)
    except PathNotFound:
        raise StatesError(
            errors.RUNTIME, f"Invalid path {path.text!r}: the path could not be found in the input"
        ) from None


def lookup(path: JsonPath, value: Any, field: str, state: str) -> Any:
    """A path field of a state (ItemsPath, SecondsPath …) read from its input."""
    try:
        return path.evaluate(value)
    except PathNotFound:
        raise StatesError(
            errors.RUNTIME, f"The {field} {path.text!r} of state {state!r} could not be found in the input"
        ) from None


def place(path: JsonPath | None, raw: Any, result: Any) -> Any:
    """ResultPath: ``result`` placed into the raw input."""
    try:
        return place_result(raw, path, result)
    except ResultPathError as error:
        raise StatesError(errors.RESULT_PATH_MATCH_FAILURE, str(error)) from None


def effective_input(
    active: Active,
    execution: Execution,
    frame: Frame,
    state: ResultState,
    raw: Any,
    token: str | None = None,
) -> Any:
    """InputPath, then Parameters."""
    selected = select(state.input_path, raw)
    if state.parameters is not None:
        return state.parameters(selected, context(active, execution, frame, state, token))
    return selected


def output(state: State, value: Any) -> Any:
    return select(state.output_path, value)


def context(active: Active, execution: Execution, frame: Frame, state: State, token: str | None = None) -> Any:
    """The context object, built only for the states whose templates or paths read it."""
    if not state.needs_context and token is None:
        return _NO_CONTEXT
    built: dict[str, Any] = {
        "Execution": {
            "Id": execution.arn,
            "Input": execution.input,
            "Name": execution.name,
            "RoleArn": execution.role_arn,
            "StartTime": iso(execution.started),
            "RedriveCount": 0,
        },
        "State": {
            "EnteredTime": iso(frame.data.get("entered", active.clock.now())),
            "Name": state.name,
            "RetryCount": sum(frame.data.get("retries", {}).values()),
        },
        "StateMachine": {"Id": execution.machine_arn, "Name": execution.machine_name},
    }
    if token is not None:
        built["Task"] = {"Token": token}
    if "map_item" in frame.data:
        built["Map"] = {"Item": frame.data["map_item"]}
    return built
