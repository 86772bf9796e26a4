"""Task resources the engine can run, and the in-process Lambda functions behind them.

Supported resources (anything else is refused when an execution starts, naming the state):

- ``arn:aws:states:::lambda:invoke`` — the function's result wrapped as Step Functions
  wraps it: ``Payload``, ``StatusCode``, ``ExecutedVersion``, and the SDK's
  ``SdkHttpMetadata`` (headers, status) and ``SdkResponseMetadata`` (request id), which
  AWS always includes (``invoke_result``);
- ``arn:aws:states:::lambda:invoke.waitForTaskToken`` — the function is called, then the
  task waits for SendTaskSuccess/SendTaskFailure with its token;
- ``arn:aws:lambda:<region>:<account>:function:<name>`` — the function's result as it is;
- ``arn:aws:states:::states:startExecution`` with ``.sync``, ``.sync:2`` or no suffix — a
  nested execution on the same engine.

A function's value is what Lambda would send back: JSON; bytes are the payload as they are
(``b'"Hi"'`` is ``"Hi"``, as on AWS; bytes that are not JSON are a string). A Python
exception raised by a function becomes a task failure whose error is the
exception's class name and whose cause is Lambda's error JSON (``errorMessage``,
``errorType``), as on AWS — without Lambda's ``stackTrace``: the cause is what people read
(``stepline show``, the console, the API), so the traceback goes to the server's log instead,
at ERROR unless the exception is one of the ``expected`` kinds (an action's own failure).
"""

from __future__ import annotations

import functools
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from stepline.engine.store import dumps
from stepline.observability import logger

Handler = Callable[[Any, Any], Any]
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class Pattern(StrEnum):
    REQUEST = "request"  # the call's result is the task's result
    CALLBACK = "callback"  # the call starts work; SendTask* with the token finishes it
    EXECUTION = "execution"  # a nested execution; its end finishes the task


@dataclass(frozen=True, slots=True)
class Resource:
    arn: str
    pattern: Pattern
    kind: str  # "lambda" or "states"
    action: str  # for history events: "invoke", "invoke.waitForTaskToken", "startExecution.sync:2" …
    wraps_payload: bool = False
    nested_output: str = ""  # "", "sync" (Output as a string) or "sync:2" (Output as JSON)
    function: str | None = None  # for a Lambda ARN resource: the function's name


class UnknownResourceError(LookupError):
    pass


@functools.lru_cache(maxsize=1024)
def parse_resource(arn: str) -> Resource:
    if arn == "arn:aws:states:::lambda:invoke":
        return Resource(arn, Pattern.REQUEST, "lambda", "invoke", wraps_payload=True)
    if arn == "arn:aws:states:::lambda:invoke.waitForTaskToken":
        return Resource(arn, Pattern.CALLBACK, "lambda", "invoke.waitForTaskToken")
    if arn.startswith("arn:aws:states:::states:startExecution"):
        suffix = arn.removeprefix("arn:aws:states:::states:startExecution")
        if suffix in {"", ".sync", ".sync:2"}:
            return Resource(
                arn, Pattern.EXECUTION, "states", f"startExecution{suffix}", nested_output=suffix.lstrip(".")
            )
    parts = arn.split(":")
    if len(parts) >= 7 and parts[:3] == ["arn", "aws", "lambda"] and parts[5] == "function":
        return Resource(arn, Pattern.REQUEST, "lambda", arn, function=parts[6])
    raise UnknownResourceError(arn)


class LambdaContext:
    """What a Python Lambda handler receives as ``context``, as far as handlers use it."""

    def __init__(self, function_name: str, deadline: float | None, now: Callable[[], float]) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline
        self._now = now

    def get_remaining_time_in_millis(self) -> int:
        if self._deadline is None:
            return 900_000
        return max(0, int((self._deadline - self._now()) * 1000))


class FunctionError(Exception):
    """A Lambda function's failure, as Step Functions reports it."""

    def __init__(self, error: str, cause: str) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}")


class Functions:
    """In-process Lambda functions by name (an ARN's last part names the function too)."""

    def __init__(
        self, handlers: Mapping[str, Handler] | None = None, *, expected: tuple[type[Exception], ...] = ()
    ) -> None:
        self._handlers: dict[str, Handler] = dict(handlers or {})
        self._expected = expected  # failures the functions mean to report, logged at INFO

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def resolve(self, name_or_arn: str) -> Handler | None:
        name = name_or_arn
        if name.startswith("arn:"):
            parts = name.split(":")
            name = parts[6] if len(parts) >= 7 else name
        return self._handlers.get(name)

    def invoke(self, name_or_arn: str, payload: Any, context: LambdaContext) -> Any:
        handler = self.resolve(name_or_arn)
        if handler is None:
            raise FunctionError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {name_or_arn} (known: {', '.join(self.names()) or 'none'})",
            )
        # A Lambda event is JSON: hand the function its own copy, as the service would.
        event = _copy(payload)
        try:
            result = handler(event, context)
        except Exception as error:
            kind = type(error).__name__
            log = logger.info if isinstance(error, self._expected) else logger.error
            log("function %s raised %s", name_or_arn, kind, exc_info=error, extra={"function": name_or_arn})
            cause = {"errorMessage": str(error), "errorType": kind}
            raise FunctionError(kind, json.dumps(cause)) from error
        if isinstance(result, bytes | bytearray):
            return _payload(bytes(result))
        try:
            return _copy(result)
        except (TypeError, ValueError) as error:
            raise FunctionError(
                "Lambda.InvalidResponse", f"the function returned a value that is not JSON: {error}"
            ) from None


def _copy(value: Any) -> Any:
    """A JSON value's own copy (orjson's round trip; json's for what orjson refuses, such as integers
    beyond 64 bits). TypeError or ValueError: not JSON (datetimes and dataclasses neither, as for
    Lambda's own Python runtime)."""
    try:
        return orjson.loads(orjson.dumps(value, option=_STRICT))
    except TypeError:
        return json.loads(json.dumps(value))


def _payload(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def invoke_result(payload: Any, request_id: str, date: str, size: int | None = None) -> dict[str, Any]:
    """What ``lambda:invoke`` returns on AWS: the payload and the SDK's response metadata
    (``size``: the payload's length as JSON, when known already)."""
    length = str(len(dumps(payload)) if size is None else size)
    trace = secrets.token_hex(16)  # X-Ray's trace id: 8 hex digits of time, 24 random ones
    headers = {
        "Connection": "keep-alive",
        "Content-Length": length,
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": f"Root=1-{trace[:8]}-{trace[8:]};Sampled=0",
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }
