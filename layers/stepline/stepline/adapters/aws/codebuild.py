"""CodeBuild as the build service on AWS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError


class CodeBuildService:
    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, parameters: Mapping[str, object]) -> str:
        try:
            build = self.client.start_build(**parameters)["build"]
        except ClientError as error:
            code = error_code(error)
            if code in {"ThrottlingException", "AccountLimitExceededException", "ServiceUnavailable"}:
                raise TransientActionError(f"CodeBuild could not start a build now: {code}") from None
            if code == "ResourceNotFoundException":
                raise ConfigurationError(
                    f"CodeBuild project {parameters.get('projectName')!r} does not exist"
                ) from None
            raise ConfigurationError(f"CodeBuild refused the build: {code}: {error}") from None
        return str(build["id"])

    def exported_variables(self, build_id: str) -> dict[str, str]:
        builds = self.describe([build_id])
        if not builds:
            return {}
        exported: Any = builds[0].get("exportedEnvironmentVariables", [])
        return {item["name"]: item.get("value", "") for item in exported}

    def describe(self, build_ids: list[str]) -> list[dict[str, object]]:
        try:
            found: list[dict[str, object]] = self.client.batch_get_builds(ids=build_ids).get("builds", [])
        except ClientError as error:
            if error_code(error) in {"ThrottlingException", "ServiceUnavailable"}:
                raise TransientActionError(f"CodeBuild could not describe builds now: {error_code(error)}") from None
            raise
        return found
