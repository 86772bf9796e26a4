"""Source actions: fetch exactly the commit (or object) to build, store it as the output artifact,
and return the output variables CodePipeline documents for the provider."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from stepline.actions.request import ActionRequest, action_result
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.sources import SourceProvider, SourceRequest


def run_source_action(request: ActionRequest, provider: SourceProvider, store: ArtifactStore) -> dict[str, Any]:
    outputs = request.action.output_artifacts
    if len(outputs) != 1:
        raise ConfigurationError(
            f"{request.stage}.{request.action.name}: a source action has exactly one output artifact"
        )
    source = SourceRequest(
        request.action.action_type_id.provider, request.configuration(), request.revision(), request.pipeline
    )
    with tempfile.TemporaryDirectory(prefix="stepline-source-") as scratch:
        archive = Path(scratch) / "source.zip"
        variables = provider.fetch(source, archive)
        reference = store.put(request.pipeline, request.execution.name, outputs[0].name, archive)
    return action_result({outputs[0].name: reference}, variables)
