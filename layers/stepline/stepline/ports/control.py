"""Run control's store and publisher, with the data that crosses them: a pipeline's lock
record (written only over the version read: DynamoDB conditional writes on AWS, SQLite locally)
and the state-change events (CodePipeline's EventBridge shape) sent out."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["SUPERSEDED", "QUEUED", "PARALLEL"]


class Waiting(BaseModel):
    """An inbound execution: waiting in front of a stage with its gate's task token."""

    execution: str
    order: str
    token: str
    since: float


class Transition(BaseModel):
    """A disabled inbound transition (DisableStageTransition's reason, 1–300 characters)."""

    reason: str
    by: str = ""
    at: float


class StageLock(BaseModel):
    holder: str | None = None  # the execution inside the stage (SUPERSEDED, QUEUED)
    holder_order: str = ""
    since: float | None = None
    waiting: list[Waiting] = Field(default_factory=list)
    disabled: Transition | None = None


class Answer(BaseModel):
    """What a waiting gate task is told: enter (no error), or fail with ``error``."""

    model_config = ConfigDict(frozen=True)

    token: str
    execution: str
    stage: str
    error: str = ""
    cause: str = ""


class LockRecord(BaseModel):
    """One per pipeline: its stages' locks, the executions asked to stop, and the answers
    decided but not yet known to be sent (sent again until marked: see ``service``)."""

    pipeline: str
    stages: dict[str, StageLock] = Field(default_factory=dict)
    stopping: dict[str, str] = Field(default_factory=dict)  # execution -> reason
    orders: dict[str, str] = Field(default_factory=dict)  # execution -> its order, while it runs
    seen: int = 0  # executions the gate has ordered
    outbox: list[Answer] = Field(default_factory=list)

    def stage(self, name: str) -> StageLock:
        return self.stages.setdefault(name, StageLock())

    def holding(self, execution: str) -> list[str]:
        return [name for name, lock in self.stages.items() if lock.holder == execution]


class LockStore(Protocol):
    def read(self, pipeline: str) -> tuple[LockRecord, int]:
        """The pipeline's record and its version (an empty record at version 0 when there is none)."""
        ...

    def write(self, record: LockRecord, version: int) -> bool:
        """Store ``record`` as version ``version + 1`` if the stored one is still ``version``;
        False when someone wrote in between (read again and decide again)."""
        ...


class EventPublisher(Protocol):
    def publish(self, events: list[dict[str, Any]]) -> None:
        """Send state-change events (CodePipeline's EventBridge shape), in order, at least once."""
        ...


class Alarms(Protocol):
    def states(self, names: list[str]) -> dict[str, str]:
        """Each named alarm's state (ALARM, OK, INSUFFICIENT_DATA); an alarm that does not
        exist is absent from the answer."""
        ...
