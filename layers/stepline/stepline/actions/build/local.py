"""Build and Commands actions on one machine: the local runner in place of CodeBuild.

The first input artifact (or ``PrimarySource``) is the primary source, the working directory;
other inputs are secondary sources in ``$CODEBUILD_SRC_DIR_<name>``, as CodeBuild lays them
out. The first output artifact comes from the buildspec's ``artifacts``; further outputs from
``secondary-artifacts`` under the output artifact's name, as CodePipeline maps them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    BuildInterrupted,
    BuildRequest,
    BuildSetupError,
    run_build,
    select_artifact_files,
)
from stepline.actions.build.supervisor import Run, Runs, RunState, private_folders
from stepline.actions.errors import (
    ACTION_FAILURES,
    ActionError,
    ArtifactError,
    BuildFailedError,
    BuildInterruptedError,
    error_named,
)
from stepline.actions.request import ActionRequest, action_result
from stepline.archives import pack_entries
from stepline.errors import ConfigurationError
from stepline.files import action_log_path
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.waiters import TaskCallbacks


@dataclass
class LocalBuildSettings:
    workspaces: Path
    logs: Path
    secrets: Callable[[str], str] | None = None
    on_output: Callable[[str], None] | None = None
    timeout_minutes: int | None = None
    # Where supervised runs keep what they know (stepline.actions.build.supervisor); default: beside
    # the workspaces.
    runs: Path | None = None
    # Variables every build gets from the runtime (STEPLINE_DATA, STEPLINE_RELEASES).
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalBuilds:
    """Builds on one machine: run here (once per task attempt), and the token answered at once."""

    store: ArtifactStore
    settings: LocalBuildSettings
    callbacks: TaskCallbacks

    def run(self, request: ActionRequest) -> dict[str, Any]:
        result = run_local_build(request, self.store, self.settings)
        self.callbacks.succeed(request.task_token or "", result)
        return {"status": "SUCCEEDED"}


def run_key(request: ActionRequest) -> str:
    """One key per task attempt: the engine calls the same attempt again, with the same token,
    after a crash; a retry (a new attempt) has a new token. The token itself answers the task,
    so only its digest names files."""
    identity = request.task_token or f"{request.execution.id}/{request.stage}/{request.action.name}/{uuid.uuid4()}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def run_local_build(request: ActionRequest, store: ArtifactStore, settings: LocalBuildSettings) -> dict[str, Any]:
    """Run the build once per task attempt, whoever asks: the first call starts it, a call
    after a crash adopts it while it runs, and any later call gets the recorded result."""
    label = request.label
    run = Runs(settings.runs or settings.workspaces.parent / "runs").run(run_key(request))
    recorded = run.result()
    if recorded is not None:
        return _replay(recorded)
    workspace = settings.workspaces / run.key
    try:
        result = _build(request, store, settings, run, workspace, label)
        run.record_result({"result": result})  # before the workspace goes: a replay needs no workspace
        return result
    except (ActionError, ConfigurationError, BuildSetupError) as error:
        failure = error if isinstance(error, ACTION_FAILURES) else ConfigurationError(f"{label}: {error}")
        run.record_result({"error": type(failure).__name__, "message": str(failure)})
        raise failure from None
    finally:
        if run.state() is not RunState.RUNNING:
            shutil.rmtree(workspace, ignore_errors=True)


def _build(
    request: ActionRequest,
    store: ArtifactStore,
    settings: LocalBuildSettings,
    run: Run,
    workspace: Path,
    label: str,
) -> dict[str, Any]:
    action = request.action
    configuration = request.configuration()
    if run.state() is RunState.NEW:
        # Never started: whatever a crashed attempt left in the workspace goes.
        shutil.rmtree(workspace, ignore_errors=True)
        private_folders(workspace)
        primary, secondary = _fetch_inputs(request, configuration, store, workspace, label)
        buildspec = _buildspec(request, configuration, primary, label)
        run.write_file("buildspec.json", buildspec.model_dump_json(by_alias=True))
    else:
        # Started by an earlier call: the same sources, the same buildspec.
        primary, secondary = _inputs_in(request, configuration, workspace)
        buildspec = Buildspec.model_validate_json(run.read_file("buildspec.json") or "{}")
    environment, secret_values = _environment(request, configuration, settings, label)
    if action.commands:
        environment.update(request.commands().environment)
    log = action_log_path(settings.logs, request.pipeline, request.execution.name, label)
    build = BuildRequest(
        source=primary,
        buildspec=buildspec,
        log=log,
        environment=environment,
        secondary_sources=secondary,
        timeout_seconds=60 * (settings.timeout_minutes or (60 if action.commands else 8 * 60)),
        build_id=f"{configuration.get('ProjectName', request.pipeline)}:{request.execution.name}",
        initiator=f"codepipeline/{request.pipeline}",
        source_version=_source_version(request),
        secrets=settings.secrets,
        on_output=settings.on_output,
        secret_values=secret_values,
        runtime_variables=settings.variables,
    )
    try:
        result = run_build(build, run)
    except BuildInterrupted as error:
        raise BuildInterruptedError(f"{label}: {error}") from None
    if result.status != "SUCCEEDED":
        raise BuildFailedError(f"{label}: {result.failure}")  # every surface links the log itself
    artifacts = _pack_outputs(request, buildspec, primary, store, label, workspace)
    variables = result.exported
    if action.commands:
        variables = {name: value for name, value in result.exported.items() if name in (action.output_variables or [])}
    return action_result(artifacts, variables)


def clean_workspaces(workspaces: Path, runs: Path) -> list[Path]:
    """Remove the workspaces no build will use again (left by a crash), keeping those of builds
    still running and of builds whose outcome is not packed yet: an adopter needs them."""
    removed = []
    for workspace in sorted(workspaces.iterdir()) if workspaces.is_dir() else []:
        run = Runs(runs).run(workspace.name)
        if run.result() is None and run.state() in {RunState.RUNNING, RunState.EXITED}:
            continue
        shutil.rmtree(workspace, ignore_errors=True)
        removed.append(workspace)
    return removed


def _replay(recorded: dict[str, Any]) -> dict[str, Any]:
    """The result an earlier call recorded: the same success, or the same error raised again."""
    if "error" in recorded:
        raise error_named(str(recorded["error"]), str(recorded.get("message", "")))
    result: dict[str, Any] = recorded["result"]
    return result


def _input_folders(
    request: ActionRequest, configuration: Mapping[str, str], workspace: Path, label: str
) -> tuple[str, dict[str, Path]]:
    """The primary input's name and where each input lives in the workspace, as CodeBuild lays them out."""
    names = [artifact.name for artifact in request.action.input_artifacts]
    primary_name = configuration.get("PrimarySource") or names[0]
    if primary_name not in names:
        raise ConfigurationError(
            f"{label}: PrimarySource {primary_name!r} is not one of the input artifacts ({', '.join(names)})"
        )
    return primary_name, {name: workspace / ("src" if name == primary_name else f"src-{name}") for name in names}


def _fetch_inputs(
    request: ActionRequest, configuration: Mapping[str, str], store: ArtifactStore, workspace: Path, label: str
) -> tuple[Path, dict[str, Path]]:
    primary_name, folders = _input_folders(request, configuration, workspace, label)
    for name, folder in folders.items():
        fetch_into(request, store, name, folder, label)
    primary = folders.pop(primary_name)
    return primary, folders


def _inputs_in(
    request: ActionRequest, configuration: Mapping[str, str], workspace: Path
) -> tuple[Path, dict[str, Path]]:
    label = request.label
    primary_name, folders = _input_folders(request, configuration, workspace, label)
    primary = folders.pop(primary_name)
    return primary, folders


def _buildspec(request: ActionRequest, configuration: Mapping[str, str], primary: Path, label: str) -> Buildspec:
    action = request.action
    if action.commands:
        files = action.output_artifacts[0].files if action.output_artifacts else None
        return Buildspec(
            version="0.2",
            env=Env(**{"exported-variables": list(action.output_variables or [])}),
            phases=Phases(build=Phase(commands=request.commands().commands)),
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
) -> tuple[dict[str, str], frozenset[str]]:
    """The action's environment variables, and which values are secrets (masked in the log)."""
    environment: dict[str, str] = {}
    secret_values: set[str] = set()
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
            secret_values.add(environment[name])
        else:
            raise ConfigurationError(
                f"{label}: {name} is a {kind} variable; local builds read PLAINTEXT and SECRETS_MANAGER"
            )
    return environment, frozenset(secret_values)


def _source_version(request: ActionRequest) -> str:
    for namespace in request.variables.values():
        commit = namespace.get("CommitId")
        if commit:
            return commit
    return ""


def _pack_outputs(
    request: ActionRequest, buildspec: Buildspec, primary: Path, store: ArtifactStore, label: str, workspace: Path
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
        with tempfile.TemporaryDirectory(prefix="out-", dir=workspace) as scratch:
            archive = Path(scratch) / f"{name}.zip"
            pack_entries(base, archive, chosen)
            references[name] = store.put(request.pipeline, request.execution.name, name, archive)
    return references
