"""Run control's levers through CodePipeline's API, with boto3's client on the real engine:
a stage's inbound transition disabled and enabled (GetPipelineState shows it), an execution
stopped, and each refusal in CodePipeline's words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.codepipeline_client import assert_last_shapes
from tests.unit.test_codepipeline_operations import Stack


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.chdir(tmp_path)
    made = Stack(tmp_path)
    yield made
    assert_last_shapes(made.api)
    made.runtime.close()


def test_a_transition_is_disabled_and_enabled_and_the_state_says_so(stack: Stack) -> None:
    api = stack.api
    api.create_pipeline(pipeline=stack.declaration())
    # When the Build stage's inbound transition is disabled
    api.disable_stage_transition(pipelineName="release", stageName="Build", transitionType="Inbound", reason="freeze")
    # Then GetPipelineState shows it disabled, with the reason
    stages = {s["stageName"]: s for s in api.get_pipeline_state(name="release")["stageStates"]}
    assert stages["Build"]["inboundTransitionState"]["enabled"] is False
    assert stages["Build"]["inboundTransitionState"]["disabledReason"] == "freeze"
    assert stages["Approve"]["inboundTransitionState"]["enabled"] is True
    # When it is enabled again, Then it shows enabled
    api.enable_stage_transition(pipelineName="release", stageName="Build", transitionType="Inbound")
    stages = {s["stageName"]: s for s in api.get_pipeline_state(name="release")["stageStates"]}
    assert stages["Build"]["inboundTransitionState"]["enabled"] is True
    # And a stage the pipeline lacks is CodePipeline's StageNotFoundException
    with pytest.raises(api.exceptions.StageNotFoundException):
        api.disable_stage_transition(pipelineName="release", stageName="Ghost", transitionType="Inbound", reason="x")


def test_an_execution_is_stopped_once(stack: Stack) -> None:
    api = stack.api
    api.create_pipeline(pipeline=stack.declaration())
    started = api.start_pipeline_execution(name="release")["pipelineExecutionId"]
    stack.run("release", started)  # waiting for its approval
    # When it is stopped and abandoned
    stopped = api.stop_pipeline_execution(
        pipelineName="release", pipelineExecutionId=started, abandon=True, reason="wrong branch"
    )
    assert stopped["pipelineExecutionId"] == started
    stack.run("release", started)
    # Then it is Stopped, and stopping it again is refused as not stoppable
    execution = api.get_pipeline_execution(pipelineName="release", pipelineExecutionId=started)
    assert execution["pipelineExecution"]["status"] == "Stopped"
    with pytest.raises(api.exceptions.PipelineExecutionNotStoppableException):
        api.stop_pipeline_execution(pipelineName="release", pipelineExecutionId=started, abandon=True)
