"""Manual approvals as stored, and where their requests are announced.

stepline.actions.approval says how an approval is requested and decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

Status = Literal["Pending", "Approved", "Rejected", "Superseded"]


class Approval(BaseModel):
    """One approval as the review page and the JSON API show it (no task token here)."""

    model_config = ConfigDict(frozen=True)

    id: str
    pipeline: str
    execution_id: str
    execution_name: str
    stage: str
    action: str
    custom_data: str = ""
    external_link: str = ""
    commit: str = ""
    requested_at: float
    expires_at: float
    status: Status = "Pending"
    decided_by: str = ""
    decided_at: float | None = None
    comment: str = ""
    # False only between a decision being recorded and its answer reaching the waiting task
    # (records written before this field existed were answered when they were decided).
    answered: bool = True

    def expired(self, now: float) -> bool:
        return self.status == "Pending" and now >= self.expires_at


class Approvals(Protocol):
    """Approvals and the task tokens they answer; a decision is written once, from Pending."""

    def put(self, approval: Approval, token: str) -> None:
        """Store (or, for a retried request, replace) a pending approval."""
        ...

    def get(self, approval_id: str) -> tuple[Approval, str] | None: ...

    def settle(self, decided: Approval) -> bool:
        """Write the decision if the approval is still Pending; False when it no longer is."""
        ...

    def mark_answered(self, answered: Approval) -> None:
        """Record that the decision's answer reached the waiting task."""
        ...

    def unanswered(self) -> list[tuple[Approval, str]]:
        """Decisions recorded whose answer never reached the task, with their tokens."""
        ...

    def pending(self) -> list[Approval]: ...


class Notifier(Protocol):
    def publish(self, target: str, subject: str, message: Mapping[str, object]) -> None:
        """Tell people: ``target`` is the action's NotificationArn (empty: the default channel)."""
        ...


class Deliveries(Protocol):
    """Webhook delivery ids already taken, so GitHub's redeliveries start nothing twice."""

    def first_time(self, delivery: str) -> bool: ...

    def forget(self, delivery: str) -> None:
        """Undo first_time when handling failed, so a redelivery is tried again."""
        ...
