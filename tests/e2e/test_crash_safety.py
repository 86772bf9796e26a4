"""An action runs once, whatever happens to `stepline serve`: SIGKILL it again and again while
deploys run; every execution still completes, each deploy happened exactly once, nothing is
left running and no workspace is left behind."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_server import (
    Server,
    commit_and_push,
    pipeline,
    processes_touching,
    repositories,
    stepline,
    wait_for,
)

EXECUTIONS = 20
KILLS = 100


def deploy_stage(deploys: Path) -> dict[str, object]:
    """A Commands deploy that takes a moment, then appends its execution's id to a file."""
    return {
        "name": "Deploy",
        "actions": [
            {
                "name": "Release",
                "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "inputArtifacts": [{"name": "Src"}],
                "commands": ["sleep 0.7", f"echo #{{codepipeline.PipelineExecutionId}} >> {deploys}"],
            }
        ],
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


def test_deploys_run_exactly_once_through_a_hundred_kills(server: Server) -> None:
    # Given a pipeline whose deploy appends a line to a file, and twenty pushes that start it
    deploys = server.home / "deploys.txt"
    bare, work = repositories(server.home)
    server.apply(pipeline("release", bare, [deploy_stage(deploys)]))
    hooked = stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data)
    assert hooked.returncode == 0, hooked.stderr
    for number in range(EXECUTIONS):
        commit_and_push(work, {"release.txt": f"{number}\n"}, f"release {number}")
    wait_for(lambda: len(server.pipeline_executions("release")) == EXECUTIONS, "twenty executions to start")

    # When the server is killed with SIGKILL at random moments, a hundred times, and restarted
    chance = random.Random(20261202)
    for _ in range(KILLS):
        server.kill()
        server.start()  # returns once the server says it is serving: its engine is running
        time.sleep(chance.uniform(0.0, 0.8))  # a random moment to pull the plug, not a measurement

    # Then, left to run, every execution completes
    runs = server.finished("release", count=EXECUTIONS)
    assert [status for _, status in runs] == ["SUCCEEDED"] * EXECUTIONS
    # And each deployed exactly once
    lines = deploys.read_text().split()
    assert sorted(lines) == sorted(name for name, _ in runs)
    # And nothing is left running, and no workspace is left behind
    server.stop()
    assert processes_touching(server.data) == []
    workspaces = server.data / "workspaces"
    assert not workspaces.exists() or list(workspaces.iterdir()) == []
