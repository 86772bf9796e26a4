"""CloudFormation as the Stacks port (Deploy/AWS/CloudFormation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from stepline.actions.errors import TransientActionError
from stepline.adapters.aws import error_code
from stepline.errors import ConfigurationError

_THROTTLING = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable"}
# Pages of DescribeStackEvents read for a failure's reason (100 events each): an operation's
# first failure is among its newest events.
_EVENT_PAGES = 5


class CloudFormationStacks:
    def __init__(self, client: Any) -> None:
        self.client = client

    def describe(self, stack: str) -> dict[str, object] | None:
        try:
            found = self.client.describe_stacks(StackName=stack).get("Stacks", [])
        except ClientError as error:
            if error_code(error) == "ValidationError" and "does not exist" in str(error):
                return None
            raise _stack_error(error, stack) from None
        return dict(found[0]) if found else None

    def create(self, parameters: Mapping[str, object]) -> str:
        try:
            return str(self.client.create_stack(**parameters)["StackId"])
        except ClientError as error:
            raise _stack_error(error, str(parameters.get("StackName"))) from None

    def update(self, parameters: Mapping[str, object]) -> bool:
        try:
            self.client.update_stack(**parameters)
        except ClientError as error:
            if error_code(error) == "ValidationError" and "No updates are to be performed" in str(error):
                return False
            raise _stack_error(error, str(parameters.get("StackName"))) from None
        return True

    def delete(self, stack: str, role_arn: str | None, token: str) -> None:
        parameters: dict[str, Any] = {"StackName": stack, "ClientRequestToken": token}
        if role_arn:
            parameters["RoleARN"] = role_arn
        try:
            self.client.delete_stack(**parameters)
        except ClientError as error:
            raise _stack_error(error, stack) from None

    def wait_deleted(self, stack: str, seconds: float) -> bool:
        delay = 5
        waiter = self.client.get_waiter("stack_delete_complete")
        try:
            waiter.wait(StackName=stack, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(seconds // delay))})
        except WaiterError as error:
            last: dict[str, Any] = dict(error.last_response or {})
            stacks = last.get("Stacks") or [{}]
            if stacks[0].get("StackStatus") == "DELETE_FAILED":
                raise ConfigurationError(f"stack {stack} could not be deleted (DELETE_FAILED)") from None
            return False
        return True

    def create_change_set(self, parameters: Mapping[str, object]) -> str:
        try:
            return str(self.client.create_change_set(**parameters)["Id"])
        except ClientError as error:
            raise _stack_error(error, str(parameters.get("StackName"))) from None

    def describe_change_set(self, stack: str, name: str) -> dict[str, object] | None:
        try:
            return dict(self.client.describe_change_set(StackName=stack, ChangeSetName=name))
        except ClientError as error:
            if error_code(error) in {"ChangeSetNotFound", "ChangeSetNotFoundException", "ValidationError"}:
                return None
            raise _stack_error(error, stack) from None

    def delete_change_set(self, stack: str, name: str) -> None:
        try:
            self.client.delete_change_set(StackName=stack, ChangeSetName=name)
        except ClientError as error:
            if error_code(error) in {"ChangeSetNotFound", "ChangeSetNotFoundException"}:
                return
            raise _stack_error(error, stack) from None

    def execute_change_set(self, stack: str, name: str, token: str) -> None:
        try:
            self.client.execute_change_set(StackName=stack, ChangeSetName=name, ClientRequestToken=token)
        except ClientError as error:
            raise _stack_error(error, stack) from None

    def events(self, stack: str) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        parameters: dict[str, Any] = {"StackName": stack}
        try:
            for _ in range(_EVENT_PAGES):
                page = self.client.describe_stack_events(**parameters)
                found += page.get("StackEvents", [])
                if not page.get("NextToken"):
                    break
                parameters["NextToken"] = page["NextToken"]
        except ClientError as error:
            if error_code(error) == "AccessDenied":
                return found  # CodePipeline too gives a generic message without DescribeStackEvents
            raise _stack_error(error, stack) from None
        return found

    def describe_stack_set(self, name: str) -> dict[str, object] | None:
        try:
            return dict(self.client.describe_stack_set(StackSetName=name)["StackSet"])
        except ClientError as error:
            if error_code(error) in {"StackSetNotFoundException", "StackSetNotFound"}:
                return None
            raise _stack_error(error, name) from None

    def stack_set_call(self, operation: str, parameters: Mapping[str, object]) -> str:
        calls = {
            "CreateStackSet": (self.client.create_stack_set, "StackSetId"),
            "UpdateStackSet": (self.client.update_stack_set, "OperationId"),
            "CreateStackInstances": (self.client.create_stack_instances, "OperationId"),
            "UpdateStackInstances": (self.client.update_stack_instances, "OperationId"),
        }
        call, answer = calls[operation]
        try:
            return str(call(**parameters)[answer])
        except ClientError as error:
            raise _stack_error(error, f"set {parameters.get('StackSetName')}") from None

    def stack_instances(self, name: str) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        try:
            for page in self.client.get_paginator("list_stack_instances").paginate(StackSetName=name):
                found += page.get("Summaries", [])
        except ClientError as error:
            raise _stack_error(error, f"set {name}") from None
        return found

    def stack_set_operation(self, name: str, operation_id: str) -> dict[str, object]:
        try:
            answer = self.client.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)
        except ClientError as error:
            raise _stack_error(error, f"set {name}") from None
        return dict(answer["StackSetOperation"])

    def stack_set_failures(self, name: str, operation_id: str) -> list[dict[str, object]]:
        try:
            answer = self.client.list_stack_set_operation_results(StackSetName=name, OperationId=operation_id)
        except ClientError as error:
            raise _stack_error(error, f"set {name}") from None
        return [r for r in answer.get("Summaries", []) if r.get("Status") != "SUCCEEDED"]


def _stack_error(error: ClientError, stack: str) -> Exception:
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", str(error))
    if code in _THROTTLING:
        return TransientActionError(f"CloudFormation answered {code}; retrying")
    if code == "InsufficientCapabilitiesException":
        return ConfigurationError(f"stack {stack}: {message} (add them to the action's Capabilities)")
    return ConfigurationError(f"CloudFormation refused the request for stack {stack}: {code}: {message}")
