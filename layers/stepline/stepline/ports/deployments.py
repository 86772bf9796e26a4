"""What deploy and invoke actions act on: ECS services, Lambda functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from stepline.ports.artifacts import ArtifactRef


class ContainerService(Protocol):
    def current_task_definition(self, cluster: str, service: str) -> dict[str, object]:
        """The task definition the service runs now, with its tags."""
        ...

    def register(self, definition: Mapping[str, object]) -> str:
        """Register a task definition revision; return its ARN."""
        ...

    def update(self, cluster: str, service: str, task_definition_arn: str) -> str:
        """Point the service at a revision; return the deployment id that rolls it out."""
        ...

    def deployments(self, cluster: str, service: str) -> list[dict[str, object]]:
        """The service's deployments as DescribeServices gives them (none when it is gone)."""
        ...


class FunctionInvoker(Protocol):
    def invoke(self, function: str, payload: Mapping[str, object]) -> object:
        """Call a function and return its result; a function error raises InvokedFunctionError."""
        ...


class LambdaFunctions(Protocol):
    """What a Lambda deployment does to a function and its alias."""

    def update_code(self, function: str, artifact: ArtifactRef) -> None:
        """Start updating the function's code (wait_updated waits for it to finish)."""
        ...

    def update_image(self, function: str, image_uri: str) -> None: ...

    def wait_updated(self, function: str) -> None:
        """Return once the update finished; TransientActionError when it is still running after
        a while (the state machine's retry waits again), ConfigurationError when it failed."""
        ...

    def publish(self, function: str, description: str) -> str: ...

    def alias_version(self, function: str, alias: str) -> str: ...

    def route(self, function: str, alias: str, stable: str, canary: str, weight: float) -> None:
        """Serve ``weight`` (0–1) of the alias's traffic from ``canary``, the rest from ``stable``."""
        ...

    def promote(self, function: str, alias: str, version: str) -> None:
        """All of the alias's traffic to ``version``."""
        ...

    def alarming(self, alarms: list[str]) -> list[str]:
        """Which of these CloudWatch alarms are in ALARM."""
        ...
