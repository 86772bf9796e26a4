"""The resources a pipeline names, read for `stepline deploy`'s checks; IAM's policy simulation
says what their roles may do."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stepline.adapters.aws import error_code
from stepline.ports.targets import Target, TargetCheckUnavailable

_MISSING = {
    "ResourceNotFoundException",
    "StateMachineDoesNotExist",
    "InvalidArn",
    "RepositoryDoesNotExistException",
    "ClusterNotFoundException",
}


class AwsTargets:
    def __init__(self, clients: Any) -> None:
        """``clients(service)`` gives the boto3 client of a service."""
        self.clients = clients

    def build_project(self, name: str) -> Target | None:
        found = self._call("codebuild", "batch_get_projects", names=[name]).get("projects", [])
        if not found:
            return None
        project = found[0]
        return Target(project["arn"], project.get("serviceRole"), _tags(project.get("tags"), "key", "value"))

    def function(self, name: str) -> Target | None:
        found = self._call("lambda", "get_function", FunctionName=name)
        if found is None:
            return None
        configuration = found["Configuration"]
        return Target(configuration["FunctionArn"], configuration.get("Role"), dict(found.get("Tags") or {}))

    def state_machine(self, arn: str) -> Target | None:
        found = self._call("stepfunctions", "list_tags_for_resource", resourceArn=arn)
        if found is None:
            return None
        return Target(arn, None, _tags(found.get("tags"), "key", "value"))

    def service(self, cluster: str, service: str) -> Target | None:
        found = self._call("ecs", "describe_services", cluster=cluster, services=[service], include=["TAGS"])
        services = [s for s in (found or {}).get("services", []) if s.get("status") != "INACTIVE"]
        if not services:
            return None
        return Target(services[0]["serviceArn"], None, _tags(services[0].get("tags"), "key", "value"))

    def repository(self, name: str) -> Target | None:
        found = self._call("codecommit", "get_repository", repositoryName=name)
        if found is None:
            return None
        arn = found["repositoryMetadata"]["Arn"]
        tags = self._call("codecommit", "list_tags_for_resource", resourceArn=arn) or {}
        return Target(arn, None, dict(tags.get("tags") or {}))

    def denied(self, role_arn: str, actions: list[str], resource_arn: str) -> list[str]:
        found = self._call(
            "iam",
            "simulate_principal_policy",
            PolicySourceArn=role_arn,
            ActionNames=actions,
            ResourceArns=[resource_arn],
        )
        if found is None:
            raise TargetCheckUnavailable(f"IAM cannot simulate the policies of {role_arn}: it does not exist")
        return [
            result["EvalActionName"] for result in found["EvaluationResults"] if result["EvalDecision"] != "allowed"
        ]

    def _call(self, service: str, operation: str, **parameters: Any) -> Any:
        try:
            return getattr(self.clients(service), operation)(**parameters)
        except ClientError as error:
            code = error_code(error)
            if code in _MISSING or code == "NoSuchEntity":
                return None
            raise TargetCheckUnavailable(f"{service} {operation}: {code}") from None
        except BotoCoreError as error:
            raise TargetCheckUnavailable(f"{service} {operation}: {error}") from None


def _tags(entries: Any, key: str, value: str) -> dict[str, str]:
    return {str(entry[key]): str(entry.get(value, "")) for entry in entries or []}
