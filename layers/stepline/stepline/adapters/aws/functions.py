"""Calling the user's Lambda functions on AWS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import InvokedFunctionError, TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError


class LambdaInvoker:
    def __init__(self, client: Any) -> None:
        self.client = client

    def invoke(self, function: str, payload: Mapping[str, object]) -> object:
        try:
            answer = self.client.invoke(
                FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload)
            )
        except ClientError as error:
            code = error_code(error)
            if code == "ResourceNotFoundException":
                raise ConfigurationError(f"Lambda function {function!r} does not exist") from None
            if code in {"TooManyRequestsException", "ServiceException", "EC2ThrottledException"}:
                raise TransientActionError(f"Lambda could not run {function!r} now: {code}") from None
            raise ConfigurationError(f"Lambda refused to run {function!r}: {code}") from None
        body = answer["Payload"].read()
        try:
            result = json.loads(body) if body else None
        except json.JSONDecodeError:
            result = body.decode("utf-8", "replace")
        if answer.get("FunctionError"):
            if isinstance(result, dict):
                kind, message = result.get("errorType", "Error"), result.get("errorMessage", "")
            else:
                kind, message = "Error", str(result)
            raise InvokedFunctionError(f"{function} failed: {kind}: {message}")
        return result
