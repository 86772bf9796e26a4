"""GitLab and Bitbucket Cloud webhooks, verified as each service signs them, before anything is parsed.

GitLab sends the webhook's secret token itself in ``X-Gitlab-Token`` (compared in constant
time); Bitbucket signs the body with HMAC-SHA256 in ``X-Hub-Signature`` (``sha256=<hex>``).
The size limit, the delivery record (``X-Gitlab-Event-UUID``, ``X-Request-UUID``) and the
hand-over are GitHub's (``api.webhooks``), and so is replay protection: an execution is named
by the change, not by the delivery id, which neither service signs.
"""

from __future__ import annotations

import hmac
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from stepline import wiring
from stepline.api.problems import ApiProblem
from stepline.api.requests import header
from stepline.api.webhooks import hand_over, limited_body, parsed, payload, require_signature, secret_of
from stepline.settings import settings
from stepline.triggers.forges import (
    BitbucketPullRequest,
    BitbucketPush,
    GitLabMergeRequest,
    GitLabPush,
    from_bitbucket_pull_request,
    from_bitbucket_push,
    from_gitlab_merge_request,
    from_gitlab_push,
)

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

GITLAB_PUSHES = {"Push Hook", "Tag Push Hook"}
GITLAB_EVENTS = {*GITLAB_PUSHES, "Merge Request Hook"}


def _secret(name: str) -> str:
    return secret_of(lambda: wiring.secret_store().get(name))


@router.post("/webhooks/gitlab")
def gitlab() -> tuple[dict[str, Any], int]:
    event = router.current_event
    body = limited_body(event)
    token = header(event, "x-gitlab-token")
    if not token:
        raise ApiProblem(401, "Unsigned", "X-Gitlab-Token is missing: set a secret token on the GitLab webhook")
    if not hmac.compare_digest(_secret(settings().gitlab_webhook_secret).encode(), token.encode()):
        raise ApiProblem(401, "Bad token", "X-Gitlab-Token is not the webhook's secret token")
    kind = header(event, "x-gitlab-event") or ""
    if kind not in GITLAB_EVENTS:
        raise ApiProblem(
            400,
            "Unsupported event",
            f"X-Gitlab-Event {kind or '(missing)'!r}: Stepline acts on pushes and merge requests",
        )
    # Idempotency-Key (GitLab 17.4+) is the same on every retry of one event; before it, the event UUID.
    delivery = header(event, "idempotency-key") or header(event, "x-gitlab-event-uuid") or ""
    if not delivery:
        raise ApiProblem(400, "No delivery id", "X-Gitlab-Event-UUID is missing")
    fields = payload(body)
    if kind in GITLAB_PUSHES:
        change = from_gitlab_push(parsed(GitLabPush, fields, "a GitLab push"), delivery)
    else:
        change = from_gitlab_merge_request(parsed(GitLabMergeRequest, fields, "a GitLab merge request"), delivery)
    return hand_over([change] if change else [], delivery, kind)


@router.post("/webhooks/bitbucket")
def bitbucket() -> tuple[dict[str, Any], int]:
    event = router.current_event
    body = limited_body(event)
    require_signature(event, body, "X-Hub-Signature", lambda: _secret(settings().bitbucket_webhook_secret), "Bitbucket")
    kind = header(event, "x-event-key") or ""
    if kind != "repo:push" and not kind.startswith("pullrequest:"):
        raise ApiProblem(
            400,
            "Unsupported event",
            f"X-Event-Key {kind or '(missing)'!r}: Stepline acts on repo:push and pullrequest:*",
        )
    delivery = header(event, "x-request-uuid") or ""
    if not delivery:
        raise ApiProblem(400, "No delivery id", "X-Request-UUID is missing")
    fields = payload(body)
    if kind == "repo:push":
        changes = from_bitbucket_push(parsed(BitbucketPush, fields, "a Bitbucket push"), delivery)
    else:
        request = parsed(BitbucketPullRequest, fields, "a Bitbucket pull request")
        change = from_bitbucket_pull_request(request, kind, delivery)
        changes = [change] if change else []
    return hand_over(changes, delivery, kind)
