"""What `stepline deploy` reads about the resources a pipeline names, before creating anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Target:
    """A resource a pipeline acts on, as `stepline deploy` finds it before creating anything."""

    arn: str
    role: str | None = None  # the role it runs under (a build project's, a function's)
    tags: Mapping[str, str] = field(default_factory=dict)


class TargetCheckUnavailable(Exception):
    """A target could not be read (access denied, throttled): the check is skipped, with a warning."""


class Targets(Protocol):
    """What `stepline deploy` reads about the resources a pipeline names (None: it does not exist)."""

    def build_project(self, name: str) -> Target | None: ...

    def function(self, name: str) -> Target | None: ...

    def state_machine(self, arn: str) -> Target | None: ...

    def service(self, cluster: str, service: str) -> Target | None: ...

    def repository(self, name: str) -> Target | None: ...

    def denied(self, role_arn: str, actions: list[str], resource_arn: str) -> list[str]:
        """Which of the actions IAM's policy simulation denies the role on the resource."""
        ...
