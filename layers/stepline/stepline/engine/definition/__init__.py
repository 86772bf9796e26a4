"""A definition parsed once: typed states (``states``), the parser (``parser``), the fields
states share (``fields``) and Choice rules (``rules``). Nothing here runs an execution."""

from stepline.engine.definition.parser import DefinitionError, parse_definition
from stepline.engine.definition.states import (
    UNSET,
    Catcher,
    ChainedState,
    ChoiceState,
    Evaluator,
    FailState,
    FallibleState,
    MapState,
    ParallelState,
    PassState,
    Predicate,
    ResultState,
    Retrier,
    Scope,
    State,
    StateMachineDefinition,
    StateType,
    SucceedState,
    TaskState,
    WaitState,
)
from stepline.engine.definition.timestamps import parse_timestamp

__all__ = [
    "UNSET",
    "Catcher",
    "ChainedState",
    "ChoiceState",
    "DefinitionError",
    "Evaluator",
    "FailState",
    "FallibleState",
    "MapState",
    "ParallelState",
    "PassState",
    "Predicate",
    "ResultState",
    "Retrier",
    "Scope",
    "State",
    "StateMachineDefinition",
    "StateType",
    "SucceedState",
    "TaskState",
    "WaitState",
    "parse_definition",
    "parse_timestamp",
]
