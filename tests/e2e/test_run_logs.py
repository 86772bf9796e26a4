"""`stepline run`'s build logs as a person reads them in a terminal or CI: each line carries its
action's name, so two builds running side by side stay apart, and each phase says how long it took."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.local_server import git, pipeline, repositories, stepline


def _commands(name: str, word: str) -> dict[str, Any]:
    return {
        "name": name,
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        "inputArtifacts": [{"name": "Src"}],
        "runOrder": 1,
        # Interleaving on purpose: each prints, sleeps, prints again while the other runs.
        "commands": [f"echo {word}-one", "sleep 0.3", f"echo {word}-two"],
    }


def test_parallel_actions_logs_are_prefixed_with_their_names_and_phases_timed(tmp_path: Path) -> None:
    # Given a pipeline whose Build stage runs two Commands actions side by side
    bare, work = repositories(tmp_path)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "app")
    git(work, "push", "--quiet", "origin", "main")
    stage = {"name": "Build", "actions": [_commands("Alpha", "alpha"), _commands("Beta", "beta")]}
    path = tmp_path / "parallel.yaml"
    path.write_text(yaml.safe_dump(pipeline("parallel", bare, [stage])))
    # When it is run with its output piped (as in CI)
    ran = stepline("run", str(path), cwd=tmp_path, data=tmp_path / ".stepline")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    # Then every line of each action's log names that action, never the other
    for word, name in (("alpha", "Build.Alpha"), ("beta", "Build.Beta")):
        mine = [line for line in lines if f"{word}-" in line and "Running command" not in line]
        assert mine == [f"{name} │ {word}-one", f"{name} │ {word}-two"], lines
        echoed = [line for line in lines if f"Running command echo {word}-one" in line]
        assert len(echoed) == 1
        assert echoed[0].startswith(f"{name} │ [Container] ")
    # And each completed phase says how long it took, at least the command's sleep
    completed = [line for line in lines if "Phase complete: BUILD State: SUCCEEDED" in line]
    assert len(completed) == 2
    for line in completed:
        took = re.search(r"\((\d+\.\d)s\)$", line)
        assert took is not None, line
        assert float(took[1]) >= 0.3
