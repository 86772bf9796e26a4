"""The embedded ASL engine: any state machine, durably, on one machine. Knows nothing of pipelines."""

from stepline.engine.api import Engine
from stepline.engine.clock import Clock, ManualClock, SystemClock
from stepline.engine.definition import AslDefinitionError, parse_definition
from stepline.engine.errors import (
    EngineError,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidOutput,
    StateMachineDoesNotExist,
    TaskDoesNotExist,
    TaskTimedOut,
)
from stepline.engine.integrations import Functions, LambdaContext
from stepline.engine.store import Store

__all__ = [
    "AslDefinitionError",
    "Clock",
    "Engine",
    "EngineError",
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "Functions",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "InvalidOutput",
    "LambdaContext",
    "ManualClock",
    "StateMachineDoesNotExist",
    "Store",
    "SystemClock",
    "TaskDoesNotExist",
    "TaskTimedOut",
    "parse_definition",
]
