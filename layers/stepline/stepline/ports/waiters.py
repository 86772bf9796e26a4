"""Tasks waiting for outside work, and how a waiting task is answered.

stepline.actions.completions says how a waiter is answered exactly once; these are its records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["build", "ecs", "sfn", "cfn", "codedeploy", "beanstalk"]
State = Literal["WAITING", "ANSWERED"]


class Completion(BaseModel):
    """How the work ended, in the same terms whoever learnt it (an event, a poll)."""

    model_config = ConfigDict(frozen=True)

    succeeded: bool
    error: str = ""
    cause: str = ""
    # A build's exported variables when the poll already read them (an event does not carry them).
    variables: dict[str, str] | None = None
    # A Step Functions execution's output when the event or the poll carried it.
    output: str | None = None


class Waiter(BaseModel):
    """A task token waiting for outside work, and what its answer needs."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: Kind
    token: str
    action: str
    context: dict[str, Any] = Field(default_factory=dict)
    work: dict[str, str] = Field(default_factory=dict)  # the started work's identity (id, cluster, …)
    since: float = 0.0
    state: State = "WAITING"
    outcome: Completion | None = None


class Waiters(Protocol):
    """Tasks waiting for outside work (a build, a deployment, an execution), each answered once
    (stepline.actions.completions says how). ``key`` is the action's own; ``ref`` names the work
    (``build#<id>``, ``ecs#<deployment>``, ``sfn#<execution ARN>``)."""

    def register(self, waiter: Waiter, now: float) -> Waiter:
        """Store the waiter before its work starts, or give a stored one the new token (WAITING
        again, its work and outcome kept); return it as stored."""
        ...

    def attach(self, key: str, ref: str, work: Mapping[str, str]) -> Completion | None:
        """Link the started work to the waiter; an early completion kept under ``ref`` is returned."""
        ...

    def find(self, ref: str) -> Waiter | None:
        """The waiter linked to the work, if any."""
        ...

    def get(self, key: str) -> Waiter | None: ...

    def keep_early(self, ref: str, completion: Completion) -> bool:
        """Keep a completion nobody waits for yet; False when ``ref`` is already linked or kept."""
        ...

    def answered(self, key: str, token: str, completion: Completion) -> bool:
        """WAITING → ANSWERED if the waiter still holds ``token``; False when it does not."""
        ...

    def stale(self, registered_before: float) -> list[Waiter]:
        """Waiters still WAITING that were registered before the given time."""
        ...


class TaskCallbacks(Protocol):
    """Completing a waiting task: Step Functions on AWS, the embedded engine locally."""

    def succeed(self, token: str, output: Mapping[str, object]) -> None: ...

    def fail(self, token: str, error: str, cause: str) -> None: ...
