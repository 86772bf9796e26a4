"""Build and Commands actions on one machine: from a source artifact to packaged outputs."""

from __future__ import annotations

import copy
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from stepline.actions.build.local import LocalBuildSettings, clean_workspaces, run_local_build
from stepline.actions.build.supervisor import Runs
from stepline.actions.errors import ArtifactError, BuildFailedError
from stepline.actions.request import ActionRequest
from stepline.actions.source import run_source_action
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.sources import LocalGitSources
from stepline.errors import ConfigurationError
from tests.gitrepo import Repo
from tests.helpers import load_event

BUILDSPEC = """\
version: 0.2
env:
  exported-variables: [VERSION, RELEASE_COMMIT]
phases:
  build:
    commands:
      - mkdir -p dist
      - cp app.py dist/
      - echo "built $RELEASE_COMMIT" > dist/BUILD_INFO
      - export VERSION="1.4.$CODEBUILD_BUILD_NUMBER"
artifacts:
  base-directory: dist
  files: ['**/*']
"""


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.store = LocalArtifactStore(tmp_path / "artifacts")
        self.repo = Repo(tmp_path / "sample-app")
        self.settings = LocalBuildSettings(workspaces=tmp_path / "workspaces", logs=tmp_path / "logs")

    def source(self, files: dict[str, str | bytes]) -> dict[str, Any]:
        self.repo.commit("change", files)
        event = copy.deepcopy(load_event("source/git-push.json"))
        event["action"]["configuration"]["RepositoryUrl"] = str(self.repo.path)
        event["trigger"] = {}
        return run_source_action(
            ActionRequest.model_validate(event), LocalGitSources(self.tmp, self.tmp / "cache"), self.store
        )

    def build_request(self, source: dict[str, Any], **action: Any) -> ActionRequest:
        """A new task attempt (its own token) of the sample build event, on ``source``."""
        event = copy.deepcopy(load_event("build/codebuild-local.json"))
        event["taskToken"] = uuid.uuid4().hex
        event["artifacts"] = source["artifacts"]
        event["variables"]["SourceVariables"] = source["variables"]
        event["action"].update(action)
        return ActionRequest.model_validate(event)

    def unpacked(self, reference: dict[str, str]) -> dict[str, str]:
        with zipfile.ZipFile(reference["location"].removeprefix("file://")) as bundle:
            return {name: bundle.read(name).decode() for name in bundle.namelist()}


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_a_codebuild_action_builds_the_source_and_packages_its_artifact(world: World) -> None:
    source = world.source({"app.py": "print('hi')\n", "buildspec.yml": BUILDSPEC})
    result = run_local_build(world.build_request(source), world.store, world.settings)
    commit = source["variables"]["CommitId"]
    assert result["variables"] == {"VERSION": "1.4.1", "RELEASE_COMMIT": commit}
    assert world.unpacked(result["artifacts"]["Package"]) == {
        "app.py": "print('hi')\n",
        "BUILD_INFO": f"built {commit}\n",
    }
    log = world.tmp / "logs" / "sample-app" / "push-3e9ecf5" / "Build.TestAndPackage.log"
    assert log.exists()


def test_a_buildspec_override_path_or_inline(world: World) -> None:
    source = world.source({"app.py": "x", "ci/other.yml": BUILDSPEC.replace("1.4.", "9.9.")})
    by_path = world.build_request(source, configuration={"ProjectName": "p", "BuildspecOverride": "ci/other.yml"})
    assert run_local_build(by_path, world.store, world.settings)["variables"]["VERSION"] == "9.9.1"
    inline = world.build_request(
        source,
        configuration={
            "ProjectName": "p",
            "BuildspecOverride": "version: 0.2\nenv:\n  exported-variables: [V]\nphases:\n  build:\n    commands: ['export V=inline']\n",
        },
        outputArtifacts=[],
    )
    assert run_local_build(inline, world.store, world.settings)["variables"] == {"V": "inline"}


def test_a_failing_build_names_phase_and_command_and_keeps_its_log(world: World) -> None:
    failing = "version: 0.2\nphases:\n  pre_build:\n    commands: ['python3 -c \"import sys; sys.exit(3)\"']\n"
    source = world.source({"buildspec.yml": failing})
    with pytest.raises(BuildFailedError) as caught:
        run_local_build(world.build_request(source), world.store, world.settings)
    message = str(caught.value)
    assert message.startswith(
        'Build.TestAndPackage: phase PRE_BUILD failed: `python3 -c "import sys; sys.exit(3)"` exited with status 3'
    )
    # The log is where every surface links it (stepline.status.local_log), not in the message
    # people read: a path on the server is not theirs to see.
    assert str(world.tmp) not in message
    assert (world.tmp / "logs" / "sample-app" / "push-3e9ecf5" / "Build.TestAndPackage.log").is_file()


@pytest.mark.parametrize(
    ("files", "error", "message"),
    [
        (
            {"app.py": "x"},
            ConfigurationError,
            "Build.TestAndPackage: buildspec.yml in SourceCode: (document): no buildspec file here",
        ),
        (
            {"buildspec.yml": "version: 0.2\nphases:\n  buld: {}\n"},
            ConfigurationError,
            "phases.buld: is not a buildspec key (did you mean 'build'?)",
        ),
        (
            {"buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: ['true']\n"},
            ArtifactError,
            "the buildspec has no artifacts section, but the action outputs Package",
        ),
        (
            {
                "buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: ['true']\nartifacts:\n  files: ['*.jar']\n"
            },
            ArtifactError,
            "output artifact 'Package': no files match the artifact patterns (*.jar)",
        ),
    ],
)
def test_build_setup_problems_are_named(
    world: World, files: dict[str, str | bytes], error: type[Exception], message: str
) -> None:
    source = world.source(files)
    with pytest.raises(error) as caught:
        run_local_build(world.build_request(source), world.store, world.settings)
    assert message in str(caught.value)


def test_a_missing_input_artifact_is_named(world: World) -> None:
    source = world.source({"buildspec.yml": BUILDSPEC, "app.py": "x"})
    request = world.build_request({**source, "artifacts": {}})
    with pytest.raises(ArtifactError, match="input artifact 'SourceCode' was not produced in this execution"):
        run_local_build(request, world.store, world.settings)


def test_secondary_sources_and_secondary_artifacts(world: World) -> None:
    spec = BUILDSPEC + "  secondary-artifacts:\n    Reports:\n      files: [report.txt]\n"
    spec = spec.replace(
        "      - mkdir -p dist\n",
        "      - mkdir -p dist\n      - cp $CODEBUILD_SRC_DIR_Config/settings.ini dist/\n      - echo ok > report.txt\n",
    )
    source = world.source({"app.py": "x", "buildspec.yml": spec})
    config_repo = Repo(world.tmp / "config")
    config_repo.commit("cfg", {"settings.ini": "[app]\n"})
    event = copy.deepcopy(load_event("source/git-push.json"))
    event["action"]["configuration"]["RepositoryUrl"] = str(config_repo.path)
    event["action"]["outputArtifacts"] = [{"name": "Config"}]
    event["trigger"] = {}
    config = run_source_action(
        ActionRequest.model_validate(event), LocalGitSources(world.tmp, world.tmp / "cache"), world.store
    )
    request = world.build_request(
        {**source, "artifacts": {**source["artifacts"], **config["artifacts"]}},
        inputArtifacts=[{"name": "SourceCode"}, {"name": "Config"}],
        outputArtifacts=[{"name": "Package"}, {"name": "Reports"}],
    )
    result = run_local_build(request, world.store, world.settings)
    assert "settings.ini" in world.unpacked(result["artifacts"]["Package"])
    assert world.unpacked(result["artifacts"]["Reports"]) == {"report.txt": "ok\n"}


def test_a_commands_action(world: World) -> None:
    source = world.source({"app.py": "print('hi')\n"})
    request = world.build_request(
        source,
        actionTypeId={"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        configuration={},
        commands=["mkdir -p out", "cp app.py out/", "export RELEASE_DIR=$PWD/out", "export NOT_DECLARED=1"],
        outputVariables=["RELEASE_DIR"],
        outputArtifacts=[{"name": "Package", "files": ["out/**/*"]}],
    )
    result = run_local_build(request, world.store, world.settings)
    assert list(result["variables"]) == ["RELEASE_DIR"]
    assert world.unpacked(result["artifacts"]["Package"]) == {"out/app.py": "print('hi')\n"}


def test_a_commands_action_resolves_variables_in_its_commands(world: World) -> None:
    # Given a Commands action whose command names the source's commit through a variable
    source = world.source({"app.py": "print('hi')\n"})
    request = world.build_request(
        source,
        actionTypeId={"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        configuration={},
        commands=["export RELEASED=release-#{SourceVariables.CommitId}"],
        outputVariables=["RELEASED"],
        outputArtifacts=[],
    )
    # When it runs, Then the command saw the commit, not the literal reference
    result = run_local_build(request, world.store, world.settings)
    assert result["variables"] == {"RELEASED": f"release-{source['variables']['CommitId']}"}


COMMANDS = {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}


def test_the_same_task_attempt_runs_its_build_once(world: World) -> None:
    # Given a Commands action that deploys by appending a line to a file
    deploys = world.tmp / "deploys.txt"
    source = world.source({"app.py": "x"})
    request = world.build_request(
        source, actionTypeId=COMMANDS, configuration={}, commands=[f"echo deployed >> {deploys}"], outputArtifacts=[]
    )
    # When the engine calls the same attempt (same task token) three times, as after crashes
    results = [run_local_build(request, world.store, world.settings) for _ in range(3)]
    # Then the deploy ran once and every call got its result
    assert deploys.read_text() == "deployed\n"
    assert results[0] == results[1] == results[2]
    # And a new attempt (a retry: a new token) runs it again
    run_local_build(
        world.build_request(source, **request.action.model_dump(by_alias=True)), world.store, world.settings
    )
    assert deploys.read_text() == "deployed\ndeployed\n"


def test_a_failed_attempt_called_again_fails_the_same_way_without_running_again(world: World) -> None:
    # Given a deploy that records itself, then fails
    deploys = world.tmp / "deploys.txt"
    source = world.source({"app.py": "x"})
    request = world.build_request(
        source,
        actionTypeId=COMMANDS,
        configuration={},
        commands=[f"echo deployed >> {deploys}", "exit 4"],
        outputArtifacts=[],
    )
    # When the same attempt is called twice
    errors = []
    for _ in range(2):
        with pytest.raises(BuildFailedError) as caught:
            run_local_build(request, world.store, world.settings)
        errors.append(str(caught.value))
    # Then it ran once, and both calls name the same failure
    assert deploys.read_text() == "deployed\n"
    assert errors[0] == errors[1]
    assert "`exit 4` ended the shell" in errors[0]


def test_no_workspace_is_left_behind(world: World) -> None:
    source = world.source({"app.py": "print('hi')\n", "buildspec.yml": BUILDSPEC})
    run_local_build(world.build_request(source), world.store, world.settings)
    request = world.build_request(source, actionTypeId=COMMANDS, configuration={}, commands=["false"])
    with pytest.raises(BuildFailedError):
        run_local_build(request, world.store, world.settings)
    assert list(world.settings.workspaces.iterdir()) == []


@pytest.mark.parametrize(
    "branch",
    [
        "feat$(touch${IFS}pwned)",
        "feat`touch pwned`",
        "x';touch pwned;'",
        'x";touch pwned;"',
        "x\ntouch pwned",
        "$(touch pwned)'\"$(touch pwned)",
    ],
)
def test_a_branch_name_is_never_shell_code_in_a_command(world: World, branch: str) -> None:
    # Given a Commands action that uses the branch name unquoted, in double and in single quotes
    source = world.source({"app.py": "x"})
    source["variables"]["BranchName"] = branch
    request = world.build_request(
        source,
        actionTypeId=COMMANDS,
        configuration={},
        commands=[
            "printf '%s\\n' #{SourceVariables.BranchName} > unquoted.txt",
            'export DOUBLE="on #{SourceVariables.BranchName}"',
            "export SINGLE='on #{SourceVariables.BranchName}'",
        ],
        outputVariables=["DOUBLE", "SINGLE"],
        outputArtifacts=[{"name": "Package", "files": ["**/*"]}],
    )
    # When it runs
    result = run_local_build(request, world.store, world.settings)
    # Then nothing in the name ran (it would have made "pwned" in the build's directory), and
    # each command saw the name as its text says
    packaged = world.unpacked(result["artifacts"]["Package"])
    assert "pwned" not in packaged
    assert result["variables"] == {"DOUBLE": f"on {branch}", "SINGLE": f"on {branch}"}
    assert packaged["unquoted.txt"].split() == branch.split()


def test_secret_values_never_reach_the_log(world: World) -> None:
    # Given a secret store, a buildspec reading one secret and the action declaring another
    secrets = {"prod/db": "hunter2-db-password", "prod/key": "-----BEGIN KEY-----\nAAAAsecretline\n-----END KEY-----"}
    world.settings.secrets = secrets.__getitem__
    buildspec = (
        "version: 0.2\nenv:\n  secrets-manager:\n    DB_PASSWORD: prod/db\n"
        "phases:\n  build:\n    commands:\n"
        '      - echo "password is $DB_PASSWORD"\n'
        '      - echo "key is $SIGNING_KEY"\n'
        "      - env | sort\n"
        "artifacts:\n  files: ['**/*']\n"
    )
    source = world.source({"app.py": "x", "buildspec.yml": buildspec})
    request = world.build_request(
        source,
        environmentVariables=[{"name": "SIGNING_KEY", "value": "prod/key", "type": "SECRETS_MANAGER"}],
    )
    # When the build echoes them
    run_local_build(request, world.store, world.settings)
    # Then the log shows only the mask, wherever they were printed
    log = next(world.settings.logs.rglob("*.log")).read_text()
    assert "password is ***" in log
    assert "DB_PASSWORD=***" in log
    assert "hunter2" not in log
    assert "AAAAsecretline" not in log
    assert "BEGIN KEY" not in log


def test_a_crashs_leftover_workspaces_are_cleaned_but_an_adopters_are_kept(world: World) -> None:
    # Given workspaces a crash left: one whose build never started, one whose outcome was
    # recorded but not packed yet, and one whose result is recorded
    workspaces, runs = world.settings.workspaces, world.tmp / "runs"
    for key in ("never-started", "exited", "done"):
        (workspaces / key / "src").mkdir(parents=True)
    Runs(runs).run("exited").write_file("outcome.json", '{"exitCode": 0}')
    Runs(runs).run("done").write_file("outcome.json", '{"exitCode": 0}')
    Runs(runs).run("done").record_result({"result": {}})
    # When the runtime starts and cleans up
    removed = clean_workspaces(workspaces, runs)
    # Then only the workspace an adopter will pack from is kept
    assert sorted(path.name for path in removed) == ["done", "never-started"]
    assert [path.name for path in workspaces.iterdir()] == ["exited"]
