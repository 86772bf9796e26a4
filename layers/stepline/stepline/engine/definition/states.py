"""The states of a parsed definition: one class per ASL state type, holding only that type's fields.

The fields common to several types sit in three bases, as the States Language groups them:

    State           every state: InputPath, OutputPath (Fail reads neither)
    ChainedState    goes on to Next or ends its scope: Pass, Wait, Task, Parallel, Map
    ResultState     has a result to place: Parameters, ResultPath (Pass, Task, Parallel, Map)
    FallibleState   does work that can fail: ResultSelector, Retry, Catch (Task, Parallel, Map)

A class's ``type`` is its ASL ``Type``; the engine's tables of behaviour are keyed by it.
Every state has a ``language``: in a JSONPath state the paths and ``.$`` templates above
apply; in a JSONata state ``parameters`` holds its Arguments, ``output`` its Output, and
the computed fields (``*_from``) are ``{% %}`` expressions. ``assign`` is the Assign of
either language: evaluated to the object of variables to bind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from stepline.engine.paths import JsonPath

Evaluator = Callable[[Any, Any], Any]  # (data, context object) -> value
Predicate = Callable[[Any, Any], bool]

UNSET: Any = object()  # a Pass state without Result


class QueryLanguage(StrEnum):
    JSONPATH = "JSONPath"
    JSONATA = "JSONata"


class StateType(StrEnum):
    PASS = "Pass"  # noqa: S105 - the state type, not a password
    TASK = "Task"
    CHOICE = "Choice"
    WAIT = "Wait"
    SUCCEED = "Succeed"
    FAIL = "Fail"
    PARALLEL = "Parallel"
    MAP = "Map"


@dataclass(slots=True)
class Retrier:
    error_equals: list[str]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: bool = False


@dataclass(slots=True)
class Catcher:
    error_equals: list[str]
    next: str
    result_path: JsonPath | None
    assign: Evaluator | None = None
    output: Evaluator | None = None  # JSONata: the Output, from $states.errorOutput


@dataclass(slots=True)
class ChoiceRule:
    test: Predicate
    next: str
    assign: Evaluator | None = None
    output: Evaluator | None = None  # JSONata


@dataclass(slots=True, kw_only=True)
class State:
    type: ClassVar[StateType]
    name: str
    raw: dict[str, Any] = field(default_factory=dict)
    language: QueryLanguage = QueryLanguage.JSONPATH
    # Whether any template or path of the state reads the context object ($$): building it costs.
    needs_context: bool = True
    input_path: JsonPath | None = None  # None: InputPath null, the input becomes {}
    output_path: JsonPath | None = None
    assign: Evaluator | None = None
    output: Evaluator | None = None  # JSONata: the Output field

    @property
    def jsonata(self) -> bool:
        return self.language is QueryLanguage.JSONATA


@dataclass(slots=True, kw_only=True)
class ChainedState(State):
    next: str | None = None
    end: bool = False


@dataclass(slots=True, kw_only=True)
class ResultState(ChainedState):
    result_path: JsonPath | None = None  # None: ResultPath null, the result is discarded
    parameters: Evaluator | None = None


@dataclass(slots=True, kw_only=True)
class FallibleState(ResultState):
    result_selector: Evaluator | None = None
    retry: list[Retrier] = field(default_factory=list)
    catch: list[Catcher] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class PassState(ResultState):
    type: ClassVar[StateType] = StateType.PASS
    result: Any = UNSET
    plain: bool = False  # no field changes anything: its output is its input


@dataclass(slots=True, kw_only=True)
class TaskState(FallibleState):
    type: ClassVar[StateType] = StateType.TASK
    resource: str = ""
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    # TimeoutSecondsPath / HeartbeatSecondsPath, or a {% %} TimeoutSeconds / HeartbeatSeconds
    timeout_from: Evaluator | None = None
    heartbeat_from: Evaluator | None = None


@dataclass(slots=True, kw_only=True)
class ChoiceState(State):
    type: ClassVar[StateType] = StateType.CHOICE
    choices: list[ChoiceRule] = field(default_factory=list)
    default: str | None = None


@dataclass(slots=True, kw_only=True)
class WaitState(ChainedState):
    type: ClassVar[StateType] = StateType.WAIT
    seconds: float | None = None
    timestamp: str | None = None
    # SecondsPath / TimestampPath, or a {% %} Seconds / Timestamp
    seconds_from: Evaluator | None = None
    timestamp_from: Evaluator | None = None


@dataclass(slots=True, kw_only=True)
class SucceedState(State):
    type: ClassVar[StateType] = StateType.SUCCEED


@dataclass(slots=True, kw_only=True)
class FailState(State):
    type: ClassVar[StateType] = StateType.FAIL
    error: str | None = None
    cause: str | None = None
    error_from: Evaluator | None = None
    cause_from: Evaluator | None = None


@dataclass(slots=True, kw_only=True)
class ParallelState(FallibleState):
    type: ClassVar[StateType] = StateType.PARALLEL
    branches: list[Scope] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class MapState(FallibleState):
    type: ClassVar[StateType] = StateType.MAP
    processor: Scope | None = None  # None only in a definition refused for it
    distributed: bool = False  # ProcessorConfig.Mode DISTRIBUTED: iterations as child executions
    execution_type: str = "STANDARD"  # ProcessorConfig.ExecutionType of a distributed map
    items_from: Evaluator | None = None  # ItemsPath (default $), or JSONata Items
    item_selector: Evaluator | None = None
    max_concurrency: int = 0
    max_concurrency_from: Evaluator | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None
    tolerated_count_from: Evaluator | None = None
    tolerated_percentage_from: Evaluator | None = None
    batcher: Batcher | None = None
    label: str | None = None
    reader: ItemReader | None = None  # a distributed map's items read from S3
    writer: ResultWriter | None = None  # a distributed map's results written to S3, or shaped


@dataclass(slots=True)
class Batcher:
    """A distributed map's ItemBatcher: items grouped into ``{"Items": [...], "BatchInput": ...}``."""

    max_items: int | None = None
    max_items_from: Evaluator | None = None
    max_bytes: int | None = None
    max_bytes_from: Evaluator | None = None
    batch_input: Evaluator | None = None


@dataclass(slots=True)
class ItemReader:
    """A distributed map's ItemReader: an S3 object's items (``s3:getObject``) or a listing
    (``s3:listObjectsV2``), its Parameters or Arguments giving Bucket and Key or Prefix."""

    listing: bool
    arguments: Evaluator | None = None
    input_type: str = "JSON"  # ReaderConfig.InputType of an object: CSV, JSON, JSONL
    csv_headers: list[str] | None = None  # CSVHeaderLocation GIVEN; None: FIRST_ROW
    delimiter: str = ","
    max_items: int | None = None
    max_items_from: Evaluator | None = None


@dataclass(slots=True)
class ResultWriter:
    """A distributed map's ResultWriter: where its results go in S3 (``arguments`` giving Bucket and
    Prefix; None: nowhere) and how they are shaped (``transformation``; None: the default)."""

    arguments: Evaluator | None = None
    transformation: str | None = None  # NONE, COMPACT, FLATTEN
    output_type: str = "JSON"


@dataclass(slots=True)
class Scope:
    """A StartAt and its States: the whole machine, a Parallel branch or a Map's processor."""

    start_at: str
    states: dict[str, State]
    path: str  # "" for the machine; "Parallel/0", "Map" … for nested scopes


@dataclass(slots=True)
class StateMachineDefinition:
    root: Scope
    scopes: dict[str, Scope]
    text: str
    raw: dict[str, Any]
    language: QueryLanguage = QueryLanguage.JSONPATH
    timeout_seconds: int | None = None  # the machine's TimeoutSeconds: its executions' longest run

    def state(self, scope: str, name: str) -> State:
        return self.scopes[scope].states[name]

    def tasks(self) -> list[TaskState]:
        return [
            state for scope in self.scopes.values() for state in scope.states.values() if isinstance(state, TaskState)
        ]
