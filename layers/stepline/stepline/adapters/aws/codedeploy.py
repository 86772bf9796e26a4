"""CodeDeploy as the CodeDeployments port (Deploy/AWS/CodeDeploy and CodeDeployToECS)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError

_THROTTLING = {"ThrottlingException", "Throttling", "ServiceUnavailable"}
# BatchGetDeployments takes at most 25 ids a call.
_BATCH = 25


class CodeDeployService:
    def __init__(self, client: Any) -> None:
        self.client = client

    def create(self, parameters: Mapping[str, object]) -> str:
        try:
            return str(self.client.create_deployment(**parameters)["deploymentId"])
        except ClientError as error:
            raise _deployment_error(error, parameters) from None

    def describe(self, deployment_ids: list[str]) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        for start in range(0, len(deployment_ids), _BATCH):
            try:
                answer = self.client.batch_get_deployments(deploymentIds=deployment_ids[start : start + _BATCH])
            except ClientError as error:
                raise _deployment_error(error, {}) from None
            found += answer.get("deploymentsInfo", [])
        return found


def _deployment_error(error: ClientError, parameters: Mapping[str, object]) -> Exception:
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", str(error))
    where = f"{parameters.get('applicationName', '')}/{parameters.get('deploymentGroupName', '')}".strip("/")
    if code in _THROTTLING:
        return TransientActionError(f"CodeDeploy answered {code}; retrying")
    if code == "DeploymentLimitExceededException":
        return TransientActionError(f"CodeDeploy: {message} (another deployment to {where} is under way); retrying")
    return ConfigurationError(f"CodeDeploy refused the deployment to {where or 'it'}: {code}: {message}")
