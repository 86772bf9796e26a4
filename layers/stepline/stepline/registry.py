"""The names Stepline gives the state machines of registered pipelines (the registry itself is a
port: stepline.ports.pipelines)."""

from __future__ import annotations

import hashlib
import re

STATE_MACHINE_PREFIX = "stepline-"
_MAX_STATE_MACHINE_NAME = 80


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
