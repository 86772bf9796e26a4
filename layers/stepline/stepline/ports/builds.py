"""Builds: CodeBuild's API as the CodeBuild action uses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class BuildService(Protocol):
    def start(self, parameters: Mapping[str, object]) -> str:
        """Start a build (CodeBuild's StartBuild parameters); return the build id."""
        ...

    def exported_variables(self, build_id: str) -> dict[str, str]: ...

    def describe(self, build_ids: list[str]) -> list[dict[str, object]]:
        """The builds as BatchGetBuilds describes them (unknown ids left out)."""
        ...
