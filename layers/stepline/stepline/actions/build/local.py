"""Build and Commands actions on one machine: the local runner in place of CodeBuild.

The first input artifact (or ``PrimarySource``) is the primary source, the working directory;
other inputs are secondary sources in ``$CODEBUILD_SRC_DIR_<name>``, as CodeBuild lays them
out. The first output artifact comes from the buildspec's ``artifacts``; further outputs from
``secondary-artifacts`` under the output artifact's name, as CodePipeline maps them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepline.actions.artifacts import fetch_into
from stepline.actions.build.buildspec import (
    Artifacts,
    ArtifactSpec,
    Buildspec,
    BuildspecError,
    Env,
    Phase,
    Phases,
    load_buildspec,
    parse_buildspec,
)
from stepline.actions.build.runner import (
    ArtifactSelectionError,
    BuildRequest,
    BuildSetupError,
    run_build,
    select_artifact_files,
)
from stepline.actions.errors import ArtifactError, BuildFailedError, ConfigurationError
from stepline.actions.request import ActionRequest, action_result
from stepline.archives import pack_entries
from stepline.ports import ArtifactStore


@dataclass
class LocalBuildSettings:
    workspaces: Path
    logs: Path
    secrets: Callable[[str], str] | None = None
    on_output: Callable[[str], None] | None = None
    timeout_minutes: int | None = None


def run_local_build(request: ActionRequest, store: ArtifactStore, settings: LocalBuildSettings) -> dict[str, Any]:
    action = request.action
    label = f"{request.stage}.{action.name}"
    configuration = request.configuration()
    with tempfile.TemporaryDirectory(prefix="workspace-", dir=_made(settings.workspaces)) as scratch:
        workspace = Path(scratch)
        primary, secondary = _fetch_inputs(request, configuration, store, workspace, label)
        buildspec = _buildspec(request, configuration, primary, label)
        log = settings.logs / request.pipeline / request.execution.name / f"{request.stage}.{action.name}.log"
        build = BuildRequest(
            source=primary,
            buildspec=buildspec,
            log=log,
            environment=_environment(request, configuration, settings, label),
            secondary_sources=secondary,
            timeout_seconds=60 * (settings.timeout_minutes or (60 if action.commands else 8 * 60)),
            build_id=f"{configuration.get('ProjectName', request.pipeline)}:{request.execution.name}",
            initiator=f"codepipeline/{request.pipeline}",
            source_version=_source_version(request),
            secrets=settings.secrets,
            on_output=settings.on_output,
        )
        try:
            result = run_build(build)
        except BuildSetupError as error:
            raise ConfigurationError(f"{label}: {error}") from None
        if result.status != "SUCCEEDED":
            # No log path: the cause is shown to people (the console, the API), and every
            # surface links the log itself (stepline.status.local_log).
            raise BuildFailedError(f"{label}: {result.failure}")
        artifacts = _pack_outputs(request, buildspec, primary, store, label)
    variables = result.exported
    if action.commands:
        variables = {name: value for name, value in result.exported.items() if name in (action.output_variables or [])}
    return action_result(artifacts, variables)


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fetch_inputs(
    request: ActionRequest, configuration: Mapping[str, str], store: ArtifactStore, workspace: Path, label: str
) -> tuple[Path, dict[str, Path]]:
    names = [artifact.name for artifact in request.action.input_artifacts]
    primary_name = configuration.get("PrimarySource") or names[0]
    if primary_name not in names:
        raise ConfigurationError(
            f"{label}: PrimarySource {primary_name!r} is not one of the input artifacts ({', '.join(names)})"
        )
    folders: dict[str, Path] = {}
    for name in names:
        folder = workspace / ("src" if name == primary_name else f"src-{name}")
        fetch_into(request, store, name, folder, label)
        folders[name] = folder
    primary = folders.pop(primary_name)
    return primary, folders


def _buildspec(request: ActionRequest, configuration: Mapping[str, str], primary: Path, label: str) -> Buildspec:
    action = request.action
    if action.commands:
        files = action.output_artifacts[0].files if action.output_artifacts else None
        return Buildspec(
            version="0.2",
            env=Env(**{"exported-variables": list(action.output_variables or [])}),
            phases=Phases(build=Phase(commands=request.commands())),
            artifacts=None if not action.output_artifacts else _artifacts_for_commands(files),
        )
    override = configuration.get("BuildspecOverride", "")
    try:
        if "\n" in override or override.lstrip().startswith("version"):
            return parse_buildspec(override, f"{label} BuildspecOverride")
        path = (primary / (override or "buildspec.yml")).resolve()
        if primary.resolve() not in path.parents:
            raise ConfigurationError(f"{label}: BuildspecOverride {override!r} is outside the source")
        return load_buildspec(path)
    except BuildspecError as error:
        where = override or "buildspec.yml"
        details = "; ".join(str(problem) for problem in error.problems)
        raise ConfigurationError(f"{label}: {where} in {request.action.input_artifacts[0].name}: {details}") from None


def _artifacts_for_commands(files: list[str] | None) -> Artifacts:
    return Artifacts(files=files or ["**/*"])


def _environment(
    request: ActionRequest, configuration: Mapping[str, str], settings: LocalBuildSettings, label: str
) -> dict[str, str]:
    environment: dict[str, str] = {}
    raw = configuration.get("EnvironmentVariables")
    entries = json.loads(raw) if raw else []
    entries += [variable.model_dump() for variable in request.action.environment_variables or []]
    for entry in entries:
        kind = str(entry.get("type", "PLAINTEXT"))
        name, value = str(entry["name"]), str(entry["value"])
        if kind == "PLAINTEXT":
            environment[name] = value
        elif kind == "SECRETS_MANAGER":
            if settings.secrets is None:
                raise ConfigurationError(
                    f"{label}: {name} is a SECRETS_MANAGER variable, but no secret store is configured"
                )
            try:
                environment[name] = settings.secrets(value)
            except LookupError as error:
                raise ConfigurationError(f"{label}: {name}: {error}") from None
        else:
            raise ConfigurationError(
                f"{label}: {name} is a {kind} variable; local builds read PLAINTEXT and SECRETS_MANAGER"
            )
    return environment


def _source_version(request: ActionRequest) -> str:
    for namespace in request.variables.values():
        commit = namespace.get("CommitId")
        if commit:
            return commit
    return ""


def _pack_outputs(
    request: ActionRequest, buildspec: Buildspec, primary: Path, store: ArtifactStore, label: str
) -> dict[str, dict[str, str]]:
    outputs = [artifact.name for artifact in request.action.output_artifacts]
    if not outputs:
        return {}
    specs: dict[str, ArtifactSpec] = {}
    if buildspec.artifacts is None:
        raise ArtifactError(
            f"{label}: the buildspec has no artifacts section, but the action outputs {', '.join(outputs)}"
        )
    specs[outputs[0]] = buildspec.artifacts
    for name in outputs[1:]:
        secondary = buildspec.artifacts.secondary_artifacts.get(name)
        if secondary is None:
            raise ArtifactError(f"{label}: output artifact {name!r} needs secondary-artifacts.{name} in the buildspec")
        specs[name] = secondary
    references = {}
    for name, spec in specs.items():
        try:
            base, chosen = select_artifact_files(primary, spec)
        except ArtifactSelectionError as error:
            raise ArtifactError(f"{label}: output artifact {name!r}: {error}") from None
        with tempfile.TemporaryDirectory(prefix="stepline-out-") as scratch:
            archive = Path(scratch) / f"{name}.zip"
            pack_entries(base, archive, chosen)
            references[name] = store.put(request.pipeline, request.execution.name, name, archive)
    return references
