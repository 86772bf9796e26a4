"""A state's input and output processing, the context object and the variables its expressions read.

JSONPath states: InputPath selects from the raw input, Parameters shape it (the *effective
input*), Assign is evaluated on the result (a Pass's Result or effective input; a Task's,
Parallel's or Map's result before ResultSelector; a Choice's or Wait's effective input), then
ResultSelector shapes the result, ResultPath places it into the raw input and OutputPath
selects the output: the States Language's order. A path that selects nothing is
``States.Runtime``; a ResultPath that cannot be placed is ``States.ResultPathMatchFailure``.

JSONata states: ``$states.input`` is the raw input; Arguments (if any) is the effective input;
Assign and Output are evaluated with ``$states.result`` (or ``errorOutput`` in a Catch) and
read the variables as they were when the state entered. Output defaults to the result, or
to the input for states without one.

In both, the variables a state assigns are bound as it leaves, after its output is known,
so a state that fails assigns nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine import errors, variables
from stepline.engine.bindings import Bindings
from stepline.engine.clock import iso
from stepline.engine.definition import UNSET, ChoiceRule, FallibleState, ResultState, State
from stepline.engine.errors import StatesError
from stepline.engine.model import Execution, Frame
from stepline.engine.paths import JsonPath, PathNotFound, ResultPathError, place_result

if TYPE_CHECKING:
    from stepline.engine.active import Active


def select(path: JsonPath | None, value: Any, bound: Any = None) -> Any:
    """InputPath/OutputPath: None (null) gives {}; a path that matches nothing is States.Runtime."""
    if path is None:
        return {}
    if not path.steps and path.variable is None and not path.context_rooted:
        return value
    try:
        return path.evaluate(value, bound)
    except PathNotFound:
        raise StatesError(
            errors.RUNTIME, f"Invalid path '{path.text}' : No results for path: {path.bracketed()}"
        ) from None


def place(path: JsonPath | None, raw: Any, result: Any) -> Any:
    """ResultPath: ``result`` placed into the raw input."""
    try:
        return place_result(raw, path, result)
    except ResultPathError as error:
        raise StatesError(errors.RESULT_PATH_MATCH_FAILURE, str(error)) from None


def entered(
    active: Active, execution: Execution, frame: Frame, state: State, raw: Any, token: str | None = None
) -> tuple[Any, Bindings]:
    """What a state's fields read as it runs: JSONPath, its input after InputPath; JSONata, its
    raw input (as ``$states.input``); with the bindings (context object, variables)."""
    bound = bindings(active, execution, frame, state, token)
    if state.jsonata:
        return raw, bound.with_states(input=raw)
    return select(state.input_path, raw, bound), bound


def effective_input(state: State, data: Any, bound: Bindings) -> Any:
    """Parameters (JSONPath) or Arguments (JSONata) applied to what ``entered`` gave."""
    parameters = state.parameters if isinstance(state, ResultState) else None
    return parameters(data, bound) if parameters is not None else data


def conclude(
    active: Active,
    execution: Execution,
    frame: Frame,
    state: State,
    raw: Any,
    result: Any = UNSET,
    *,
    rule: ChoiceRule | None = None,
    bound: Bindings | None = None,
) -> tuple[Any, dict[str, str]]:
    """The state's output, and the variables it assigned (bound now, shown in StateExited).

    ``result`` is the state's result (UNSET for Choice, Wait, Succeed and a JSONata Pass, which
    have none: a JSONPath Assign then reads the effective input as ``$``); ``rule`` is the
    Choice rule that matched, whose Assign (and JSONata Output) apply instead of the state's;
    ``bound``, the bindings its ``entered`` gave (the same, as nothing is assigned in between).
    """
    if bound is None:
        bound = bindings(active, execution, frame, state)
    assign, produce = (rule.assign, rule.output) if rule is not None else (state.assign, state.output)
    values = None
    if state.jsonata:
        scoped = bound.with_states(input=raw) if result is UNSET else bound.with_states(input=raw, result=result)
        if assign is not None:
            values = assign(None, scoped)
        default = raw if result is UNSET else result
        output = produce(None, scoped) if produce is not None else default
    else:
        effective = select(state.input_path, raw, bound) if result is UNSET else result
        if assign is not None:
            values = assign(effective, bound)
        if result is not UNSET and isinstance(state, FallibleState) and state.result_selector is not None:
            effective = state.result_selector(effective, bound)
        placed = place(state.result_path, raw, effective) if isinstance(state, ResultState) else effective
        output = select(state.output_path, placed, bound)
    shown = variables.assign(active, frame, state.name, values) if values is not None else {}
    return output, shown


def bindings(active: Active, execution: Execution, frame: Frame, state: State, token: str | None = None) -> Bindings:
    """The context object (built only for the states that read it) and the variables in scope."""
    visible = variables.visible(active, frame)
    if not state.needs_context and token is None:
        return Bindings(None, visible)
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
    return Bindings(built, visible)
