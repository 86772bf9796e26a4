"""Completing waiting tasks on Step Functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import error_code
from stepline.observability import logger

# The task was answered before, stopped, or timed out: nothing is waiting any more.
_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


class StepFunctionsCallbacks:
    def __init__(self, client: Any) -> None:
        self.client = client

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self._send(self.client.send_task_success, taskToken=token, output=json.dumps(output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._send(self.client.send_task_failure, taskToken=token, error=error[:256], cause=cause[:32768])

    def _send(self, call: Any, **parameters: Any) -> None:
        try:
            call(**parameters)
        except ClientError as error:
            code = error_code(error)
            if code not in _GONE:
                raise
            logger.info("task no longer waiting", extra={"code": code})
