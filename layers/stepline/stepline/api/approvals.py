"""Approval routes: the signed review page and form, and the JSON API the CLI uses."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.shared.cookies import Cookie
from pydantic import BaseModel, ConfigDict, Field

from stepline import wiring
from stepline.actions.approval import REVIEWER_LIMIT, SUMMARY_LIMIT, DecisionRefused, LinkFault, LinkSigner, decide
from stepline.api.pages import SECURITY_HEADERS, decided_page, review_page
from stepline.api.problems import ApiProblem
from stepline.api.requests import cookie, form, json_body, require_bearer, strict_cookie
from stepline.ports.approvals import Approval

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
CSRF_COOKIE = "stepline_csrf"


def _page(status: int, html: str, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(status, content_types.TEXT_HTML, html, headers=SECURITY_HEADERS, cookies=cookies)


def _signed(approval_id: str, signature: str, signer: LinkSigner) -> Approval:
    """The approval a link names, once the link is proven genuine and current."""
    if not signature:
        raise ApiProblem(
            403, "Link not valid", "the link has no signature; use the link from the notification", page=True
        )
    fault = signer.check(approval_id, signature, wiring.now())
    if fault is LinkFault.EXPIRED:
        raise ApiProblem(410, "Link expired", "this approval link has expired", page=True)
    if fault is not None:
        raise ApiProblem(403, "Link not valid", fault.value, page=True)
    found = wiring.approvals().get(approval_id)
    if found is None:
        raise ApiProblem(404, "No such approval", f"there is no approval {approval_id}", page=True)
    return found[0]


def _refuse_unless_pending(approval: Approval) -> None:
    if approval.status != "Pending":
        raise ApiProblem(
            409,
            "Already decided",
            f"this approval was already {approval.status.lower()} by {approval.decided_by}",
            page=True,
        )
    if approval.expired(wiring.now()):
        raise ApiProblem(410, "Approval expired", "this approval expired; the stage has failed as expired", page=True)


@router.get("/approvals/<approval_id>")
def review(approval_id: str) -> Response[str]:
    # A GET never decides: mail scanners and link previews open links.
    signature = router.current_event.get_query_string_value("sig", "") or ""
    signer = wiring.link_signer()
    approval = _signed(approval_id, signature, signer)
    _refuse_unless_pending(approval)
    csrf = signer.csrf_token(approval.id, secrets.token_urlsafe(16))
    jar = strict_cookie(router.current_event, CSRF_COOKIE, csrf, max_age=3600)
    return _page(200, review_page(approval, signature, csrf), [jar])


@router.post("/approvals/<approval_id>")
def decide_from_form(approval_id: str) -> Response[str]:
    fields = form(router.current_event)
    signer = wiring.link_signer()
    approval = _signed(approval_id, fields.get("sig", ""), signer)
    if not signer.csrf_ok(approval.id, fields.get("csrf", ""), cookie(router.current_event, CSRF_COOKIE)):
        raise ApiProblem(
            403,
            "Form expired",
            "the form's CSRF token is missing or does not match; open the review link again",
            page=True,
        )
    if fields.get("execution", "") != approval.execution_name:
        raise ApiProblem(409, "Wrong execution", "this form was made for another execution of the pipeline", page=True)
    decision = fields.get("decision", "")
    if decision not in {"approve", "reject"}:
        raise ApiProblem(400, "No decision", "choose Approve or Reject", page=True)
    for field, label, limit in (("reviewer", "Your name", REVIEWER_LIMIT), ("comment", "The comment", SUMMARY_LIMIT)):
        if len(fields.get(field, "")) > limit:
            given = len(fields[field])
            detail = (
                f"{label} is {given} characters long; at most {limit} are allowed. Go back, shorten it, and send again"
            )
            raise ApiProblem(400, "Too long", detail, page=True)
    return _page(200, decided_page(_decide(approval, decision == "approve", fields, page=True)))


def _decide(approval: Approval, approved: bool, fields: dict[str, Any], *, page: bool) -> Approval:
    try:
        return decide(
            approval.id,
            approved,
            str(fields.get("comment", "")),
            str(fields.get("reviewer", "")),
            wiring.approvals(),
            wiring.task_callbacks(),
            wiring.clock(),
        )
    except DecisionRefused as refused:
        raise ApiProblem.of(refused, "Not decided", page=page) from None


class DecisionBody(BaseModel):
    """POST /api/approvals: what `stepline approve|reject` sends."""

    model_config = ConfigDict(extra="forbid")

    execution: str = Field(min_length=1)
    stage: str = Field(min_length=1)
    action: str = Field(min_length=1)
    pipeline: str | None = None
    decision: Literal["Approved", "Rejected"]
    comment: str = Field("", max_length=SUMMARY_LIMIT)
    reviewer: str = Field("", max_length=REVIEWER_LIMIT)


def _listed(approval: Approval) -> dict[str, Any]:
    return approval.model_dump(exclude={"custom_data"}) | {"customData": approval.custom_data}


@router.get("/api/approvals")
def pending() -> dict[str, Any]:
    require_bearer(router.current_event, wiring.api_token())
    now = wiring.now()
    return {"approvals": [_listed(a) for a in wiring.approvals().pending() if not a.expired(now)]}


@router.post("/api/approvals")
def decide_from_api() -> dict[str, Any]:
    require_bearer(router.current_event, wiring.api_token())
    body = json_body(router.current_event, DecisionBody)
    # A decision recorded but never answered is decided again (its answer is sent again).
    waiting = wiring.approvals().pending() + [a for a, _ in wiring.approvals().unanswered()]
    matches = [
        a
        for a in waiting
        if body.execution in {a.execution_name, a.execution_id}
        and (a.stage, a.action) == (body.stage, body.action)
        and body.pipeline in {None, a.pipeline}
    ]
    if not matches:
        raise ApiProblem(
            404, "No such approval", f"nothing waits for approval at {body.stage}/{body.action} in {body.execution}"
        )
    if len(matches) > 1:
        pipelines = ", ".join(sorted(a.pipeline for a in matches))
        raise ApiProblem(409, "Ambiguous", f"several pipelines wait there ({pipelines}); name the pipeline")
    decided = _decide(matches[0], body.decision == "Approved", body.model_dump(), page=False)
    return {"approval": _listed(decided)}
