"""Ports of the deploy providers that act on an AWS account (CloudFormation, S3); adapters/aws
implements them, on AWS and, with credentials or an emulator, on one machine.

Parameters and answers keep the service's own shapes (CreateStack's parameters, DescribeStacks'
stack), as the ECS port does: the actions decide what to send, the adapters only send it and
turn the service's errors into Stepline's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class Stacks(Protocol):
    """CloudFormation stacks and change sets."""

    def describe(self, stack: str) -> dict[str, object] | None:
        """The stack as DescribeStacks gives it (by name or id); None when there is none."""
        ...

    def create(self, parameters: Mapping[str, object]) -> str:
        """CreateStack; the stack's id."""
        ...

    def update(self, parameters: Mapping[str, object]) -> bool:
        """UpdateStack; False when CloudFormation says there is nothing to update."""
        ...

    def delete(self, stack: str, role_arn: str | None, token: str) -> None: ...

    def wait_deleted(self, stack: str, seconds: float) -> bool:
        """Wait until the stack is deleted (True), or ``seconds`` passed (False)."""
        ...

    def create_change_set(self, parameters: Mapping[str, object]) -> str:
        """CreateChangeSet; the change set's id."""
        ...

    def describe_change_set(self, stack: str, name: str) -> dict[str, object] | None: ...

    def delete_change_set(self, stack: str, name: str) -> None: ...

    def execute_change_set(self, stack: str, name: str, token: str) -> None: ...

    def events(self, stack: str) -> list[dict[str, object]]:
        """The stack's events, newest first, as DescribeStackEvents gives them (a few pages)."""
        ...

    # Stack sets (Deploy/AWS/CloudFormationStackSet and CloudFormationStackInstances).

    def describe_stack_set(self, name: str) -> dict[str, object] | None: ...

    def stack_set_call(self, operation: str, parameters: Mapping[str, object]) -> str:
        """CreateStackSet, UpdateStackSet, CreateStackInstances or UpdateStackInstances (by
        name); the operation's id (the stack set's id for CreateStackSet)."""
        ...

    def stack_instances(self, name: str) -> list[dict[str, object]]:
        """The stack set's instances (Account, Region, Status) as ListStackInstances gives them."""
        ...

    def stack_set_operation(self, name: str, operation_id: str) -> dict[str, object]:
        """DescribeStackSetOperation's StackSetOperation."""
        ...

    def stack_set_failures(self, name: str, operation_id: str) -> list[dict[str, object]]:
        """The operation's results that did not succeed (ListStackSetOperationResults)."""
        ...


class Buckets(Protocol):
    """Objects written to a user's S3 bucket (Deploy/AWS/S3)."""

    def put_file(self, bucket: str, key: str, file: Path, extra: Mapping[str, str]) -> None:
        """PutObject of a file with extra arguments (ContentType, ACL, CacheControl, SSE…)."""
        ...


class CodeDeployments(Protocol):
    """CodeDeploy deployments (Deploy/AWS/CodeDeploy and CodeDeployToECS)."""

    def create(self, parameters: Mapping[str, object]) -> str:
        """CreateDeployment; the deployment's id."""
        ...

    def describe(self, deployment_ids: list[str]) -> list[dict[str, object]]:
        """The deployments as BatchGetDeployments gives them (deploymentInfo; unknown ids left out)."""
        ...


class Images(Protocol):
    """Container images in ECR (Source/AWS/ECR)."""

    def describe(self, repository: str, tag: str, digest: str | None = None) -> dict[str, object] | None:
        """The image the tag points at (or the one of ``digest``, a push's), as DescribeImages
        gives it, plus ``imageUri`` (pinned by digest); None when there is no such image."""
        ...


class Environments(Protocol):
    """Elastic Beanstalk applications and environments (Deploy/AWS/ElasticBeanstalk)."""

    def storage_bucket(self) -> str:
        """The account's Elastic Beanstalk bucket (CreateStorageLocation), where bundles go."""
        ...

    def create_version(self, application: str, label: str, bucket: str, key: str, description: str) -> None:
        """CreateApplicationVersion; a label that exists already is taken as this one (a retry)."""
        ...

    def update(self, environment: str, application: str, label: str) -> None:
        """UpdateEnvironment to the application version."""
        ...

    def environment(self, environment: str, application: str) -> dict[str, object] | None:
        """The environment as DescribeEnvironments gives it; None when it does not exist (or terminated)."""
        ...

    def error_events(self, environment: str, application: str) -> list[str]:
        """The environment's recent ERROR events' messages, newest first (DescribeEvents)."""
        ...
