"""CodePipeline's JSON 1.1 protocol on the API's root: ``POST /`` with ``X-Amz-Target:
CodePipeline_20150709.<Operation>``, SigV4-signed, answered with the model's output shape or an
error in AWS's shape. The AWS CLI and every SDK reach Stepline by ``--endpoint-url`` alone.

Order of checks, each answered as AWS answers it: the signature (nothing is read before the
caller is known), the operation, the document (JSON, then the model's shape), then the
operation itself. A request refused at any step changed nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from stepline import wiring
from stepline.adapters.aws.service_model import service_model
from stepline.api.codepipeline import shapes, sigv4
from stepline.api.codepipeline.errors import CORAL, AwsError
from stepline.api.problems import ApiProblem
from stepline.api.requests import raw_body
from stepline.errors import ConfigurationError
from stepline.observability import logger

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "CodePipeline_20150709."
router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@dataclass(frozen=True)
class Call:
    """One verified request: the operation's input (valid for its shape) and who sent it where."""

    operation: str
    input: dict[str, Any]
    region: str
    now: datetime


Operation = Callable[[Call], Mapping[str, Any]]
OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    """Register ``name``'s implementation (the operation modules use this)."""

    def register(implementation: Operation) -> Operation:
        OPERATIONS[name] = implementation
        return implementation

    return register


def _encode(value: Any) -> Any:
    """The JSON protocol's values: timestamps as epoch seconds, nothing null."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {key: _encode(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _answer(status: int, document: Mapping[str, Any], request_id: str, kind: str = "") -> Response[str]:
    headers = {"x-amzn-RequestId": request_id}
    if kind:
        headers["x-amzn-ErrorType"] = kind
    return Response(status, CONTENT_TYPE, json.dumps(_encode(document)), headers)


def signed_request(event: APIGatewayProxyEvent) -> sigv4.SignedRequest:
    """What the caller signed: on API Gateway the path the client saw includes the stage
    (``/Prod/``), which ``requestContext.path`` keeps."""
    headers: dict[str, str] = {}
    multi = event.multi_value_headers or {}
    for name, value in (event.headers or {}).items():
        values = multi.get(name) or [value]
        headers[name.lower()] = ",".join(str(item).strip() for item in values)
    context_path = (event.get("requestContext") or {}).get("path")
    query = tuple(
        (name, value) for name, values in (event.multi_value_query_string_parameters or {}).items() for value in values
    )
    return sigv4.SignedRequest(event.http_method, context_path or event.path, query, headers, raw_body(event))


def _operation_of(target: str) -> tuple[str, Operation]:
    name = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
    implementation = OPERATIONS.get(name)
    if implementation is None:
        raise AwsError(f"{CORAL}UnknownOperationException", f"Unknown operation {target or '(no X-Amz-Target)'}")
    return name, implementation


def _input(name: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"{}")
    except (ValueError, RecursionError) as error:
        raise AwsError(f"{CORAL}SerializationException", f"the body is not a JSON document: {error}") from None
    model = service_model("codepipeline")
    shape = model["operations"][name].get("input", {}).get("shape")
    if shape is None:
        return {}
    shapes.check(model["shapes"], shape, document)
    valid: dict[str, Any] = document
    return valid


def serve(event: APIGatewayProxyEvent, now: datetime) -> Response[str]:
    request_id = str(uuid.uuid4())
    try:
        request = signed_request(event)
        caller = sigv4.verify(request, wiring.api_token(), now)
        name, implementation = _operation_of(request.headers.get("x-amz-target", ""))
        call = Call(name, _input(name, request.body), caller.region, now)
        output = implementation(call)
    except AwsError as error:
        logger.info("CodePipeline request refused", extra={"error": error.kind, "reason": error.message})
        return _answer(error.status, error.body(), request_id, error.kind)
    except ConfigurationError as error:
        logger.error("not configured", extra={"error": str(error)})
        refused = AwsError(f"{CORAL}ServiceUnavailableException", str(error), 503)
        return _answer(503, refused.body(), request_id, refused.kind)
    except ApiProblem:
        raise
    except Exception:
        # Logged whole for the operator; the caller gets AWS's shape and no traceback.
        logger.exception("CodePipeline request failed")
        failed = AwsError(f"{CORAL}InternalFailure", "the request failed; the server's log has the details", 500)
        return _answer(500, failed.body(), request_id, failed.kind)
    return _answer(200, output, request_id)


@router.post("/")
def codepipeline() -> Response[str]:
    return serve(router.current_event, datetime.fromtimestamp(wiring.now(), UTC))
