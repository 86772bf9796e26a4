"""Elastic Beanstalk as the Environments port (Deploy/AWS/ElasticBeanstalk)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError

_THROTTLING = {"Throttling", "ThrottlingException", "ServiceUnavailable"}


class BeanstalkEnvironments:
    def __init__(self, client: Any) -> None:
        self.client = client

    def storage_bucket(self) -> str:
        try:
            return str(self.client.create_storage_location()["S3Bucket"])
        except ClientError as error:
            raise _error(error, "the account's storage location") from None

    def create_version(self, application: str, label: str, bucket: str, key: str, description: str) -> None:
        try:
            self.client.create_application_version(
                ApplicationName=application,
                VersionLabel=label,
                Description=description[:200],
                SourceBundle={"S3Bucket": bucket, "S3Key": key},
                Process=True,
            )
        except ClientError as error:
            if error_code(error) == "InvalidParameterValue" and "already exists" in str(error):
                return  # a retried attempt made it already
            raise _error(error, f"application {application!r}") from None

    def update(self, environment: str, application: str, label: str) -> None:
        try:
            self.client.update_environment(ApplicationName=application, EnvironmentName=environment, VersionLabel=label)
        except ClientError as error:
            raise _error(error, f"environment {environment!r}") from None

    def environment(self, environment: str, application: str) -> dict[str, object] | None:
        try:
            found = self.client.describe_environments(
                ApplicationName=application, EnvironmentNames=[environment], IncludeDeleted=False
            ).get("Environments", [])
        except ClientError as error:
            raise _error(error, f"environment {environment!r}") from None
        live = [e for e in found if e.get("Status") not in {"Terminated", "Terminating"}]
        return dict(live[0]) if live else None

    def error_events(self, environment: str, application: str) -> list[str]:
        try:
            found = self.client.describe_events(
                ApplicationName=application, EnvironmentName=environment, Severity="ERROR", MaxRecords=10
            ).get("Events", [])
        except ClientError:
            return []  # the reason is a courtesy: the failure stands without it
        return [str(event.get("Message", "")) for event in found if event.get("Message")]


def _error(error: ClientError, what: str) -> Exception:
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", str(error))
    if code in _THROTTLING:
        return TransientActionError(f"Elastic Beanstalk answered {code}; retrying")
    return ConfigurationError(f"Elastic Beanstalk refused the request for {what}: {code}: {message}")
