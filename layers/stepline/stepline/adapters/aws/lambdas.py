"""Lambda code, versions and aliases, and CloudWatch alarms, for Lambda deployments on AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from botocore.exceptions import ClientError, WaiterError

from stepline.actions.errors import ConfigurationError, TransientActionError
from stepline.adapters.aws import error_code
from stepline.ports import ArtifactRef


class AwsLambdaFunctions:
    def __init__(self, lambda_client: Any, cloudwatch: Any) -> None:
        self.client = lambda_client
        self.cloudwatch = cloudwatch

    def update_code(self, function: str, artifact: ArtifactRef) -> None:
        location = artifact.get("location", "")
        try:
            if artifact.get("type") == "S3":
                bucket, _, key = location.removeprefix("s3://").partition("/")
                self.client.update_function_code(FunctionName=function, S3Bucket=bucket, S3Key=key)
            else:
                path = Path(unquote(urlparse(location).path))
                self.client.update_function_code(FunctionName=function, ZipFile=path.read_bytes())
            # The code update finishes asynchronously; publishing before it does publishes the old code.
            self.client.get_waiter("function_updated").wait(
                FunctionName=function, WaiterConfig={"Delay": 2, "MaxAttempts": 150}
            )
        except ClientError as error:
            raise _lambda_error(error, function) from None
        except WaiterError as error:
            raise TransientActionError(f"the code update of {function!r} did not finish: {error}") from None

    def update_image(self, function: str, image_uri: str) -> None:
        try:
            self.client.update_function_code(FunctionName=function, ImageUri=image_uri)
            self.client.get_waiter("function_updated").wait(
                FunctionName=function, WaiterConfig={"Delay": 2, "MaxAttempts": 150}
            )
        except ClientError as error:
            raise _lambda_error(error, function) from None
        except WaiterError as error:
            raise TransientActionError(f"the image update of {function!r} did not finish: {error}") from None

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
