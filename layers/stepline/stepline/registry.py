"""Pipelines registered with a runtime: which state machine runs each, and its declaration,
so a push can be matched against the pipeline's source actions and trigger filters."""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from stepline.compiler import compile_checked
from stepline.compiler.asl import ActionState
from stepline.definition.models import PipelineDeclaration

STATE_MACHINE_PREFIX = "stepline-"
_MAX_STATE_MACHINE_NAME = 80


class RegisteredPipeline(BaseModel):
    model_config = ConfigDict(frozen=True, ignored_types=(cached_property,))

    name: str
    state_machine_arn: str
    declaration: dict[str, Any]  # CodePipeline's JSON (camelCase), as `stepline deploy` read it
    registered_at: float

    @cached_property
    def pipeline(self) -> PipelineDeclaration:
        return PipelineDeclaration.model_validate(self.declaration)

    @cached_property
    def actions(self) -> tuple[ActionState, ...]:
        """Which Task state runs which action: compiled once per entry, read on every poll."""
        return compile_checked(self.pipeline).actions


def state_machine_name(pipeline: str) -> str:
    """Step Functions' name for a pipeline's state machine: ``stepline-`` and the pipeline name,
    with the characters Step Functions refuses (CodePipeline allows ``.`` and ``@``) replaced and,
    past 80 characters, a hash keeping distinct pipelines distinct. The prefix lets IAM policies
    name exactly Stepline's state machines."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", pipeline)
    name = STATE_MACHINE_PREFIX + cleaned
    if cleaned != pipeline or len(name) > _MAX_STATE_MACHINE_NAME:
        digest = hashlib.sha256(pipeline.encode()).hexdigest()[:8]
        name = f"{name[: _MAX_STATE_MACHINE_NAME - 9]}-{digest}"
    return name
