"""Lambda code, versions and aliases, and CloudWatch alarms, for Lambda deployments on AWS."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from botocore.exceptions import ClientError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactRef


class AwsLambdaFunctions:
    def __init__(
        self,
        lambda_client: Any,
        cloudwatch: Any,
        wait_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = lambda_client
        self.cloudwatch = cloudwatch
        # An update is waited for this long per call, well inside the deploy function's 300 s:
        # a longer update is waited for again by the state machine's retry, not by a timeout.
        self.wait_seconds = wait_seconds
        self.sleep = sleep
        self.clock = clock

    def update_code(self, function: str, artifact: ArtifactRef) -> None:
        location = artifact.get("location", "")
        try:
            if artifact.get("type") == "S3":
                bucket, _, key = location.removeprefix("s3://").partition("/")
                self.client.update_function_code(FunctionName=function, S3Bucket=bucket, S3Key=key)
            else:
                path = Path(unquote(urlparse(location).path))
                self.client.update_function_code(FunctionName=function, ZipFile=path.read_bytes())
        except ClientError as error:
            raise _lambda_error(error, function) from None

    def update_image(self, function: str, image_uri: str) -> None:
        try:
            self.client.update_function_code(FunctionName=function, ImageUri=image_uri)
        except ClientError as error:
            raise _lambda_error(error, function) from None

    def wait_updated(self, function: str) -> None:
        """Until the update has finished (publishing before then publishes the old code)."""
        began = self.clock()
        while True:
            try:
                configuration = self.client.get_function_configuration(FunctionName=function)
            except ClientError as error:
                raise _lambda_error(error, function) from None
            status = configuration.get("LastUpdateStatus", "Successful")
            if status == "Successful":
                return
            if status == "Failed":
                reason = configuration.get("LastUpdateStatusReason") or "no reason given"
                raise ConfigurationError(f"the update of {function!r} failed: {reason}")
            if self.clock() - began >= self.wait_seconds:
                raise TransientActionError(
                    f"the update of {function!r} is still in progress after {self.wait_seconds:.0f} s; waiting again"
                )
            self.sleep(2)

    def publish(self, function: str, description: str) -> str:
        try:
            return str(self.client.publish_version(FunctionName=function, Description=description[:256])["Version"])
        except ClientError as error:
            raise _lambda_error(error, function) from None

    def alias_version(self, function: str, alias: str) -> str:
        try:
            return str(self.client.get_alias(FunctionName=function, Name=alias)["FunctionVersion"])
        except ClientError as error:
            raise _lambda_error(error, f"{function}:{alias}") from None

    def route(self, function: str, alias: str, stable: str, canary: str, weight: float) -> None:
        self._alias(function, alias, stable, {canary: round(weight, 4)})

    def promote(self, function: str, alias: str, version: str) -> None:
        self._alias(function, alias, version, {})

    def _alias(self, function: str, alias: str, version: str, weights: dict[str, float]) -> None:
        try:
            self.client.update_alias(
                FunctionName=function,
                Name=alias,
                FunctionVersion=version,
                RoutingConfig={"AdditionalVersionWeights": weights},
            )
        except ClientError as error:
            raise _lambda_error(error, f"{function}:{alias}") from None

    def alarming(self, alarms: list[str]) -> list[str]:
        found = self.cloudwatch.describe_alarms(AlarmNames=alarms).get("MetricAlarms", [])
        return sorted(alarm["AlarmName"] for alarm in found if alarm.get("StateValue") == "ALARM")


def _lambda_error(error: ClientError, what: str) -> Exception:
    code = error_code(error)
    if code == "ResourceNotFoundException":
        return ConfigurationError(
            f"Lambda {what!r} does not exist (a deployment needs the function and its alias to exist)"
        )
    if code in {"TooManyRequestsException", "ResourceConflictException", "ServiceException"}:
        return TransientActionError(f"Lambda {what!r} is busy ({code}); retrying")
    return ConfigurationError(f"Lambda refused the deployment of {what!r}: {code}")
