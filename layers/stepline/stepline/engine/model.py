"""The engine's vocabulary at run time: phases, statuses, frames, executions, and what a state type does.

An execution is a tree of *frames*: the root frame walks the top-level states; a Parallel
state starts one child frame per branch and a Map state one per item. A frame is always at
one state in one ``Phase``. Phases and statuses are string enums: their values are what the
``frames`` and ``executions`` tables hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from stepline.engine.definition import State, StateMachineDefinition
from stepline.engine.integrations import Resource

if TYPE_CHECKING:
    from stepline.engine.active import Active


class Phase(StrEnum):
    ENTER = "enter"  # about to run the state (it has its raw input)
    INVOKE = "invoke"  # a task attempt to call (at-least-once: a crash here calls it again)
    RETURNED = "returned"  # the attempt's call came back (``data["call"]``); the next step records it
    WAITING_TOKEN = "waiting_token"  # noqa: S105 - a callback task waiting for SendTaskSuccess/Failure
    WAITING_EXECUTION = "waiting_execution"  # a nested execution running
    WAITING_TIMER = "waiting_timer"  # a Wait state's time to come
    WAITING_RETRY = "waiting_retry"  # a retry's back-off
    WAITING_CHILDREN = "waiting_children"  # a Parallel or Map waiting for its branches or iterations
    OUTCOME = "outcome"  # an answer has arrived for a waiting task; to be settled
    WAIT_OVER = "wait_over"  # a Wait state's time has come: to exit
    RETRY = "retry"  # a retry's back-off is over: to run the state again
    DONE = "done"  # ended: the frame's scope succeeded
    FAILED = "failed"  # ended: the frame's scope failed
    CANCELLED = "cancelled"  # ended: its execution ended, or a sibling branch failed


# What the scheduler steps; what a timer wakes (``skip_waits`` may jump to these); what a
# task's TimeoutSeconds and HeartbeatSeconds apply to.
READY_PHASES = frozenset({Phase.ENTER, Phase.INVOKE, Phase.RETURNED, Phase.OUTCOME, Phase.RETRY, Phase.WAIT_OVER})
TIMER_PHASES = frozenset({Phase.WAITING_TIMER, Phase.WAITING_RETRY})
TASK_PHASES = frozenset({Phase.INVOKE, Phase.WAITING_TOKEN, Phase.WAITING_EXECUTION})


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    TIMED_OUT = "TIMED_OUT"  # ran past its state machine's TimeoutSeconds


@dataclass(slots=True)
class Progress:
    """What a Parallel's or Map's frame holds while its branches or iterations run.

    Kept out of the frame's row: the items are written once (``map_items``), each result as it
    comes (``results``), so the cost of a Map stays linear in its items.
    """

    results: list[Any]
    items: list[Any] | None = None
    inputs: list[Any] | None = None  # the items after ItemSelector (or batched), when they differ
    children: dict[str, int] = field(default_factory=dict)  # a distributed map's running children -> index
    items_saved: bool = False


@dataclass(slots=True)
class Frame:
    id: int
    execution: str
    parent: int | None
    slot: int
    scope: str
    state: str
    phase: Phase
    input: Any
    data: dict[str, Any]
    token: str | None = None
    active: bool = True
    # ``input`` as JSON when already written out: each value is serialized once, not three times.
    input_text: str | None = None
    saved: bool = False  # the frame has a row (it was alive at a commit)
    input_saved: bool = False  # and the row holds its current input
    progress: Progress | None = None


@dataclass(slots=True)
class Execution:
    arn: str
    machine_arn: str
    machine_name: str
    name: str
    role_arn: str
    input: Any
    started: float
    definition: StateMachineDefinition
    status: ExecutionStatus = ExecutionStatus.RUNNING
    event_count: int = 0
    parent_frame: int | None = None
    parent_slot: int | None = None  # a distributed map's child: its index among the Map's items
    input_text: str = ""
    saved: bool = True  # the execution has a row (a child started inside a step has none until the commit)
    frames: dict[int, Frame] = field(default_factory=dict)  # its live frames
    # How it ended, once it has.
    output: Any = None
    output_text: str | None = None
    error: str | None = None
    cause: str | None = None
    stopped: float | None = None


@dataclass(slots=True)
class Invocation:
    """A task attempt to call, handed from a committed transaction to whoever calls it."""

    frame_id: int
    attempt: int
    resource: Resource
    parameters: Any
    token: str | None
    deadline: float | None
    execution: str
    state: str


@dataclass(slots=True)
class Ending:
    """How a frame ended, as its parent (a Parallel or Map) hears it."""

    output: Any = None
    error: str | None = None
    cause: str | None = None
    failed: bool = False
    text: str | None = None  # ``output`` as JSON, when already written out


S = TypeVar("S", bound=State)


@dataclass(frozen=True, slots=True)
class StateKind(Generic[S]):
    """What one state type does, looked up by ``state.type`` (``states.KINDS``).

    ``enter`` runs the state on its raw input, returning the task attempt to call, if any
    (raising ``StatesError`` for Retry and Catch to handle); it is also what runs again after
    a retry's back-off. The other entries exist for the types that need them.
    """

    enter: Callable[[Active, Execution, Frame, S, Any], Invocation | None]
    # Parallel, Map: a branch or an iteration (the child frame) ended.
    child_ended: Callable[[Active, Execution, Frame, S, Frame, Ending], None] | None = None
    # Task: TimeoutSeconds or HeartbeatSeconds passed.
    timed_out: Callable[[Active, Execution, Frame, S], None] | None = None
    # Task, distributed Map: an execution it started ended (its frame, that execution).
    nested_ended: Callable[[Active, Frame, Execution], None] | None = None
