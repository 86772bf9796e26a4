"""Runs a buildspec on this machine the way CodeBuild runs it.

- All commands of all phases run in one shell session (buildspec 0.2): ``cd`` and exported
  variables carry over from one command and phase to the next.
- Phase transitions follow CodeBuild's: a failure in INSTALL or PRE_BUILD ends the build
  (FINALIZING); a failure in BUILD still runs POST_BUILD; artifacts are collected whatever
  happened. ``on-failure: CONTINUE`` moves on to the next phase; the build still fails.
  ``finally`` commands run after a phase's commands, whether they failed or not.
- ``CODEBUILD_BUILD_SUCCEEDING`` is 1 until a phase fails, as on CodeBuild.
- Environment precedence is CodeBuild's: the action's variables over the buildspec's.
- The log reads like CodeBuild's: ``[Container] <time> Entering phase BUILD``, each command
  echoed as ``Running command …`` before it runs, and ``Phase complete: BUILD State: FAILED``;
  secret values (env.secrets-manager, the action's SECRETS_MANAGER variables) are masked.
- The shell runs under a supervisor (stepline.actions.build.supervisor) that outlives the caller and
  records the outcome, so a crashed caller's successor adopts the build instead of running it
  again; the timeout kills the whole process group; the result names the failing phase and
  command.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stepline.actions.build.buildspec import PHASES, ArtifactSpec, Buildspec
from stepline.actions.build.supervisor import InterruptedRun, Run, Runs, RunState, private_folders

PHASE_NAMES = {name: name.upper() for name in PHASES}


@dataclass(frozen=True)
class PhaseResult:
    name: str  # INSTALL, PRE_BUILD, BUILD, POST_BUILD
    status: str  # SUCCEEDED, FAILED, SKIPPED, TIMED_OUT
    failed_command: str | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class BuildResult:
    status: str  # SUCCEEDED, FAILED, TIMED_OUT
    phases: list[PhaseResult]
    exported: dict[str, str]
    log: Path
    duration_seconds: float
    failure: str | None = None

    @property
    def failed_phase(self) -> PhaseResult | None:
        return next((phase for phase in self.phases if phase.status in {"FAILED", "TIMED_OUT"}), None)


@dataclass
class BuildRequest:
    source: Path
    buildspec: Buildspec
    log: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    secondary_sources: Mapping[str, Path] = field(default_factory=dict)
    timeout_seconds: float = 60 * 60
    build_id: str = ""
    initiator: str = "stepline"
    source_version: str = ""
    secrets: Callable[[str], str] | None = None
    on_output: Callable[[str], None] | None = None
    # Values never to show in the log (the action's SECRETS_MANAGER variables); the
    # buildspec's env.secrets-manager values are added when they are read.
    secret_values: frozenset[str] = frozenset()
    # What the runtime tells every build on top of the environment it inherits (STEPLINE_RELEASES …).
    runtime_variables: Mapping[str, str] = field(default_factory=dict)


class BuildSetupError(ValueError):
    """The build cannot start (a secret is missing, a shell does not exist)."""


class BuildInterrupted(RuntimeError):
    """The build's supervisor ended without recording how the build ended."""


def run_build(request: BuildRequest, run: Run | None = None) -> BuildResult:
    """Run the build under a supervisor (see stepline.actions.build.supervisor), exactly once per run:
    a run already going is waited for, a finished one is read back, and a run that started
    but whose supervisor vanished raises BuildInterrupted rather than running twice."""
    if run is None:
        with tempfile.TemporaryDirectory(prefix="stepline-build-") as scratch:
            return run_build(request, Runs(Path(scratch)).run("build"))
    spec = request.buildspec
    state = run.state()
    if state is RunState.INTERRUPTED:
        raise BuildInterrupted(_interrupted(run))
    if state is RunState.NEW:
        _launch(request, run)
    try:
        outcome = run.wait(request.on_output)
    except InterruptedRun:
        raise BuildInterrupted(_interrupted(run)) from None
    started = float(run.read_file("started") or time.time())
    marks = (run.read_file("status") or "").splitlines()
    phases, exported = _read_marks(spec, marks, outcome.timed_out)
    failed = next((phase for phase in phases if phase.status in {"FAILED", "TIMED_OUT"}), None)
    status = "STOPPED" if outcome.stopped else "TIMED_OUT" if outcome.timed_out else "FAILED" if failed else "SUCCEEDED"
    failure = None
    if outcome.stopped:
        failure = "the build was stopped"
    elif outcome.timed_out:
        where = f" in phase {failed.name} running `{failed.failed_command}`" if failed and failed.failed_command else ""
        failure = f"the build timed out after {request.timeout_seconds:.0f} seconds{where}"
    elif failed is not None:
        failure = f"phase {failed.name} failed: `{failed.failed_command}` " + (
            f"exited with status {failed.exit_code}" if failed.exit_code is not None else "ended the shell"
        )
    duration = max(0.0, time.time() - started)
    return BuildResult(status, phases, exported, request.log, duration, failure)


def _launch(request: BuildRequest, run: Run) -> None:
    build_id = request.build_id or f"local:{uuid.uuid4()}"
    environment, secret_values = _environment(request, build_id, time.time())
    shell = _shell(request.buildspec.env.shell)
    run.write_file("buildspec.sh", _script(request.buildspec, run.path / "status"))
    run.write_file("status", "")  # made private now; the shell appends its marks
    private_folders(request.log.parent)
    run.launch(
        [shell, str(run.path / "buildspec.sh")],
        cwd=request.source,
        environment=environment,
        timeout_seconds=request.timeout_seconds,
        log=request.log,
        secrets=secret_values | request.secret_values,
    )


def _interrupted(run: Run) -> str:
    return (
        "the build was interrupted: its supervisor stopped before the build ended (was the machine shut "
        "down, or the process killed?); it may have partly run, so Stepline does not run it again on its own. "
        "Retry the stage to run it anew"
    )


def _shell(name: str) -> str:
    shell = {"bash": "/bin/bash", "/bin/bash": "/bin/bash", "sh": "/bin/sh", "/bin/sh": "/bin/sh"}.get(name)
    if shell is None or not Path(shell).exists():
        raise BuildSetupError(f"env.shell {name!r} is not available here; use bash or /bin/sh")
    return shell


def _environment(request: BuildRequest, build_id: str, started: float) -> tuple[dict[str, str], frozenset[str]]:
    """The build's environment, and the secret values in it (to mask in the log)."""
    spec = request.buildspec
    # A build inherits this process's environment, as a CodeBuild build inherits its image's.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("STEPLINE_SECRET_")}
    environment.update(request.runtime_variables)
    environment.update(spec.env.variables)
    secret_values = set()
    for name, reference in spec.env.secrets_manager.items():
        if request.secrets is None:
            raise BuildSetupError(f"env.secrets-manager.{name}: no secret store is configured for local builds")
        try:
            environment[name] = request.secrets(reference)
        except LookupError as error:
            raise BuildSetupError(f"env.secrets-manager.{name}: {error}") from None
        secret_values.add(environment[name])
    environment.update(request.environment)  # the action's variables win, as StartBuild overrides do
    project = build_id.split(":", 1)[0]
    environment.update(
        {
            "CODEBUILD_BUILD_ID": build_id,
            "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:local:000000000000:build/{build_id}",
            "CODEBUILD_BUILD_NUMBER": "1",
            "CODEBUILD_INITIATOR": request.initiator,
            "CODEBUILD_SRC_DIR": str(request.source),
            "CODEBUILD_SOURCE_VERSION": request.source_version,
            "CODEBUILD_RESOLVED_SOURCE_VERSION": request.source_version,
            "CODEBUILD_START_TIME": str(int(started * 1000)),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_PROJECT": project,
            "CODEBUILD_LOCAL": "true",
        }
    )
    for name, path in request.secondary_sources.items():
        environment[f"CODEBUILD_SRC_DIR_{name}"] = str(path)
    return environment, frozenset(secret_values)


def _script(spec: Buildspec, status_file: Path) -> str:
    lines = [
        "set +e",
        f"__stepline_status={shlex.quote(str(status_file))}",
        '__mark() { printf "%s\\n" "$*" >> "$__stepline_status"; }',
        # CodeBuild's log lines: "[Container] 2024/05/01 12:00:00.123456 Running command …"
        # (microseconds where date knows %N, as GNU's does; whole seconds elsewhere).
        "__when='+%Y/%m/%d %H:%M:%S.%6N'; case \"$(date -u +%N)\" in *N*|'') __when='+%Y/%m/%d %H:%M:%S';; esac",
        '__say() { printf \'[Container] %s %s\\n\' "$(date -u "$__when")" "$*"; }',
        "__stop=0",
    ]
    for name in PHASES:
        phase = getattr(spec.phases, name)
        label = PHASE_NAMES[name]
        if phase is None:
            continue
        lines += [
            "if [ $__stop = 0 ]; then",
            f"  __say 'Entering phase {label}'",
            f"  __mark PHASE {label}",
            "  __ok=1",
        ]
        for index, command in enumerate(phase.commands):
            lines += _command_lines(label, f"c{index}", command, guard=True)
        for index, command in enumerate(phase.finally_):
            # finally runs whatever the commands did, stopping at its own first failure
            lines += _command_lines(label, f"f{index}", command, guard=False, finally_block=True)
        lines += [
            f"  __mark ENDPHASE {label} $__ok",
            f"  if [ $__ok = 1 ]; then __say 'Phase complete: {label} State: SUCCEEDED';"
            f" else __say 'Phase complete: {label} State: FAILED'; fi",
            "  if [ $__ok = 0 ]; then export CODEBUILD_BUILD_SUCCEEDING=0; fi",
        ]
        if phase.on_failure == "ABORT" and name in {"install", "pre_build"}:
            lines.append("  if [ $__ok = 0 ]; then __stop=1; fi")
        lines.append("fi")
    for variable in spec.env.exported_variables:
        quoted = shlex.quote(variable)
        encoded = f'"$(printf %s "${{{variable}}}" | base64 | tr -d "\\n")"'
        lines.append(f'if [ -n "${{{variable}+set}}" ]; then __mark VAR {quoted} {encoded}; fi')
    lines.append("__mark DONE")
    return "\n".join(lines) + "\n"


def _command_lines(label: str, key: str, command: str, *, guard: bool, finally_block: bool = False) -> list[str]:
    quoted = shlex.quote(command)
    condition = "$__ok = 1" if guard else ("$__fin = 1" if finally_block else "1 = 1")
    prefix = ["  __fin=1"] if finally_block and key == "f0" else []
    return [
        *prefix,
        f"  if [ {condition} ]; then",
        f"    __mark RUN {label} {key} {base64.b64encode(command.encode()).decode()}",
        f'    __say "Running command "{quoted}',
        f"    eval {quoted}",
        "    __rc=$?",
        f"    __mark RC {label} {key} $__rc",
        "    if [ $__rc != 0 ]; then __ok=0;"
        + (" __fin=0;" if finally_block else "")
        + f' __say "Command did not exit successfully "{quoted}" exit status $__rc"; fi',
        "  fi",
    ]


def _read_marks(spec: Buildspec, marks: list[str], timed_out: bool) -> tuple[list[PhaseResult], dict[str, str]]:
    started: dict[str, bool] = {}
    ended: dict[str, bool] = {}
    running: dict[str, str] = {}
    failures: dict[str, tuple[str, int | None]] = {}
    exported: dict[str, str] = {}
    for mark in marks:
        parts = mark.split(" ")
        kind = parts[0]
        if kind == "PHASE":
            started[parts[1]] = True
        elif kind == "ENDPHASE":
            ended[parts[1]] = parts[2] == "1"
        elif kind == "RUN":
            running[parts[1]] = base64.b64decode(parts[3]).decode()
        elif kind == "RC":
            if parts[3] != "0" and parts[1] not in failures:
                failures[parts[1]] = (running[parts[1]], int(parts[3]))
            running.pop(parts[1], None)
        elif kind == "VAR":
            exported[parts[1]] = base64.b64decode(parts[2] if len(parts) > 2 else "").decode()
    results = []
    for name in PHASES:
        if getattr(spec.phases, name) is None:
            continue
        label = PHASE_NAMES[name]
        if label not in started:
            results.append(PhaseResult(label, "SKIPPED"))
        elif label in ended:
            command, code = failures.get(label, (None, None))
            results.append(PhaseResult(label, "SUCCEEDED" if ended[label] else "FAILED", command, code))
        else:
            # Started, never ended: the shell was killed (timeout) or a command ended it (exit).
            command = running.get(label) or failures.get(label, ("", None))[0]
            results.append(PhaseResult(label, "TIMED_OUT" if timed_out else "FAILED", command, None))
    return results, exported


# --- artifacts -------------------------------------------------------------------------------


class ArtifactSelectionError(ValueError):
    """The buildspec's artifact patterns select nothing, or escape the source directory."""


def _pattern(glob: str) -> re.Pattern[str]:
    text = glob.strip().lstrip("./") if glob.strip() not in {".", "./"} else "**/*"
    out, position = [], 0
    while position < len(text):
        if text.startswith("**/", position):
            out.append("(?:[^/]+/)*")
            position += 3
        elif text.startswith("**", position):
            out.append(".*")
            position += 2
        elif text[position] == "*":
            out.append("[^/]*")
            position += 1
        elif text[position] == "?":
            out.append("[^/]")
            position += 1
        else:
            out.append(re.escape(text[position]))
            position += 1
    body = "".join(out).rstrip("/")
    # A pattern naming a directory selects everything in it.
    return re.compile(f"^{body}(?:/.*)?$")


def select_artifact_files(source: Path, spec: ArtifactSpec) -> tuple[Path, list[tuple[Path, str]]]:
    """(base directory, [(file relative to base, name in the archive)]) for an artifact spec."""
    base = (source / spec.base_directory).resolve() if spec.base_directory else source.resolve()
    if source.resolve() not in (base, *base.parents):
        raise ArtifactSelectionError(f"base-directory {spec.base_directory!r} is outside the source directory")
    if not base.is_dir():
        raise ArtifactSelectionError(f"base-directory {spec.base_directory!r} does not exist after the build")
    includes = [_pattern(pattern) for pattern in spec.files] or [_pattern("**/*")]
    excludes = [_pattern(pattern) for pattern in spec.exclude_paths]
    chosen: list[tuple[Path, str]] = []
    for folder, directories, names in os.walk(base):
        directories.sort()
        for name in sorted(names):
            relative = (Path(folder) / name).relative_to(base)
            text = relative.as_posix()
            if any(p.match(text) for p in includes) and not any(p.match(text) for p in excludes):
                chosen.append((relative, relative.name if spec.discard_paths else text))
    if not chosen:
        listed = ", ".join(spec.files) or "**/*"
        where = f" in base-directory {spec.base_directory}" if spec.base_directory else ""
        raise ArtifactSelectionError(f"no files match the artifact patterns ({listed}){where}")
    return base, chosen
