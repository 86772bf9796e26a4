"""Approval/AWS/Manual (Task: lambda:invoke.waitForTaskToken): store the approval with its
token, then notify with a signed review link. The token is answered by the api function."""

from typing import Any

from stepline.actions.approval import request_approval
from stepline.actions.request import ActionRequest
from stepline.handlers import parse
from stepline.observability import correlate
from stepline.settings import settings
from stepline.wiring import approvals, clock, link_signer, notifier


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(ActionRequest, event)
    correlate(request.execution.id)
    approval = request_approval(request, approvals(), notifier(), link_signer(), settings().api_url, clock())
    return {"approval": approval.id, "expiresAt": approval.expires_at}
