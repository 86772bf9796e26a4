"""Actions of installed plugins (``definition.plugins``): run in this process with the
action's input artifacts unpacked, its outputs packed and stored after it returns."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from stepline.actions.request import ActionRequest, action_result
from stepline.definition.plugins import PluginRun, find_plugin
from stepline.errors import ConfigurationError
from stepline.files import segment
from stepline.ports.artifacts import ArtifactStore, get_into, put_directory


def run_plugin(request: ActionRequest, store: ArtifactStore) -> dict[str, Any]:
    type_id = request.action.action_type_id
    plugin = find_plugin(type_id.category.value, type_id.provider)
    if plugin is None:
        raise ConfigurationError(
            f"no installed package provides {type_id}: install the one with that stepline.actions entry point here"
        )
    with tempfile.TemporaryDirectory(prefix="stepline-plugin-") as scratch:
        inputs = {}
        for artifact in request.action.input_artifacts:
            reference = request.artifacts.get(artifact.name)
            if reference is None:
                raise ConfigurationError(f"the input artifact {artifact.name} was not produced by an earlier action")
            inputs[artifact.name] = Path(scratch) / "in" / segment(artifact.name)
            get_into(store, reference, inputs[artifact.name])
        outputs = {a.name: Path(scratch) / "out" / segment(a.name) for a in request.action.output_artifacts}
        for folder in outputs.values():
            folder.mkdir(parents=True)
        variables = plugin.run(
            PluginRun(
                pipeline=request.pipeline,
                stage=request.stage,
                action=request.action.name,
                execution_id=request.execution.name,
                configuration=request.configuration(),
                inputs=inputs,
                outputs=outputs,
                variables=request.variables,
            )
        )
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            raise ConfigurationError(f"the plugin for {type_id} returned {type(variables).__name__}, not variables")
        stored = {
            name: put_directory(store, request.pipeline, request.execution.name, name, folder)
            for name, folder in outputs.items()
        }
    return action_result(stored, {str(k): v for k, v in variables.items()})
