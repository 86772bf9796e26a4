"""A build runs under a supervisor that outlives whoever asked for it (stepline.actions.build.supervisor):
killed callers are succeeded by adopters, a killed supervisor is never followed by a second run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stepline.actions.build.buildspec import parse_buildspec
from stepline.actions.build.runner import BuildInterrupted, BuildRequest, run_build
from stepline.actions.build.supervisor import Runs, RunState
from tests.e2e.local_server import processes_touching, wait_for

# A deploy: says it began, waits for the test's go-ahead (a file), then appends its line.
DEPLOY = """
version: 0.2
phases:
  build:
    commands:
      - echo begun >> "$MARKS"
      - while [ ! -e "$GO" ]; do sleep 0.05; done
      - echo deployed >> "$MARKS"
"""

# Runs the same build from another process, so that process can be killed.
CALLER = """
import sys
from pathlib import Path
from stepline.actions.build.buildspec import parse_buildspec
from stepline.actions.build.runner import BuildRequest, run_build
from stepline.actions.build.supervisor import Runs

home = Path(sys.argv[1])
request = BuildRequest(
    source=home / "src",
    buildspec=parse_buildspec(sys.argv[2], "buildspec.yml"),
    log=home / "build.log",
    environment={"MARKS": str(home / "marks"), "GO": str(home / "go")},
)
print(run_build(request, Runs(home / "runs").run("attempt-1")).status, flush=True)
"""


def request(home: Path) -> BuildRequest:
    (home / "src").mkdir(exist_ok=True)
    return BuildRequest(
        source=home / "src",
        buildspec=parse_buildspec(textwrap.dedent(DEPLOY), "buildspec.yml"),
        log=home / "build.log",
        environment={"MARKS": str(home / "marks"), "GO": str(home / "go")},
    )


def start_caller(home: Path) -> subprocess.Popen[str]:
    request(home)  # makes the source folder
    return subprocess.Popen(
        [sys.executable, "-c", CALLER, str(home), textwrap.dedent(DEPLOY)], stdout=subprocess.PIPE, text=True
    )


def marks(home: Path) -> list[str]:
    path = home / "marks"
    return path.read_text().split() if path.exists() else []


def test_a_killed_callers_build_is_adopted_and_runs_once(tmp_path: Path) -> None:
    # Given a build started by a process that is then killed mid-build
    caller = start_caller(tmp_path)
    wait_for(lambda: marks(tmp_path) == ["begun"], "the build to begin")
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    run = Runs(tmp_path / "runs").run("attempt-1")
    assert run.state() is RunState.RUNNING  # its supervisor lives on
    # When the same attempt is asked for again (as the engine does after a restart)
    (tmp_path / "go").touch()
    result = run_build(request(tmp_path), run)
    # Then the running build was waited for, not started again
    assert result.status == "SUCCEEDED"
    assert marks(tmp_path) == ["begun", "deployed"]
    # And asking once more reads the outcome back, running nothing
    assert run_build(request(tmp_path), run).status == "SUCCEEDED"
    assert marks(tmp_path) == ["begun", "deployed"]


def test_a_build_whose_supervisor_was_killed_is_never_run_again(tmp_path: Path) -> None:
    # Given a build whose supervisor is killed mid-build (as if the machine stopped)
    caller = start_caller(tmp_path)
    wait_for(lambda: marks(tmp_path) == ["begun"], "the build to begin")
    run = Runs(tmp_path / "runs").run("attempt-1")
    os.kill(int(run.read_file("supervisor.pid") or "0"), signal.SIGKILL)
    caller.wait(timeout=60)
    # When the build's shell would go on
    (tmp_path / "go").touch()
    # Then it does not (it died with its supervisor), and asking again refuses to run it twice
    assert run.state() is RunState.INTERRUPTED
    with pytest.raises(BuildInterrupted, match="it may have partly run, so Stepline does not run it again"):
        run_build(request(tmp_path), run)
    wait_for(lambda: not processes_touching(tmp_path), "the build's processes to be gone")
    assert marks(tmp_path) == ["begun"]


def test_a_stopped_build_ends_its_whole_process_group(tmp_path: Path) -> None:
    # Given a build waiting in the middle of its deploy
    caller = start_caller(tmp_path)
    wait_for(lambda: marks(tmp_path) == ["begun"], "the build to begin")
    run = Runs(tmp_path / "runs").run("attempt-1")
    # When it is stopped
    assert run.stop()
    # Then the caller hears it stopped, and the deploy never happened
    assert caller.stdout is not None
    assert caller.stdout.read().strip() == "STOPPED"
    assert caller.wait(timeout=60) == 0
    (tmp_path / "go").touch()
    assert run.state() is RunState.EXITED
    assert marks(tmp_path) == ["begun"]
