"""ECS as the container service on AWS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError

_THROTTLING = {"ThrottlingException", "ServerException", "ServiceUnavailableException"}


class EcsService:
    def __init__(self, client: Any) -> None:
        self.client = client

    def current_task_definition(self, cluster: str, service: str) -> dict[str, object]:
        try:
            described = self.client.describe_services(cluster=cluster, services=[service])
            services = [s for s in described.get("services", []) if s.get("status") != "INACTIVE"]
            if not services:
                raise ConfigurationError(f"ECS service {service!r} does not exist in cluster {cluster!r}")
            arn = services[0]["taskDefinition"]
            found = self.client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        except ClientError as error:
            raise _ecs_error(error, cluster, service) from None
        definition: dict[str, object] = dict(found["taskDefinition"])
        if found.get("tags"):
            definition["tags"] = found["tags"]
        return definition

    def register(self, definition: Mapping[str, object]) -> str:
        try:
            return str(self.client.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"])
        except ClientError as error:
            raise _ecs_error(error, "", str(definition.get("family"))) from None

    def update(self, cluster: str, service: str, task_definition_arn: str) -> str:
        """UpdateService to the revision. A service without the deployment circuit breaker gets
        it (with rollback), its other deployment settings kept: without it ECS never reports a
        failed deployment, and the task would wait for its whole timeout."""
        parameters: dict[str, Any] = {"cluster": cluster, "service": service, "taskDefinition": task_definition_arn}
        try:
            described = self.client.describe_services(cluster=cluster, services=[service]).get("services", [])
            configuration = dict(described[0].get("deploymentConfiguration") or {}) if described else {}
            breaker = configuration.get("deploymentCircuitBreaker") or {}
            controller = (described[0].get("deploymentController") or {}).get("type", "ECS") if described else "ECS"
            if controller == "ECS" and not breaker.get("enable"):
                configuration["deploymentCircuitBreaker"] = {"enable": True, "rollback": True}
                parameters["deploymentConfiguration"] = configuration
            updated = self.client.update_service(**parameters)
        except ClientError as error:
            raise _ecs_error(error, cluster, service) from None
        deployments = updated["service"].get("deployments", [])
        primary = next(
            (d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else None
        )
        if primary is None:
            raise ConfigurationError(f"ECS service {service!r} reported no deployment after the update")
        return str(primary["id"])

    def deployments(self, cluster: str, service: str) -> list[dict[str, object]]:
        try:
            described = self.client.describe_services(cluster=cluster, services=[service])
        except ClientError as error:
            raise _ecs_error(error, cluster, service) from None
        services = [s for s in described.get("services", []) if s.get("status") != "INACTIVE"]
        found: list[dict[str, object]] = services[0].get("deployments", []) if services else []
        return found


def _ecs_error(error: ClientError, cluster: str, service: str) -> Exception:
    code = error_code(error)
    if code == "ClusterNotFoundException":
        return ConfigurationError(f"ECS cluster {cluster!r} does not exist")
    if code in {"ServiceNotFoundException", "ServiceNotActiveException"}:
        return ConfigurationError(f"ECS service {service!r} does not exist or is not active in cluster {cluster!r}")
    if code in _THROTTLING:
        return TransientActionError(f"ECS answered {code}; retrying")
    return ConfigurationError(f"ECS refused the deployment of {service!r}: {code}: {error}")
