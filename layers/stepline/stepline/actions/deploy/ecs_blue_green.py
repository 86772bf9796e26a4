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
from typing import Any

from stepline.actions.artifacts import InputFiles, input_files
from stepline.actions.deploy.ecs import READ_ONLY
from stepline.actions.errors import ArtifactError
from stepline.actions.request import ActionRequest
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
    with input_files(request, store, label) as files:
        taskdef_file = (
            configuration["TaskDefinitionTemplateArtifact"],
            configuration.get("TaskDefinitionTemplatePath") or "taskdef.json",
        )
        appspec_file = (
            configuration["AppSpecTemplateArtifact"],
            configuration.get("AppSpecTemplatePath") or "appspec.yaml",
        )
        taskdef = files.text(*taskdef_file, "TaskDefinitionTemplatePath", MAX_FILE_BYTES)
        for number in range(1, 5):
            artifact = configuration.get(f"Image{number}ArtifactName")
            if not artifact:
                continue
            placeholder = configuration.get(f"Image{number}ContainerName") or f"IMAGE{number}_NAME"
            if f"<{placeholder}>" not in taskdef:
                raise ArtifactError(f"{label}: {taskdef_file[1]} has no <{placeholder}> placeholder for Image{number}")
            taskdef = taskdef.replace(f"<{placeholder}>", _image_uri(files, artifact, label))
        appspec = files.text(*appspec_file, "AppSpecTemplatePath", MAX_FILE_BYTES)
    definition = _task_definition(taskdef, taskdef_file[1], label)
    if TASK_DEFINITION_PLACEHOLDER not in appspec:
        raise ArtifactError(f"{label}: {appspec_file[1]} has no {TASK_DEFINITION_PLACEHOLDER} placeholder")
    arn = ecs.register(definition)
    content = appspec.replace(TASK_DEFINITION_PLACEHOLDER, arn)
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }


def _image_uri(files: InputFiles, artifact: str, label: str) -> str:
    """``ImageURI`` of the imageDetail.json an image artifact holds (an ECR source's, or a build's)."""
    text = files.text(artifact, "imageDetail.json", "Image<N>ArtifactName", MAX_FILE_BYTES)
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
