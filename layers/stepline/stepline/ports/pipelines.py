"""Pipelines registered with a runtime: which state machine runs each, and its declaration,
so a push can be matched against the pipeline's source actions and trigger filters."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from stepline.compiler import compile_checked
from stepline.compiler.asl import ActionState
from stepline.definition.models import PipelineDeclaration


class RegisteredPipeline(BaseModel):
    model_config = ConfigDict(frozen=True, ignored_types=(cached_property,))

    name: str
    state_machine_arn: str
    declaration: dict[str, Any]  # CodePipeline's JSON (camelCase), as `stepline deploy` read it
    registered_at: float
    # Opt-in: each execution's state is reported on the commit it builds (stepline.triggers.reporting).
    report_status: bool = False
    # On one machine, the local repository of each CodeCommit, connection or GitHub source
    # (repository name → path), given to `stepline apply --source`: what pushes to that path
    # start and what the source fetches. Empty on AWS, where the repositories are the services'.
    sources: dict[str, str] = {}

    @cached_property
    def pipeline(self) -> PipelineDeclaration:
        return PipelineDeclaration.model_validate(self.declaration)

    @cached_property
    def actions(self) -> tuple[ActionState, ...]:
        """Which Task state runs which action: compiled once per entry, read on every poll."""
        return compile_checked(self.pipeline).actions


class Registry(Protocol):
    """The pipelines a runtime knows: DynamoDB on AWS, SQLite on one machine."""

    def put(self, entry: RegisteredPipeline) -> None:
        """Register the pipeline, or replace its entry."""
        ...

    def get(self, name: str) -> RegisteredPipeline | None: ...

    def all(self) -> list[RegisteredPipeline]: ...

    def delete(self, name: str) -> None:
        """Forget the pipeline (nothing happens when it is not registered)."""
        ...


class PipelineHost(Protocol):
    """What registers pipelines on a running server: `stepline serve`'s engine (on AWS,
    `stepline deploy` does this from the user's machine instead)."""

    def apply(
        self, pipeline: PipelineDeclaration, report_status: bool = False, sources: dict[str, str] | None = None
    ) -> RegisteredPipeline: ...
