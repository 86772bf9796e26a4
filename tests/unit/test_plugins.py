"""In-process action plugins: the example package (examples/plugins/stepline-wordcount) made
visible as an installed distribution with its ``stepline.actions`` entry point, discovered as
Python discovers entry points, validated like Stepline's own providers and run in-process by
the local runtime — driven through the CodePipeline API with boto3's client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.definition.plugins import installed
from stepline.local.runtime import LocalRuntime
from stepline.ports.workflows import execution_arn
from tests.codepipeline_client import assert_last_shapes, client
from tests.gitrepo import Repo
from tests.helpers import REPO, action, pipeline

EXAMPLE = REPO / "examples" / "plugins" / "stepline-wordcount"
WORD_COUNT = {"category": "Test", "owner": "Custom", "provider": "WordCount", "version": "1"}


def install_example(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `pip install examples/plugins/stepline-wordcount` leaves for importlib.metadata:
    a dist-info with the package's entry points, on the path with its module."""
    distribution = site / "stepline_wordcount-0.1.0.dist-info"
    distribution.mkdir(parents=True)
    (distribution / "METADATA").write_text("Metadata-Version: 2.1\nName: stepline-wordcount\nVersion: 0.1.0\n")
    entry_points = (EXAMPLE / "pyproject.toml").read_text().split('[project.entry-points."stepline.actions"]')[1]
    declared = entry_points.strip().replace('"', "")  # TOML's quoted value, as entry_points.txt writes it
    (distribution / "entry_points.txt").write_text(f"[stepline.actions]\n{declared}\n")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(site))


class Stack:
    def __init__(self, tmp_path: Path) -> None:
        self.runtime = LocalRuntime(tmp_path / ".stepline", workers=0)
        wiring.install_local_host(self.runtime)
        self.api = client(wiring.api_token())
        self.repo = Repo(tmp_path / "docs")
        self.repo.commit("docs", {"index.md": "one two three\n", "guide/setup.md": "four five\n", "app.py": "x = 1\n"})

    def declaration(self, configuration: dict[str, str]) -> dict[str, Any]:
        source = action(
            "Checkout",
            "Source",
            "Git",
            "Custom",
            configuration={"RepositoryUrl": str(self.repo.path), "BranchName": "main"},
            outputs=["Src"],
        )
        count = action(
            "CountWords",
            "Test",
            "WordCount",
            "Custom",
            configuration=configuration,
            inputs=["Src"],
            outputs=["Counts"],
            namespace="Words",
        )
        return pipeline(
            ("Source", [source]), ("Check", [count]), name="docs", roleArn="arn:aws:iam::111122223333:role/docs"
        )

    def run(self) -> tuple[str, str]:
        started: str = self.api.start_pipeline_execution(name="docs")["pipelineExecutionId"]
        entry = wiring.registry().get("docs")
        assert entry is not None
        arn = execution_arn(entry.state_machine_arn, started)
        return started, str(self.runtime.engine.run_until_done(arn, skip_waits=True, timeout=60)["status"])


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.chdir(tmp_path)
    install_example(tmp_path / "site", monkeypatch)
    installed.cache_clear()
    made = Stack(tmp_path)
    yield made
    assert_last_shapes(made.api)
    made.runtime.close()
    installed.cache_clear()


def test_an_installed_plugin_runs_in_process_and_its_variables_are_the_actions(stack: Stack) -> None:
    # Given the plugin installed, and a pipeline naming its type
    stack.api.create_pipeline(pipeline=stack.declaration({"Pattern": "*.md"}))
    # When the pipeline runs
    started, status = stack.run()
    # Then the plugin counted the Markdown files' words in-process, and its variables are the action's
    assert status == "SUCCEEDED"
    details = stack.api.list_action_executions(pipelineName="docs", filter={"pipelineExecutionId": started})
    count = next(d for d in details["actionExecutionDetails"] if d["actionName"] == "CountWords")
    assert count["output"]["outputVariables"] == {"Words": "5", "Files": "2"}
    assert count["output"]["outputArtifacts"] == [{"name": "Counts"}]
    # And the type is listed with Stepline's own
    assert WORD_COUNT in [t["id"] for t in stack.api.list_action_types(actionOwnerFilter="Custom")["actionTypes"]]


def test_a_plugin_failure_fails_the_action_with_its_message(stack: Stack) -> None:
    # Given a limit the documents exceed
    stack.api.create_pipeline(pipeline=stack.declaration({"MaximumWords": "3"}))
    # When the pipeline runs
    started, status = stack.run()
    # Then the action fails with the plugin's own message
    assert status == "FAILED"
    execution = stack.api.get_pipeline_execution(pipelineName="docs", pipelineExecutionId=started)
    assert "5 words in *.md files; the most allowed is 3" in execution["pipelineExecution"]["statusSummary"]


def test_a_plugin_types_configuration_is_validated_like_stepline_own(stack: Stack) -> None:
    # When a pipeline gives the plugin's type a key it does not take
    with pytest.raises(stack.api.exceptions.InvalidActionDeclarationException) as refused:
        stack.api.create_pipeline(pipeline=stack.declaration({"Patern": "*.md"}))
    # Then the key is named with what the type takes
    assert "is not a configuration key of Test/Custom/WordCount" in str(refused.value)
    assert "MaximumWords, Pattern" in str(refused.value)
    # And a custom type cannot take a plugin's name
    with pytest.raises(stack.api.exceptions.ValidationException):
        stack.api.create_custom_action_type(
            category="Test",
            provider="WordCount",
            version="1",
            inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
            outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
        )
