"""GitHub webhooks: the signature is checked over the raw body before anything is parsed."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import ValidationError

from stepline import wiring
from stepline.api.problems import ApiProblem
from stepline.api.requests import TOO_DEEP, header, raw_body
from stepline.observability import logger
from stepline.ports.pushes import GitHubPush

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
# GitHub caps payloads at 25 MB; a push worth acting on is far smaller, and API Gateway stops at 10 MB.
BODY_LIMIT = 5 * 1024 * 1024


def signature_ok(secret: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


@router.post("/webhooks/github")
def github() -> tuple[dict[str, Any], int]:
    event = router.current_event
    body = raw_body(event)
    if len(body) > BODY_LIMIT:
        raise ApiProblem(413, "Payload too large", f"the body is {len(body)} bytes; the limit is {BODY_LIMIT}")
    signature = header(event, "x-hub-signature-256")
    if not signature:
        raise ApiProblem(401, "Unsigned", "X-Hub-Signature-256 is missing: set a secret on the GitHub webhook")
    try:
        secret = wiring.webhook_secret()
    except LookupError as error:
        raise ApiProblem(503, "Not configured", f"the webhook secret cannot be read: {error}") from None
    if not signature_ok(secret, body, signature):
        raise ApiProblem(401, "Bad signature", "X-Hub-Signature-256 does not match the body and the webhook secret")
    kind = header(event, "x-github-event") or ""
    delivery = header(event, "x-github-delivery") or ""
    if kind == "ping":
        return {"pong": True, "hook": _payload(body).get("hook_id")}, 200
    if kind != "push":
        raise ApiProblem(400, "Unsupported event", f"X-GitHub-Event {kind or '(missing)'!r}: Stepline acts on push")
    if not delivery:
        raise ApiProblem(400, "No delivery id", "X-GitHub-Delivery is missing")
    try:
        push = GitHubPush.model_validate({**_payload(body), "delivery": delivery})
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(map(str, problem["loc"]))
        raise ApiProblem(
            400, "Not a push", f"the push payload is not GitHub's shape: {where}: {problem['msg']}"
        ) from None
    deliveries = wiring.deliveries()
    if not deliveries.first_time(delivery):
        return {"duplicate": True, "delivery": delivery}, 200
    try:
        started = wiring.pushes().received(push)
    except BaseException:
        deliveries.forget(delivery)  # let GitHub's redelivery try again
        raise
    logger.info("push received", extra={"repository": push.repository.full_name, "ref": push.ref, "started": started})
    return {"delivery": delivery, "started": started}, 202


def _payload(body: bytes) -> dict[str, Any]:
    try:
        loaded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiProblem(400, "Bad JSON", f"the body is not JSON: {error}") from None
    except RecursionError:
        raise ApiProblem(400, "Bad JSON", TOO_DEEP) from None
    if not isinstance(loaded, dict):
        raise ApiProblem(400, "Bad JSON", "the body is not a JSON object")
    return loaded
