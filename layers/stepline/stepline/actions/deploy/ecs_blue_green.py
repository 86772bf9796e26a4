"""The revision of a CodeDeployToECS (ECS blue/green) action, made as CodePipeline makes it.

The task definition template (``TaskDefinitionTemplatePath``, default ``taskdef.json``, in
``TaskDefinitionTemplateArtifact``) has ``<IMAGE1_NAME>``-style placeholders: each
``Image<N>ContainerName`` (default ``IMAGE<N>_NAME``) is replaced by the ``ImageURI`` of the
``imageDetail.json`` in ``Image<N>ArtifactName``. The result is registered as a new revision of
the task definition, and its ARN replaces ``<TASK_DEFINITION>`` in the AppSpec template
(``AppSpecTemplatePath``, default ``appspec.yaml``, in ``AppSpecTemplateArtifact``), which goes
to CreateDeployment as the revision's content.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from stepline.actions.artifacts import fetch_into
from stepline.actions.deploy.ecs import READ_ONLY
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
from stepline.errors import ConfigurationError
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.deployments import ContainerService

# CodePipeline's limit on the input artifacts of an ECS blue/green action.
MAX_FILE_BYTES = 3 * 1024 * 1024
TASK_DEFINITION_PLACEHOLDER = "<TASK_DEFINITION>"
_LEFT_OVER = re.compile(r"<[A-Z0-9_]+>")


def blue_green_revision(
    request: ActionRequest,
    store: ArtifactStore,
    ecs: ContainerService,
    configuration: dict[str, str],
    label: str,
) -> dict[str, object]:
    """Register the filled-in task definition; return the AppSpecContent revision naming it."""
    with tempfile.TemporaryDirectory(prefix="stepline-bluegreen-") as scratch:
        files = _Files(request, store, Path(scratch), label)
        taskdef_file = (
            configuration["TaskDefinitionTemplateArtifact"],
            configuration.get("TaskDefinitionTemplatePath") or "taskdef.json",
        )
        appspec_file = (
            configuration["AppSpecTemplateArtifact"],
            configuration.get("AppSpecTemplatePath") or "appspec.yaml",
        )
        taskdef = files.text(*taskdef_file)
        for number in range(1, 5):
            artifact = configuration.get(f"Image{number}ArtifactName")
            if not artifact:
                continue
            placeholder = configuration.get(f"Image{number}ContainerName") or f"IMAGE{number}_NAME"
            if f"<{placeholder}>" not in taskdef:
                raise ArtifactError(f"{label}: {taskdef_file[1]} has no <{placeholder}> placeholder for Image{number}")
            taskdef = taskdef.replace(f"<{placeholder}>", _image_uri(files, artifact, label))
        appspec = files.text(*appspec_file)
    definition = _task_definition(taskdef, taskdef_file[1], label)
    if TASK_DEFINITION_PLACEHOLDER not in appspec:
        raise ArtifactError(f"{label}: {appspec_file[1]} has no {TASK_DEFINITION_PLACEHOLDER} placeholder")
    arn = ecs.register(definition)
    content = appspec.replace(TASK_DEFINITION_PLACEHOLDER, arn)
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }


class _Files:
    """Files of input artifacts, each artifact unpacked once."""

    def __init__(self, request: ActionRequest, store: ArtifactStore, scratch: Path, label: str) -> None:
        self.request, self.store, self.scratch, self.label = request, store, scratch, label
        self.inputs = [artifact.name for artifact in request.action.input_artifacts]
        self.folders: dict[str, Path] = {}

    def text(self, artifact: str, path: str) -> str:
        if artifact not in self.inputs:
            raise ConfigurationError(f"{self.label}: artifact {artifact!r} is not an input of this action")
        if artifact not in self.folders:
            folder = self.scratch / str(len(self.folders))
            folder.mkdir()
            fetch_into(self.request, self.store, artifact, folder, self.label)
            self.folders[artifact] = folder
        folder = self.folders[artifact]
        found = (folder / path).resolve()
        if folder.resolve() not in found.parents or not found.is_file():
            raise ArtifactError(f"{self.label}: {path} is not in artifact {artifact!r}")
        if found.stat().st_size > MAX_FILE_BYTES:
            raise ArtifactError(f"{self.label}: {path} in {artifact!r} is larger than CodePipeline's 3 MB")
        try:
            return found.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ArtifactError(f"{self.label}: {path} in {artifact!r} is not UTF-8 text") from None


def _image_uri(files: _Files, artifact: str, label: str) -> str:
    """``ImageURI`` of the imageDetail.json an image artifact holds (an ECR source's, or a build's)."""
    text = files.text(artifact, "imageDetail.json")
    try:
        detail = json.loads(text)
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{label}: imageDetail.json in {artifact!r} is not valid JSON ({error.msg})") from None
    uri = detail.get("ImageURI") if isinstance(detail, dict) else None
    if not isinstance(uri, str) or not uri:
        raise ArtifactError(f'{label}: imageDetail.json in {artifact!r} must be {{"ImageURI": "…"}}')
    return uri


def _task_definition(text: str, path: str, label: str) -> dict[str, Any]:
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}: {error.msg}"
        raise ArtifactError(f"{label}: {path} is not valid JSON once its images are filled in ({where})") from None
    if not isinstance(definition, dict) or not definition.get("family"):
        raise ArtifactError(f"{label}: {path} must be a task definition object with a family")
    left = sorted(set(_LEFT_OVER.findall(text)))
    if left:
        raise ArtifactError(f"{label}: {path} still has {', '.join(left)}: name an image artifact for each")
    return {key: value for key, value in definition.items() if key not in READ_ONLY}
