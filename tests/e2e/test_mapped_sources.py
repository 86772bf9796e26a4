"""A CodeCommit source (the form that also runs on AWS) mapped to a local repository with
`stepline apply --source`, the mapping kept with the pipeline: a push there starts it through
the hook, with no STEPLINE_SOURCES given to the server; unmapped, a push says why it started nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.local_server import BUILD, Server, commit_and_push, repositories, stepline


def codecommit_pipeline(name: str) -> dict[str, Any]:
    source = {
        "name": "Source",
        "actions": [
            {
                "name": "Checkout",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                "namespace": "SourceVariables",
                "configuration": {"RepositoryName": "reminders", "BranchName": "main"},
                "outputArtifacts": [{"name": "Src"}],
            }
        ],
    }
    return {"name": name, "pipelineType": "V2", "executionMode": "PARALLEL", "stages": [source, BUILD]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


def test_a_mapped_codecommit_source_is_started_by_pushes_to_its_local_repository(server: Server) -> None:
    # Given a pipeline reading CodeCommit repository "reminders", applied with --source mapping
    # it to a bare repository on this machine (the server was given no STEPLINE_SOURCES)
    bare, work = repositories(server.home)
    path = server.home / "reminders.yaml"

    path.write_text(yaml.safe_dump(codecommit_pipeline("reminders")))
    applied = stepline("apply", str(path), "--source", f"reminders={bare}", cwd=server.home, data=server.data)
    assert applied.returncode == 0, applied.stderr
    # Then apply says pushes to that repository start it
    assert f"pushes to git {bare} (as CodeCommit reminders) branch main (Checkout)" in applied.stdout
    hooked = stepline("hook", "install", str(bare), cwd=server.home, data=server.data)
    assert hooked.returncode == 0, hooked.stderr
    # When the app is pushed to main
    said = commit_and_push(work, {}, "the sample app")
    # Then the push started it, and it fetched the commit from the mapped repository and built it
    assert "stepline: started stepline-reminders main-" in said
    assert [status for _, status in server.finished("reminders")] == ["SUCCEEDED"]


def test_an_unmapped_codecommit_source_is_said_to_start_nothing_and_why(server: Server) -> None:
    # Given the same pipeline applied with no --source
    bare, work = repositories(server.home)
    path = server.home / "unmapped.yaml"

    path.write_text(yaml.safe_dump(codecommit_pipeline("unmapped")))
    applied = stepline("apply", str(path), cwd=server.home, data=server.data)
    assert applied.returncode == 0, applied.stderr
    # Then apply says no push starts it, and why
    assert (
        "nothing: Checkout reads CodeCommit reminders, which no --source maps to a local repository" in applied.stdout
    )
    assert stepline("hook", "install", str(bare), cwd=server.home, data=server.data).returncode == 0
    # When a push reaches the server, Then the hook prints why it started nothing
    said = commit_and_push(work, {}, "the sample app")
    assert f"stepline: refs/heads/main started nothing: unmapped: no source action reads Git repository {bare}" in said
    assert server.pipeline_executions("unmapped") == []
