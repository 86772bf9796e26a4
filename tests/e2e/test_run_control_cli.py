"""Run control's levers from the command line against a running `stepline serve`: real git
pushes through installed hooks, the CLI calling the server's JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_server import APPROVE, Server, commit_and_push, pipeline, repositories, stepline, wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


def test_transitions_and_stop_from_the_command_line(server: Server) -> None:
    # Given a SUPERSEDED pipeline (Source → Approve → Ship) and its repository's hooks installed
    bare, work = repositories(server.home)
    ship = {**APPROVE, "name": "Ship", "actions": [{**APPROVE["actions"][0], "name": "Confirm"}]}
    del ship["actions"][0]["configuration"]
    server.apply(pipeline("release", bare, [APPROVE, ship], executionMode="SUPERSEDED"))
    hooked = stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data)
    assert hooked.returncode == 0, hooked.stderr

    def cli(*arguments: str) -> tuple[int, str]:
        ran = stepline(*arguments, "--url", server.url, cwd=server.home, data=server.data)
        return ran.returncode, (ran.stdout + ran.stderr).strip()

    # When the transition into Approve is disabled with a reason, Then the transitions say so
    assert cli("disable-transition", "release", "Approve", "--reason", "audit until Friday") == (
        0,
        "release: the transition into Approve is disabled: audit until Friday",
    )
    assert cli("transitions", "release") == (0, "Approve: disabled: audit until Friday\nShip: enabled")
    # And a push waits in front of it: no approval is requested
    commit_and_push(work, {}, "ready to ship")
    wait_for(lambda: server.pipeline_executions("release"), "the push's execution")
    assert cli("approvals") == (0, "no approvals are waiting")
    # When it is enabled, Then the execution goes on to the approval
    assert cli("enable-transition", "release", "Approve")[0] == 0
    wait_for(lambda: "Approve Release" in cli("approvals")[1], "the approval to be requested")
    # When the execution is stopped and abandoned, Then it is Stopped
    [(name, _)] = server.pipeline_executions("release")
    assert cli("stop", "release", name, "--abandon", "--reason", "wrong commit") == (0, f"{name}: Stopped")
    assert server.finished("release") == [(name, "ABORTED")]
    # And stopping it again, or a stage that does not exist, says what is wrong and exits 1
    code, said = cli("stop", "release", name)
    assert (code, "not in progress" in said) == (1, True), said
    code, said = cli("disable-transition", "release", "Nope", "--reason", "x")
    assert (code, "release has no stage 'Nope'" in said) == (1, True), said
