"""GitHub webhooks (push, pull_request): the signature is checked over the raw body before anything
is parsed. The size limit, the parsing and the hand-over are shared with the other forges' routes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ValidationError

from stepline import wiring
from stepline.api.problems import ApiProblem
from stepline.api.requests import TOO_DEEP, header, raw_body
from stepline.observability import logger
from stepline.ports.pushes import GitHubPush
from stepline.triggers.changes import RepositoryChange, from_github
from stepline.triggers.pulls import GitHubPullRequestEvent, from_github_pull_request

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
# GitHub caps payloads at 25 MB; a push worth acting on is far smaller, and API Gateway stops at 10 MB.
BODY_LIMIT = 5 * 1024 * 1024
Parsed = TypeVar("Parsed", bound=BaseModel)


def signature_ok(secret: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


@router.post("/webhooks/github")
def github() -> tuple[dict[str, Any], int]:
    event = router.current_event
    body = limited_body(event)
    require_signature(event, body, "X-Hub-Signature-256", wiring.webhook_secret, "GitHub")
    kind = header(event, "x-github-event") or ""
    delivery = header(event, "x-github-delivery") or ""
    if kind == "ping":
        return {"pong": True, "hook": payload(body).get("hook_id")}, 200
    if kind not in {"push", "pull_request"}:
        raise ApiProblem(
            400, "Unsupported event", f"X-GitHub-Event {kind or '(missing)'!r}: Stepline acts on push and pull_request"
        )
    if not delivery:
        raise ApiProblem(400, "No delivery id", "X-GitHub-Delivery is missing")
    fields = {**payload(body), "delivery": delivery}
    if kind == "push":
        change = from_github(parsed(GitHubPush, fields, "a GitHub push"))
    else:
        change = from_github_pull_request(parsed(GitHubPullRequestEvent, fields, "a GitHub pull_request event"))
    return hand_over([change] if change else [], delivery, f"{kind} {fields.get('action', fields.get('ref', ''))}")


def require_signature(
    event: APIGatewayProxyEvent, body: bytes, name: str, secret: Callable[[], str], forge: str
) -> None:
    """401 unless header ``name`` holds ``sha256=`` and the HMAC-SHA256 of the raw body."""
    signature = header(event, name.lower())
    if not signature:
        raise ApiProblem(401, "Unsigned", f"{name} is missing: set a secret on the {forge} webhook")
    if not signature_ok(secret_of(secret), body, signature):
        raise ApiProblem(401, "Bad signature", f"{name} does not match the body and the webhook secret")


def limited_body(event: APIGatewayProxyEvent) -> bytes:
    body = raw_body(event)
    if len(body) > BODY_LIMIT:
        raise ApiProblem(413, "Payload too large", f"the body is {len(body)} bytes; the limit is {BODY_LIMIT}")
    return body


def secret_of(read: Callable[[], str]) -> str:
    try:
        return read()
    except LookupError as error:
        raise ApiProblem(503, "Not configured", f"the webhook secret cannot be read: {error}") from None


def parsed(model: type[Parsed], fields: dict[str, Any], what: str) -> Parsed:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(map(str, problem["loc"]))
        raise ApiProblem(400, "Unexpected payload", f"the payload is not {what}: {where}: {problem['msg']}") from None


def hand_over(changes: list[RepositoryChange], delivery: str, what: str) -> tuple[dict[str, Any], int]:
    """Start what verified changes match, once per delivery (a redelivery is acknowledged)."""
    if not changes:
        logger.info("webhook event that starts nothing", extra={"event": what, "delivery": delivery})
        return {"delivery": delivery, "started": [], "ignored": what}, 202
    deliveries = wiring.deliveries()
    if not deliveries.first_time(delivery):
        return {"duplicate": True, "delivery": delivery}, 200
    try:
        started = [arn for change in changes for arn in wiring.pushes().received(change)]
    except BaseException:
        deliveries.forget(delivery)  # let the forge's redelivery try again; what started stays started
        raise
    logger.info(
        "webhook changes received",
        extra={"provider": changes[0].provider, "repository": changes[0].repository, "event": what, "started": started},
    )
    return {"delivery": delivery, "started": started}, 202


def payload(body: bytes) -> dict[str, Any]:
    try:
        loaded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiProblem(400, "Bad JSON", f"the body is not JSON: {error}") from None
    except RecursionError:
        raise ApiProblem(400, "Bad JSON", TOO_DEEP) from None
    if not isinstance(loaded, dict):
        raise ApiProblem(400, "Bad JSON", "the body is not a JSON object")
    return loaded
