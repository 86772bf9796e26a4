"""The local buildspec runner: CodeBuild's phases, shell session, variables, artifacts — real bash."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from stepline.actions.build.buildspec import BuildspecError, load_buildspec, parse_buildspec
from stepline.actions.build.runner import (
    ArtifactSelectionError,
    BuildRequest,
    BuildResult,
    run_build,
    select_artifact_files,
)
from tests.helpers import REPO

SHARED_BUILDSPEC = REPO.parent / "shared" / "reference" / "buildspec-ecs.yml"


def build(tmp_path: Path, spec: str, **options: object) -> BuildResult:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    request = BuildRequest(
        source=source, buildspec=parse_buildspec(textwrap.dedent(spec), "buildspec.yml"), log=tmp_path / "build.log"
    )
    for key, value in options.items():
        setattr(request, key, value)
    return run_build(request)


def statuses(result: BuildResult) -> dict[str, str]:
    return {phase.name: phase.status for phase in result.phases}


FOUR_PHASES = """
version: 0.2
phases:
  install:
    commands: [{install}]
  pre_build:
    commands: [{pre_build}]
  build:
    commands: [{build}]
  post_build:
    commands: ["echo succeeding=$CODEBUILD_BUILD_SUCCEEDING"]
"""


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        ("install", {"INSTALL": "FAILED", "PRE_BUILD": "SKIPPED", "BUILD": "SKIPPED", "POST_BUILD": "SKIPPED"}),
        ("pre_build", {"INSTALL": "SUCCEEDED", "PRE_BUILD": "FAILED", "BUILD": "SKIPPED", "POST_BUILD": "SKIPPED"}),
        ("build", {"INSTALL": "SUCCEEDED", "PRE_BUILD": "SUCCEEDED", "BUILD": "FAILED", "POST_BUILD": "SUCCEEDED"}),
    ],
)
def test_phase_failures_follow_codebuilds_transitions(tmp_path: Path, failing: str, expected: dict[str, str]) -> None:
    commands = {phase: '"true"' for phase in ("install", "pre_build", "build")}
    commands[failing] = '"echo about to fail", "exit_code_seven() { return 7; }; exit_code_seven", "echo never"'
    result = build(tmp_path, FOUR_PHASES.format(**commands))
    assert result.status == "FAILED"
    assert statuses(result) == expected
    assert (
        result.failure
        == f"phase {failing.upper()} failed: `exit_code_seven() {{ return 7; }}; exit_code_seven` exited with status 7"
    )
    log = result.log.read_text()
    assert "about to fail" in log
    assert "never" not in log
    if failing == "build":
        assert "succeeding=0" in log


def test_a_post_build_failure_fails_the_build(tmp_path: Path) -> None:
    result = build(
        tmp_path, 'version: 0.2\nphases:\n  build:\n    commands: ["true"]\n  post_build:\n    commands: ["false"]\n'
    )
    assert (result.status, statuses(result)) == ("FAILED", {"BUILD": "SUCCEEDED", "POST_BUILD": "FAILED"})


def test_on_failure_continue_moves_on_but_the_build_fails(tmp_path: Path) -> None:
    spec = """
    version: 0.2
    phases:
      install:
        on-failure: CONTINUE
        commands: ["false"]
      build:
        commands: ["echo built anyway"]
    """
    result = build(tmp_path, spec)
    assert statuses(result) == {"INSTALL": "FAILED", "BUILD": "SUCCEEDED"}
    assert result.status == "FAILED"
    assert "built anyway" in result.log.read_text()


def test_finally_runs_after_a_failure_and_can_fail_the_phase(tmp_path: Path) -> None:
    spec = """
    version: 0.2
    phases:
      build:
        commands: ["false", "echo skipped"]
        finally: ["echo cleaning up", "echo still cleaning"]
      post_build:
        commands: ["true"]
        finally: ["exit_code() { return 4; }; exit_code", "echo not after a failed finally"]
    """
    result = build(tmp_path, spec)
    log = result.log.read_text()
    assert "cleaning up" in log
    assert "still cleaning" in log
    assert "skipped" not in log
    assert "not after a failed finally" not in log
    assert statuses(result) == {"BUILD": "FAILED", "POST_BUILD": "FAILED"}


def test_one_shell_session_across_commands_and_phases(tmp_path: Path) -> None:
    spec = """
    version: 0.2
    phases:
      install:
        commands: ["mkdir -p deep/inside", "cd deep/inside", "export GREETING=hello"]
      build:
        commands:
          - echo "dir=$(basename $PWD) greeting=$GREETING"
          - |
            for word in multi line; do
              echo "block:$word"
            done
    """
    result = build(tmp_path, spec)
    log = result.log.read_text()
    assert result.status == "SUCCEEDED"
    assert "dir=inside greeting=hello" in log
    assert "block:multi" in log
    assert "block:line" in log


def test_variables_precedence_codebuild_variables_and_exports(tmp_path: Path) -> None:
    spec = """
    version: 0.2
    env:
      variables:
        STAGE: from-buildspec
        ONLY_HERE: kept
        NUMBER: 42
      exported-variables: [IMAGE_TAG, STAGE, NEVER_SET]
    phases:
      build:
        commands:
          - export IMAGE_TAG="app:${CODEBUILD_RESOLVED_SOURCE_VERSION}"
          - echo "stage=$STAGE only=$ONLY_HERE number=$NUMBER src=$CODEBUILD_SRC_DIR id=$CODEBUILD_BUILD_ID"
    """
    result = build(tmp_path, spec, environment={"STAGE": "from-action"}, source_version="3f2a9c1", build_id="demo:42")
    log = result.log.read_text()
    assert f"stage=from-action only=kept number=42 src={tmp_path / 'src'} id=demo:42" in log
    assert result.exported == {"IMAGE_TAG": "app:3f2a9c1", "STAGE": "from-action"}


def test_a_command_that_ends_the_shell_is_named(tmp_path: Path) -> None:
    result = build(
        tmp_path,
        'version: 0.2\nphases:\n  build:\n    commands: ["echo before", "exit 3"]\n  post_build:\n    commands: ["true"]\n',
    )
    assert result.status == "FAILED"
    assert result.failure == "phase BUILD failed: `exit 3` ended the shell"


def test_the_timeout_stops_the_build_and_names_where(tmp_path: Path) -> None:
    result = build(
        tmp_path, 'version: 0.2\nphases:\n  build:\n    commands: ["echo started", "sleep 30"]\n', timeout_seconds=1
    )
    assert result.status == "TIMED_OUT"
    assert result.failure == "the build timed out after 1 seconds in phase BUILD running `sleep 30`"


def without_times(lines: list[str]) -> list[str]:
    """Log lines with CodeBuild's "[Container] 2024/05/01 12:00:00" stamp cut to "[Container]"."""
    return [re.sub(r"^\[Container\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d(\.\d{6})? ", "[Container] ", line) for line in lines]


def test_output_is_streamed_live_and_logged_as_codebuild_logs_it(tmp_path: Path) -> None:
    # Given a buildspec whose second command fails
    seen: list[str] = []
    spec = 'version: 0.2\nphases:\n  build:\n    commands: ["echo one", "echo two >&2 && false"]\n'
    # When it runs
    result = build(tmp_path, spec, on_output=seen.append)
    # Then each phase is announced, each command echoed before its output, each failure and
    # the phase's end said, with CodeBuild's wording and a timestamp — live and in the log
    expected = [
        "[Container] Entering phase BUILD",
        "[Container] Running command echo one",
        "one",
        "[Container] Running command echo two >&2 && false",
        "two",
        "[Container] Command did not exit successfully echo two >&2 && false exit status 1",
        "[Container] Phase complete: BUILD State: FAILED",
    ]
    assert without_times(seen) == expected
    assert without_times(result.log.read_text().splitlines()) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "version: 0.1\nphases: {}\n",
            "version: version 0.1 is not supported; the local runner runs buildspec version 0.2",
        ),
        ("version: 0.2\nphase:\n  build: {}\n", "phase: is not a buildspec key (did you mean 'phases'?)"),
        (
            "version: 0.2\nphases:\n  build:\n    comands: [x]\n",
            "phases.build.comands: is not a buildspec key (did you mean 'commands'?)",
        ),
        ("version: 0.2\nphases:\n  build:\n    commands: [{a: b}]\n", "phases.build.commands[0]"),
        ("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n", "phases.build.on-failure"),
        ("phases: [", "is not valid YAML"),
        ("- just\n- a list\n", "must be a YAML mapping with version and phases"),
    ],
)
def test_bad_buildspecs_are_named(text: str, problem: str) -> None:
    with pytest.raises(BuildspecError) as caught:
        parse_buildspec(text, "buildspec.yml")
    assert problem in str(caught.value)


def test_a_missing_buildspec_is_named(tmp_path: Path) -> None:
    with pytest.raises(BuildspecError) as caught:
        load_buildspec(tmp_path / "buildspec.yml")
    assert "buildspec.yml: the buildspec is not valid:\n  (document): no buildspec file here" in str(caught.value)


# --- artifacts -------------------------------------------------------------------------------


def make_tree(root: Path, files: list[str]) -> None:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)


def test_artifact_globs_base_directory_discard_and_exclude(tmp_path: Path) -> None:
    make_tree(tmp_path, ["target/app.jar", "target/lib/dep.jar", "target/lib/skip.jar", "target/notes.md", "README.md"])
    spec = parse_buildspec(
        "version: 0.2\nartifacts:\n  base-directory: target\n  files: ['**/*.jar']\n  exclude-paths: ['lib/skip.jar']\n  discard-paths: yes\n",
        "b",
    ).artifacts
    assert spec is not None
    base, chosen = select_artifact_files(tmp_path, spec)
    assert base == (tmp_path / "target").resolve()
    assert chosen == [(Path("app.jar"), "app.jar"), (Path("lib/dep.jar"), "dep.jar")]


def test_artifact_directory_pattern_takes_its_contents(tmp_path: Path) -> None:
    make_tree(tmp_path, ["dist/index.html", "dist/assets/app.js", "src/main.ts"])
    spec = parse_buildspec("version: 0.2\nartifacts:\n  files: [dist]\n", "b").artifacts
    assert spec is not None
    assert [name for _, name in select_artifact_files(tmp_path, spec)[1]] == ["dist/index.html", "dist/assets/app.js"]


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        ("files: ['*.war']", "no files match the artifact patterns (*.war)"),
        ("base-directory: ../..\n  files: ['**/*']", "base-directory '../..' is outside the source directory"),
        ("base-directory: nowhere\n  files: ['**/*']", "base-directory 'nowhere' does not exist after the build"),
    ],
)
def test_artifact_selection_problems_are_named(tmp_path: Path, artifacts: str, message: str) -> None:
    make_tree(tmp_path, ["a.txt"])
    spec = parse_buildspec(f"version: 0.2\nartifacts:\n  {artifacts}\n", "b").artifacts
    assert spec is not None
    with pytest.raises(ArtifactSelectionError) as caught:
        select_artifact_files(tmp_path, spec)
    assert message in str(caught.value)


# --- the reference buildspec -------------------------------------------------------------------


@pytest.mark.skipif(not SHARED_BUILDSPEC.exists(), reason="the shared reference folder sits beside CI's clone")
def test_the_reference_ecs_buildspec_fails_cleanly_without_docker(tmp_path: Path) -> None:
    # Given CodeBuild's ECS buildspec (docker login, build and push) on a machine with no Docker daemon
    spec = load_buildspec(SHARED_BUILDSPEC)
    assert "phases.install.runtime-versions (the machine's own tools are used)" in spec.not_acted_on()
    source = tmp_path / "src"
    source.mkdir()
    result = run_build(BuildRequest(source=source, buildspec=spec, log=tmp_path / "build.log", timeout_seconds=120))
    # Then it fails in PRE_BUILD, naming the command, and builds and pushes nothing
    failed = result.failed_phase
    assert failed is not None
    assert (result.status, failed.name) == ("FAILED", "PRE_BUILD")
    assert spec.phases.pre_build is not None
    assert failed.failed_command in spec.phases.pre_build.commands[1:]
    assert statuses(result)["BUILD"] == "SKIPPED"
    assert statuses(result)["POST_BUILD"] == "SKIPPED"
    assert result.failure is not None
    assert result.failure.startswith(f"phase PRE_BUILD failed: `{failed.failed_command}`")
    assert not (source / "imagedefinitions.json").exists()
