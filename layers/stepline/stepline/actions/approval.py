"""Manual approvals: a request stores the task token out of sight and sends a signed review
link; a decision, made once, answers the token.

The link carries the approval's id, an expiry and an HMAC over both — never the task token,
which only the approvals store and Step Functions ever see. A decision is a conditional write
from Pending, so two reviewers (or a double click) cannot both decide.

Deciding and answering are one idempotent step: the decision is recorded with everything its
answer needs (``answered`` false), the answer is sent, and only then is it marked answered. A
decision recorded but not answered (the sender crashed, Step Functions was throttled) is
answered again, with the same answer, by the next attempt to decide it or by the sweeper.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from stepline.actions.request import ActionRequest
from stepline.errors import ConfigurationError, Conflict, Expired, NotFound, SteplineError
from stepline.ports.approvals import Approval, Approvals, Notifier, Status
from stepline.ports.waiters import TaskCallbacks

DEFAULT_TIMEOUT_MINUTES = 7 * 24 * 60
SUMMARY_LIMIT = 512  # PutApprovalResult's summary cap
# Stepline's own cap on who decided: PutApprovalResult takes no name (CodePipeline records the
# caller's IAM identity), so the review form and the JSON API share this one.
REVIEWER_LIMIT = 100
Clock = Callable[[], float]


def approval_id(pipeline: str, execution_name: str, stage: str, action: str) -> str:
    """Deterministic, so a retried request task updates its approval instead of sending a second."""
    digest = hashlib.sha256("\0".join((pipeline, execution_name, stage, action)).encode()).digest()
    return base64.b32encode(digest[:15]).decode().lower()


def decisions(
    pipeline: str, execution_name: str, actions: Iterable[tuple[str, str]], approvals: Approvals
) -> dict[str, Approval]:
    """The recorded approvals (who decided, when, what they wrote) of an execution's approval
    actions, by ``Stage.Action``: found by their deterministic ids; never the task tokens."""
    found = {}
    for stage, action in actions:
        kept = approvals.get(approval_id(pipeline, execution_name, stage, action))
        if kept is not None:
            found[f"{stage}.{action}"] = kept[0]
    return found


class LinkFault(enum.Enum):
    """Why a signed link is refused; the value is what a person reads."""

    MALFORMED = "the link's signature is malformed"
    FORGED = "the link's signature does not match this approval"
    EXPIRED = "the link has expired"


class LinkSigner:
    """HMAC-SHA256 over the approval id and expiry: a link cannot be forged, altered or stretched."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigurationError("the approval link key must be at least 16 bytes")
        self.key = key

    def _mac(self, purpose: str, *parts: str) -> str:
        message = "\0".join((purpose, *parts)).encode()
        return base64.urlsafe_b64encode(hmac.new(self.key, message, hashlib.sha256).digest()).decode().rstrip("=")

    def sign(self, approval: str, expires_at: float) -> str:
        expiry = str(int(expires_at))
        return f"{expiry}.{self._mac('approval', approval, expiry)}"

    def check(self, approval: str, signature: str, now: float) -> LinkFault | None:
        """None when the signature is good and current; otherwise what is wrong with it."""
        expiry, _, mac = signature.partition(".")
        if not expiry.isdigit() or not mac:
            return LinkFault.MALFORMED
        if not hmac.compare_digest(mac, self._mac("approval", approval, expiry)):
            return LinkFault.FORGED
        if now >= int(expiry):
            return LinkFault.EXPIRED
        return None

    def csrf_token(self, approval: str, nonce: str) -> str:
        """A double-submit token: the review page sets it as a cookie and in the form."""
        return f"{nonce}.{self._mac('csrf', approval, nonce)}"

    def csrf_ok(self, approval: str, form_token: str, cookie_token: str) -> bool:
        nonce, _, _ = form_token.partition(".")
        return bool(
            nonce
            and hmac.compare_digest(form_token, cookie_token)
            and hmac.compare_digest(form_token, self.csrf_token(approval, nonce))
        )


def review_link(base_url: str, approval: Approval, signer: LinkSigner) -> str:
    """The signed link a reviewer opens; the same every time (signing is deterministic for an
    id and expiry), so the notification, the console and `stepline run` show one link."""
    return f"{base_url.rstrip('/')}/approvals/{approval.id}?sig={signer.sign(approval.id, approval.expires_at)}"


def _commit(request: ActionRequest) -> str:
    for variables in request.variables.values():
        if commit := variables.get("CommitId"):
            return commit
    return ""


def request_approval(
    request: ActionRequest,
    approvals: Approvals,
    notifier: Notifier,
    signer: LinkSigner,
    base_url: str,
    clock: Clock = time.time,
) -> Approval:
    """Store the approval with its token, then notify with the signed review link."""
    if request.task_token is None:
        raise ConfigurationError("an approval request needs the task token (.waitForTaskToken)")
    configuration = request.configuration()
    now = clock()
    minutes = request.action.timeout_in_minutes or DEFAULT_TIMEOUT_MINUTES
    approval = Approval(
        id=approval_id(request.pipeline, request.execution.name, request.stage, request.action.name),
        pipeline=request.pipeline,
        execution_id=request.execution.id,
        execution_name=request.execution.name,
        stage=request.stage,
        action=request.action.name,
        custom_data=configuration.get("CustomData", ""),
        external_link=configuration.get("ExternalEntityLink", ""),
        commit=_commit(request),
        requested_at=now,
        expires_at=now + minutes * 60,
    )
    approvals.put(approval, request.task_token)
    link = review_link(base_url, approval, signer)
    expires = datetime.fromtimestamp(approval.expires_at, UTC).isoformat(timespec="seconds")
    notifier.publish(
        configuration.get("NotificationArn", ""),
        f"APPROVAL NEEDED: {approval.pipeline} {approval.stage}/{approval.action}",
        {
            "approval": {
                "pipelineName": approval.pipeline,
                "executionId": approval.execution_name,
                "stageName": approval.stage,
                "actionName": approval.action,
                "expires": expires,
                "externalEntityLink": approval.external_link,
                "approvalReviewLink": link,
                "customData": approval.custom_data,
            }
        },
    )
    return approval


class DecisionRefused(SteplineError):
    """A decision that changes nothing: already decided, expired, or unknown (one kind each)."""


class NoSuchApproval(DecisionRefused, NotFound):
    """No approval has this id."""


class AlreadyDecided(DecisionRefused, Conflict):
    """Someone decided first: earlier, or a moment ago."""


class ApprovalExpired(DecisionRefused, Expired):
    """The approval's time ran out; its stage failed as expired."""


def decide(
    approval_id: str,
    approved: bool,
    comment: str,
    reviewer: str,
    approvals: Approvals,
    callbacks: TaskCallbacks,
    clock: Clock = time.time,
) -> Approval:
    """Record the decision exactly once, then answer the waiting task, then mark it answered.
    Deciding again what was recorded but not answered sends the recorded answer again."""
    found = approvals.get(approval_id)
    if found is None:
        raise NoSuchApproval(f"there is no approval {approval_id}")
    approval, token = found
    now = clock()
    if approval.status != "Pending":
        if not approval.answered:
            answer(approval, token, approvals, callbacks)
            if approved == (approval.status == "Approved"):
                return approval.model_copy(update={"answered": True})  # the same decision, retried
        raise AlreadyDecided(f"this approval was already {approval.status.lower()} by {approval.decided_by}")
    if approval.expired(now):
        raise ApprovalExpired("this approval expired; the stage has failed as expired")
    summary = comment.strip()[:SUMMARY_LIMIT]
    status: Status = "Approved" if approved else "Rejected"
    decided = approval.model_copy(
        update={
            "status": status,
            "decided_by": reviewer.strip() or "anonymous",
            "decided_at": now,
            "comment": summary,
            "answered": False,
        }
    )
    if not approvals.settle(decided):
        raise AlreadyDecided("this approval was decided a moment ago by someone else")
    return answer(decided, token, approvals, callbacks)


def supersede(
    approval_id: str, by: str, approvals: Approvals, callbacks: TaskCallbacks, clock: Clock = time.time
) -> bool:
    """A pending approval superseded (run control's stale-approval rule): recorded once from
    Pending, like a decision, then answered. False when it was not pending."""
    found = approvals.get(approval_id)
    if found is None or found[0].status != "Pending":
        return False
    approval, token = found
    superseded = approval.model_copy(
        update={
            "status": "Superseded",
            "decided_by": "stepline",
            "decided_at": clock(),
            "comment": by,
            "answered": False,
        }
    )
    if not approvals.settle(superseded):
        return False
    answer(superseded, token, approvals, callbacks)
    return True


def answer(decided: Approval, token: str, approvals: Approvals, callbacks: TaskCallbacks) -> Approval:
    """Send the recorded decision's answer (the same every time), then mark it answered."""
    if decided.status == "Approved":
        at = datetime.fromtimestamp(decided.decided_at or 0, UTC).isoformat(timespec="seconds")
        result = {"status": "Approved", "summary": decided.comment, "approvedBy": decided.decided_by, "approvedAt": at}
        callbacks.succeed(token, {"artifacts": {}, "variables": {}, "approval": result})
    elif decided.status == "Superseded":
        # A newer execution reached the stage: the stale approval ends the run as Superseded.
        callbacks.fail(token, "Superseded", decided.comment)
    else:
        # A rejection fails the action (CodePipeline's semantics), the comment is the cause.
        cause = f"rejected by {decided.decided_by}" + (f": {decided.comment}" if decided.comment else "")
        callbacks.fail(token, "ApprovalRejected", cause)
    answered = decided.model_copy(update={"answered": True})
    approvals.mark_answered(answered)
    return answered


def answer_unanswered(approvals: Approvals, callbacks: TaskCallbacks, decided_before: float) -> list[str]:
    """The sweeper's part: decisions recorded before ``decided_before`` and never answered."""
    outcomes = []
    for decided, token in approvals.unanswered():
        if (decided.decided_at or 0) < decided_before:
            answer(decided, token, approvals, callbacks)
            outcomes.append(f"answered again: {decided.pipeline} {decided.stage}.{decided.action} {decided.status}")
    return outcomes
