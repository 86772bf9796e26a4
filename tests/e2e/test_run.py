"""`stepline run` end to end, as a user runs it: a real git repository, real builds in
subprocesses, the approval decided through its review link on a real loopback server."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.local_server import APPROVE, BUILD, git, pipeline, repositories, stepline
from tests.helpers import EXAMPLES

RELEASE = {
    "name": "Deploy",
    "actions": [
        {
            "name": "ReleaseLocally",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "namespace": "ReleaseVariables",
            "inputArtifacts": [{"name": "Package"}],
            "commands": [
                'export RELEASE_DIR="$STEPLINE_RELEASES/#{SourceVariables.CommitId}"',
                'mkdir -p "$RELEASE_DIR" && cp -R . "$RELEASE_DIR/"',
                'sh "$RELEASE_DIR/smoke-test.sh"',
            ],
            "outputVariables": ["RELEASE_DIR"],
        }
    ],
}


def release_pipeline(home: Path, files: dict[str, str] | None = None) -> tuple[Path, str]:
    bare, work = repositories(home, files)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "the sample app")
    git(work, "push", "--quiet", "origin", "main")
    commit = git(work, "rev-parse", "HEAD").strip()
    path = home / "release.yaml"
    path.write_text(yaml.safe_dump(pipeline("release", bare, [BUILD, APPROVE, RELEASE], executionMode="QUEUED")))
    return path, commit


def test_an_approved_run_builds_releases_and_smoke_tests_the_commit(tmp_path: Path) -> None:
    # Given the sample app in a repository and a source → build → approval → release pipeline
    path, commit = release_pipeline(tmp_path)
    data = tmp_path / ".stepline"
    # When run with --approve
    ran = stepline("run", str(path), "--approve", "--comment", "tests pass", cwd=tmp_path, data=data)
    # Then every stage succeeded, the approval went through the review link, and the commit
    # was released and smoke-tested
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "approving Approve/Release through http://127.0.0.1:" in ran.stdout
    assert "executionMode" not in ran.stdout  # QUEUED is built: nothing to warn about
    assert "Deploy.ReleaseLocally Succeeded" in ran.stdout
    assert "smoke test passed: 2 + 3 = 5" in ran.stdout
    assert (data / "releases" / commit / "smoke-test.sh").exists()
    assert f"RELEASE_DIR={data.resolve()}/releases/" in ran.stdout
    # And the run is kept: executions lists it, show draws it again
    listed = stepline("executions", cwd=tmp_path, data=data)
    assert "release" in listed.stdout
    assert "Succeeded" in listed.stdout
    name = re.search(r"stepline show (\S+)", ran.stdout)[1]  # type: ignore[index]  # the summary names it
    shown = stepline("show", name, cwd=tmp_path, data=data)
    assert shown.returncode == 0, shown.stderr
    assert f"commit {commit[:12]} the sample app" in shown.stdout


def test_a_rejected_run_exits_1_with_the_reviewers_comment(tmp_path: Path) -> None:
    path, commit = release_pipeline(tmp_path)
    data = tmp_path / ".stepline"
    ran = stepline("run", str(path), "--reject", "--comment", "not during the freeze", cwd=tmp_path, data=data)
    assert ran.returncode == 1
    assert re.search(
        r"^Approve\.Release failed: ApprovalRejected — rejected by \S+: not during the freeze$", ran.stdout, re.M
    )
    assert not (data / "releases" / commit).exists()


def test_a_failing_build_exits_1_naming_the_phase_and_the_log(tmp_path: Path) -> None:
    broken = {
        "tests/test_add.py": "import unittest\n\nclass T(unittest.TestCase):\n    def test_no(self):\n        self.fail('broken')\n"
    }
    path, _ = release_pipeline(tmp_path, broken)
    ran = stepline("run", str(path), "--approve", cwd=tmp_path, data=tmp_path / ".stepline")
    assert ran.returncode == 1
    assert "Build.TestAndPackage failed: BuildFailedError — phase BUILD failed: `python3 -m unittest" in ran.stdout
    assert "FAILED (failures=1)" in ran.stdout.split("Build.TestAndPackage failed")[1]  # the log's last lines
    assert "Build.TestAndPackage.log" in ran.stdout.replace("\n", "")
    assert "stackTrace" not in ran.stdout
    assert "Approve.Release" not in ran.stdout.split("Build.TestAndPackage failed")[0].split("Succeeded")[-1]


FAILING_COMMANDS = {
    "name": "Build",
    "actions": [
        {
            "name": "Test",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "inputArtifacts": [{"name": "Src"}],
            "commands": ['for i in $(seq 1 30); do echo "output line $i"; done', "false"],
        }
    ],
}


def test_a_failed_commands_action_is_shown_in_one_line_with_its_log_tail_by_run_and_show(tmp_path: Path) -> None:
    # Given a pipeline whose Commands action prints 30 lines and then fails
    bare, work = repositories(tmp_path)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "the sample app")
    git(work, "push", "--quiet", "origin", "main")
    path = tmp_path / "failing.yaml"
    path.write_text(yaml.safe_dump(pipeline("failing", bare, [FAILING_COMMANDS])))
    data = tmp_path / ".stepline"
    line = "Build.Test failed: BuildFailedError — phase BUILD failed: `false` exited with status 1"
    # When it runs quietly (no log streamed), and is shown again afterwards
    ran = stepline("run", str(path), "--quiet", cwd=tmp_path, data=data)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    name = re.search(r"stepline show (\S+)", ran.stdout)[1]  # type: ignore[index]
    shown = stepline("show", name, cwd=tmp_path, data=data)
    for said in (ran, shown):
        # Then each says what failed in one line, then the log's last lines and where the log is
        lines = said.stdout.splitlines()
        assert line in lines, said.stdout
        after = "\n".join(lines[lines.index(line) :])
        assert "output line 30" in after
        assert "output line 2\n" not in after  # the tail, not the whole log
        assert f"log: {data}/logs/failing/{name}/Build.Test.log" in after.replace("\n", "")
        # And no stack trace or handler source reaches the terminal
        for leak in ("stackTrace", "Traceback", 'File "', "errorMessage", "app.py"):
            assert leak not in said.stdout + said.stderr


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["run", "missing.yaml"], "missing.yaml: invalid"),
        (["run", str(EXAMPLES / "local-demo.yaml"), "--source", "nothing"], "--source 'nothing': write NAME=PATH"),
        (["show", "no-such-run"], ".stepline does not exist, so it holds no runs"),
        (
            ["run", str(EXAMPLES / "friend-reminders.json")],
            "Source reads CodeCommit repository 'FriendReminders': pass --source FriendReminders=PATH",
        ),
    ],
)
def test_bad_input_is_named_in_one_line(tmp_path: Path, arguments: list[str], says: str) -> None:
    ran = stepline(*arguments, cwd=tmp_path, data=tmp_path / ".stepline")
    assert ran.returncode in {1, 2}
    assert says in ran.stderr
    assert "Traceback" not in ran.stderr


def test_on_a_terminal_the_run_is_drawn_live_and_asks_for_the_approval(tmp_path: Path) -> None:
    # Given a release pipeline, and `stepline run` on a terminal (a pseudo-terminal here)
    path, commit = release_pipeline(tmp_path)
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "stepline", "run", str(path), "--data", str(tmp_path / ".stepline")],
        cwd=tmp_path,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"},
    )
    os.close(terminal)
    seen = b""

    def read_until(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while text not in seen:
            assert time.monotonic() < deadline, f"never saw {text!r} in {seen[-2000:]!r}"
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(controller, 65536)
                except OSError:  # the terminal closed: the process ended
                    break

    try:
        # When the run reaches the approval, Then it asks on the terminal
        read_until(b"approve? (a)pprove / (r)eject:")
        os.write(controller, b"a\n")
        read_until(b"comment:")
        os.write(controller, b"checked by hand\n")
        # And the pipeline completes with the release made
        assert process.wait(timeout=60) == 0
        read_until(b"pipeline Succeeded")
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    assert b"\x1b[" in seen  # drawn with terminal control sequences: the live view, not lines
    assert (tmp_path / ".stepline" / "releases" / commit).is_dir()


SMOKE_TESTS = {
    "Comment": "The user's own state machine, which the pipeline's Invoke action starts",
    "StartAt": "Check",
    "States": {
        "Check": {"Type": "Pass", "Parameters": {"checked.$": "$.commit", "passed": True}, "Next": "Settle"},
        "Settle": {"Type": "Wait", "Seconds": 1, "End": True},
    },
}


def test_a_step_functions_invoke_finishes_when_its_execution_does(tmp_path: Path) -> None:
    # Given a pipeline whose second stage starts the user's state machine (named by an ARN
    # written for AWS) with the commit as input, and the machine's definition on disk
    bare, work = repositories(tmp_path)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "the sample app")
    git(work, "push", "--quiet", "origin", "main")
    (tmp_path / "smoke-tests.asl.json").write_text(json.dumps(SMOKE_TESTS))
    invoke = {
        "name": "Verify",
        "actions": [
            {
                "name": "SmokeTests",
                "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "StepFunctions", "version": "1"},
                "namespace": "VerifyVariables",
                "configuration": {
                    "StateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:smoke-tests",
                    "ExecutionNamePrefix": "smoke",
                    "Input": '{"commit": "#{SourceVariables.CommitId}"}',
                },
                "outputArtifacts": [{"name": "SmokeReport"}],
            }
        ],
    }
    path = tmp_path / "verify.yaml"
    path.write_text(yaml.safe_dump(pipeline("verify", bare, [invoke])))
    data = tmp_path / ".stepline"
    # When it runs with the state machine given
    ran = stepline(
        "run", str(path), "--state-machine", f"smoke-tests={tmp_path / 'smoke-tests.asl.json'}", cwd=tmp_path, data=data
    )
    # Then the action ends when the execution does, with its variables and output artifact
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Verify.SmokeTests Succeeded" in ran.stdout
    assert "ExecutionArn=arn:aws:states:local:000000000000:execution:smoke-tests:smoke-" in ran.stdout


def test_a_state_machine_not_given_is_named(tmp_path: Path) -> None:
    path, _ = release_pipeline(tmp_path)
    ran = stepline("run", str(path), "--state-machine", "nothing", cwd=tmp_path, data=tmp_path / ".stepline")
    assert ran.returncode == 2
    assert "--state-machine 'nothing': write NAME=FILE" in ran.stderr
