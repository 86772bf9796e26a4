"""The command line's habits, as a user meets them: a server on any port found through its data
folder, `serve` saying each start and end, id prefixes, a mistyped --data refused rather than
made, and `run --variable`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.local_server import APPROVE, Server, commit_and_push, git, pipeline, repositories, stepline


def pushed_app(home: Path) -> Path:
    """A bare repository holding one commit of the sample app on main."""
    bare, work = repositories(home)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "app")
    git(work, "push", "--quiet", "origin", "main")
    return bare


def _echo(command: str) -> dict[str, Any]:
    return {
        "name": "Deploy",
        "actions": [
            {
                "name": "Say",
                "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "inputArtifacts": [{"name": "Src"}],
                "commands": [command],
            }
        ],
    }


def test_a_server_on_any_port_is_found_through_its_data_folder_and_says_each_start_and_end(tmp_path: Path) -> None:
    # Given `stepline serve` on a port the system chose, with a pipeline whose hook is installed
    server = Server(tmp_path)
    server.start()
    try:
        bare, work = repositories(tmp_path)
        server.apply(pipeline("app", bare, [_echo("echo hello")]))
        # When a client command is given only the data folder (no --url)
        linked = stepline("console", cwd=tmp_path, data=server.data)
        # Then it reaches that server
        assert linked.returncode == 0, linked.stderr
        assert linked.stdout.startswith(f"{server.url}/login?token=")
        hooked = stepline("hook", "install", str(bare), cwd=tmp_path, data=server.data)
        assert hooked.returncode == 0, hooked.stderr
        # When a push starts the pipeline
        commit_and_push(work, {}, "first")
        [(name, status)] = server.finished("app")
        # Then serve said when it started, what started it, and how it ended
        assert status == "SUCCEEDED"
        server.said(rf"stepline: started app {re.escape(name)} \(git push\)")
        server.said(rf"stepline: app {re.escape(name)} Succeeded in \d+\.\ds")
    finally:
        server.stop()
    # And once it stops, its address is gone from the data folder
    assert not (server.data / "server-url").exists()


def test_show_takes_a_prefix_and_a_mistyped_data_folder_is_refused(tmp_path: Path) -> None:
    # Given two runs kept in .stepline
    bare = pushed_app(tmp_path)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(pipeline("p", bare, [_echo("true")])))
    data = tmp_path / ".stepline"
    for name in ("abc-first", "abd-second"):
        assert stepline("run", str(path), "--name", name, "--quiet", cwd=tmp_path, data=data).returncode == 0
    # When show is given the start of a name, Then it shows that execution
    shown = stepline("show", "abc", cwd=tmp_path, data=data)
    assert shown.returncode == 0, shown.stderr
    assert "abc-first" in shown.stdout
    # When the start names two, Then both are named and nothing is shown
    both = stepline("show", "ab", cwd=tmp_path, data=data)
    assert both.returncode == 2
    assert "'ab' starts 2 executions' names (abd-second, abc-first): give more of it" in both.stderr
    # When --data is mistyped, Then the command refuses (exit 2) and makes no empty store
    typo = tmp_path / ".steplin"
    for command in (["executions"], ["show", "abc"], ["metrics", "p"]):
        refused = stepline(*command, cwd=tmp_path, data=typo)
        assert refused.returncode == 2, command
        assert f"{typo} does not exist, so it holds no runs: check --data (or $STEPLINE_DATA)" in refused.stderr
    assert not typo.exists()


def test_run_takes_pipeline_variables(tmp_path: Path) -> None:
    # Given a pipeline declaring the variable Target (default "staging") that its action prints
    bare = pushed_app(tmp_path)
    declared = pipeline("v", bare, [_echo("echo deploying to #{variables.Target}")])
    declared["variables"] = [{"name": "Target", "defaultValue": "staging"}]
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(declared))
    data = tmp_path / ".stepline"
    # When run with --variable Target=production, Then the action sees it
    ran = stepline("run", str(path), "--variable", "Target=production", cwd=tmp_path, data=data)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Deploy.Say │ deploying to production" in ran.stdout
    # And without it, the default
    ran = stepline("run", str(path), cwd=tmp_path, data=data)
    assert "Deploy.Say │ deploying to staging" in ran.stdout
    # And a variable the pipeline does not declare is named before anything runs
    wrong = stepline("run", str(path), "--variable", "Taget=x", cwd=tmp_path, data=data)
    assert wrong.returncode == 2
    assert "--variable Taget: v declares no such variable (declared: Target)" in wrong.stderr


def test_run_and_show_say_who_decided_an_approval_and_what_they_wrote(tmp_path: Path) -> None:
    # Given a pipeline with a manual approval, run with --approve and a comment
    bare = pushed_app(tmp_path)
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(pipeline("a", bare, [APPROVE])))
    data = tmp_path / ".stepline"
    ran = stepline(
        "run", str(path), "--approve", "--comment", "notes checked", "--name", "run-1", cwd=tmp_path, data=data
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # Then the summary, and show later, name the reviewer and the comment
    said = re.compile(r"^Approve\.Release approved by \S+: notes checked$", re.MULTILINE)
    assert said.search(ran.stdout), ran.stdout
    assert said.search(stepline("show", "run-1", cwd=tmp_path, data=data).stdout)
