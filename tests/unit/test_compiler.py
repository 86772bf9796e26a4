"""Pipeline → ASL: golden output, determinism, and the shape every runtime depends on."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from stepline.compiler import (
    CompilationError,
    check_definition,
    compile_checked,
    compile_pipeline,
    history_event_bound,
    iter_states,
    substitute,
)
from stepline.compiler.asl import FAILED, SUCCEEDED
from stepline.definition import load_valid_pipeline
from stepline.definition.models import PipelineDeclaration
from tests.helpers import (
    EXAMPLES,
    GOLDEN,
    action,
    approval,
    codebuild,
    git_source,
    maximal,
    minimal,
    pipeline,
    write,
)

EXAMPLE_FILES = sorted(EXAMPLES.iterdir())


def compiled(document: dict[str, Any]) -> dict[str, Any]:
    return compile_checked(PipelineDeclaration.model_validate(document)).definition


def tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(scope: dict[str, Any]) -> None:
        for name, state in scope["States"].items():
            if state["Type"] == "Task":
                found[name] = state
            for branch in state.get("Branches", []):
                walk(branch)

    walk(definition)
    return found


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda p: p.name)
def test_golden_output(example: Path) -> None:
    # Given an example pipeline, When compiled, Then the output is exactly the pinned definition
    text = compile_checked(load_valid_pipeline(example).pipeline).to_json()
    golden = GOLDEN / f"{example.stem}.asl.json"
    if os.environ.get("STEPLINE_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"run with STEPLINE_UPDATE_GOLDEN=1 to create {golden.name}"
    assert text == golden.read_text()


def test_output_is_byte_identical_across_runs_and_formats(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "friend-reminders.json").read_text())
    as_yaml = write(tmp_path, document["pipeline"], "same.yaml")
    first = compile_checked(load_valid_pipeline(EXAMPLES / "friend-reminders.json").pipeline).to_json()
    again = compile_checked(load_valid_pipeline(EXAMPLES / "friend-reminders.json").pipeline).to_json()
    from_yaml = compile_checked(load_valid_pipeline(as_yaml).pipeline).to_json()
    assert first == again == from_yaml


def test_actions_run_in_run_order_and_stages_in_sequence() -> None:
    # Given a stage with runOrder 2 declared before runOrder 1
    document = pipeline(
        ("Source", [git_source()]),
        ("Build", [codebuild("Second", runOrder=2), codebuild("First", runOrder=1, output="Jar")]),
        ("Release", [approval()]),
    )
    states = compiled(document)["States"]
    # Then control flows Source → First → Second → Approve → succeeded, each stage entered
    # through its gate, and the stages released before the end
    path, name = [], compiled(document)["StartAt"]
    while name not in (SUCCEEDED, FAILED):
        path.append(name)
        name = states[name]["Next"]
    assert [n for n in path if states[n]["Type"] == "Task"] == [
        "Enter Source",
        "Source.Checkout",
        "Enter Build",
        "Build.First",
        "Build.Second",
        "Enter Release",
        "Release.Approve",
        "Release stages",
    ]


def test_same_run_order_runs_in_parallel_and_siblings_finish_when_one_fails() -> None:
    document = pipeline(("Source", [git_source()]), ("Build", [codebuild("Image", output="I"), codebuild("Tests")]))
    states = compiled(document)["States"]
    group = states["Build runOrder 1"]
    assert group["Type"] == "Parallel"
    assert [branch["StartAt"] for branch in group["Branches"]] == ["Build.Image", "Build.Tests"]
    for branch in group["Branches"]:
        task = branch["States"][branch["StartAt"]]
        failure = branch["States"][task["Catch"][0]["Next"]]
        # A failing action ends its branch normally, recording the failure, so siblings are not cancelled
        assert failure == {
            "Type": "Pass",
            "Parameters": {
                "failure": {
                    "stage": "Build",
                    "action": branch["StartAt"].split(".")[1],
                    "error.$": "$.error.Error",
                    "detail.$": "$.error",
                }
            },
            "End": True,
        }
    check = states[group["Next"]]
    assert check["Type"] == "Choice"
    assert group["ResultSelector"] == {"a0.$": "$[0]", "a1.$": "$[1]"}
    assert [c["Variable"] for c in check["Choices"]] == ["$.group.a0.failure", "$.group.a1.failure"]
    assert {states[c["Next"]]["Next"] for c in check["Choices"]} == {"Release stages after failure"}
    assert states["Release stages after failure"]["Next"] == FAILED


def test_every_action_retries_transient_errors_and_catches_everything_else() -> None:
    for example in EXAMPLE_FILES:
        definition = compile_checked(load_valid_pipeline(example).pipeline).definition
        for name, task in tasks(definition).items():
            if name.startswith("Enter ") or name.startswith("Release stages"):
                continue  # run control's own tasks (test_run_control_states)
            assert "Lambda.TooManyRequestsException" in task["Retry"][0]["ErrorEquals"] or task["Resource"].startswith(
                "arn:aws:states:::states:"
            ), name
            assert "States.ALL" not in task["Retry"][0]["ErrorEquals"], name
            # The last catch takes everything to the failure record; only approvals catch more.
            assert task["Catch"][-1] == {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": f"{name} failed",
            }
            if "Approval" not in task["Comment"]:
                assert len(task["Catch"]) == 1, name
            else:  # an approval also ends as expired, or superseded by a newer execution
                assert [c["ErrorEquals"] for c in task["Catch"]][:2] == [["States.Timeout"], ["Superseded"]], name


def test_an_approval_nobody_decides_fails_as_expired() -> None:
    # Given an approval with a 90-minute timeout
    document = minimal()
    document["stages"][1]["actions"] = [
        {
            "name": "Approve",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
            "timeoutInMinutes": 90,
        }
    ]
    # When compiled
    states = compiled(document)["States"]
    # Then its timeout goes through an "expired" record to the usual failure record
    assert states["Build.Approve"]["TimeoutSeconds"] == 5400
    assert states["Build.Approve"]["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "ResultPath": "$.error",
        "Next": "Build.Approve expired",
    }
    expired = states["Build.Approve expired"]
    assert expired["Result"]["Error"] == "ApprovalExpired"
    assert "expired" in expired["Result"]["Cause"]
    assert "90 minutes" in expired["Result"]["Cause"]
    assert expired["Next"] == "Build.Approve failed"


def test_failure_path_records_stage_action_and_error_and_ends_the_execution() -> None:
    states = compiled(minimal())["States"]
    assert states["Build.Build failed"] == {
        "Type": "Pass",
        "Comment": "Records that Build.Build failed, and why.",
        "Parameters": {
            "stage": "Build",
            "action": "Build",
            "error.$": "$.error.Error",
            "detail.$": "$.error",
        },
        "ResultPath": "$.failure",
        "Next": "Release stages after failure",
    }
    assert states["Release stages after failure"]["Next"] == FAILED
    assert states[FAILED]["Error"] == "ActionFailed"
    assert states[FAILED]["CausePath"] == "States.JsonToString($.failure)"


def test_builds_and_approvals_wait_for_a_task_token_with_their_timeouts() -> None:
    document = pipeline(
        ("Source", [git_source()]),
        ("Build", [codebuild("Build")]),
        ("Gate", [approval("Default"), approval("Quick", runOrder=2, timeoutInMinutes=30)]),
    )
    found = tasks(compiled(document))
    assert found["Source.Checkout"]["Resource"] == "arn:aws:states:::lambda:invoke"
    assert "taskToken.$" not in found["Source.Checkout"]["Parameters"]["Payload"]
    for name in ("Build.Build", "Gate.Default", "Gate.Quick"):
        assert found[name]["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
        assert found[name]["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    assert found["Gate.Default"]["TimeoutSeconds"] == 7 * 24 * 3600
    assert found["Gate.Quick"]["TimeoutSeconds"] == 30 * 60
    assert found["Build.Build"]["TimeoutSeconds"] == 8 * 3600


def test_state_carries_references_and_results_land_in_the_actions_namespace() -> None:
    # Given the minimal pipeline (a source, then a build with a namespace)
    definition = compiled(minimal())
    source, build = tasks(definition)["Source.Checkout"], tasks(definition)["Build.Build"]
    payload = build["Parameters"]["Payload"]
    # Then each action reads the execution state from variables, namespaces produced before it included
    assert payload["artifacts.$"] == "$artifacts"
    assert payload["variables"] == {
        "codepipeline": {"PipelineExecutionId.$": "$$.Execution.Name"},
        "variables.$": "$pipelineVariables",
        "SourceVariables.$": "$ns_SourceVariables",
    }
    assert set(source["Parameters"]["Payload"]["variables"]) == {"codepipeline", "variables.$"}
    assert payload["action"]["configuration"] == {"ProjectName": "Build"}
    # And its Task merges what it produced as it succeeds, from its raw result (Assign reads it
    # before ResultSelector): a callback's result is the action's result itself, an invoke's is in Payload
    assert build["Assign"] == {
        "artifacts.$": "States.JsonMerge($artifacts, $.artifacts, false)",
        "ns_BuildVariables.$": "$.variables",
    }
    assert source["Assign"]["artifacts.$"] == "States.JsonMerge($artifacts, $.Payload.artifacts, false)"
    # While its own outputs stay in the state, where a run is read back from
    assert build["ResultSelector"] == {
        "artifacts.$": "$.artifacts",
        "variables": {"BuildVariables.$": "$.variables"},
    }
    assert build["ResultPath"] == "$.outcome"


def test_no_pass_state_follows_an_action_to_merge_its_outputs() -> None:
    # Given an example with single actions and a parallel group
    definition = compile_checked(load_valid_pipeline(EXAMPLES / "release-v2.yaml").pipeline).definition
    states = definition["States"]
    # Then each single action's Task goes straight on, and a group's check goes on by its Default
    for name, state in states.items():
        if state["Type"] == "Task":
            assert states[state["Next"]]["Type"] != "Pass" or state["Next"] == "Pipeline succeeded", name
        if state["Type"] == "Choice":
            assert "Assign" in state
            assert states[state["Default"]]["Type"] in {"Task", "Parallel", "Succeed"}
    # And the prologue is two Pass states, the execution state assigned by the second
    assert [name for name, state in states.items() if state["Type"] == "Pass" and "failed" not in name][:2] == [
        "Start pipeline",
        "Read input",
    ]
    assert set(states["Read input"]["Assign"]) == {"trigger.$", "artifacts", "pipelineVariables.$"}


def test_namespaces_that_are_not_variable_names_get_distinct_variables() -> None:
    from stepline.compiler.asl import namespace_variable

    assert namespace_variable("Build") == "ns_Build"
    assert namespace_variable("a-b").startswith("ns_a_b_")
    assert namespace_variable("a-b") != namespace_variable("a@b")


def test_lambda_deploy_runs_as_a_nested_execution() -> None:
    deploy = action("Ship", "Deploy", "Lambda", configuration={"FunctionName": "api"}, inputs=["Built"])
    document = {**minimal(), "stages": [*minimal()["stages"], {"name": "Deploy", "actions": [deploy]}]}
    result = compile_checked(PipelineDeclaration.model_validate(document))
    task = tasks(result.definition)["Deploy.Ship"]
    assert task["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert task["Parameters"]["StateMachineArn"] == "${LambdaDeployStateMachineArn}"
    assert task["ResultSelector"]["artifacts.$"] == "$.Output.artifacts"
    assert "LambdaDeployStateMachineArn" in result.placeholders


def test_placeholders_listed_are_exactly_those_used() -> None:
    for example in EXAMPLE_FILES:
        result = compile_checked(load_valid_pipeline(example).pipeline)
        used = set()
        for task in tasks(result.definition).values():
            parameters = task["Parameters"]
            used.add((parameters.get("FunctionName") or parameters["StateMachineArn"])[2:-1])
        assert set(result.placeholders) == used


def test_long_and_colliding_names_stay_unique_and_within_80_characters() -> None:
    long_stage, long_action = "S" * 100, "A" * 100
    document = pipeline(
        ("Source", [git_source()]),
        ("A.B", [codebuild("C", output="One")]),
        ("A", [codebuild("B.C", output="Two")]),
        (long_stage, [codebuild(long_action), codebuild(long_action[:-1] + "B")]),
    )
    definition = compiled(document)
    names = [name for state in [definition] for name in _all_names(state)]
    assert len(names) == len(set(names))
    assert max(len(name) for name in names) <= 80
    assert "A.B.C" in names
    assert "A.B.C #2" in names


def _all_names(scope: dict[str, Any]) -> list[str]:
    names = []
    for name, state in scope["States"].items():
        names.append(name)
        for branch in state.get("Branches", []):
            names.extend(_all_names(branch))
    return names


def test_maximal_pipeline_compiles_within_step_functions_limits() -> None:
    definition = compiled(maximal())
    assert len([name for name in tasks(definition) if "." in name]) == 500  # besides 50 gates and 2 releases
    assert history_event_bound(definition) < 25_000
    assert len(json.dumps(definition)) < 1024 * 1024


def test_a_pipeline_too_large_for_one_definition_is_refused_clearly() -> None:
    # Given 500 actions whose configuration is as long as CodePipeline allows
    document = maximal()
    for stage in document["stages"][1:]:
        for declared in stage["actions"]:
            declared["configuration"]["PrimarySource"] = "x" * 1000
    with pytest.raises(CompilationError) as caught:
        compiled(document)
    assert "Step Functions accepts at most 1,048,576" in str(caught.value)


def test_a_pipeline_that_fits_only_while_its_arns_are_placeholders_is_refused() -> None:
    # Given a pipeline whose compact definition fits 1 MiB with ${Placeholder} resources, but
    # not once each placeholder is an ARN as long as Step Functions and Lambda allow
    from stepline.compiler import definition_bytes, longest_filled

    document = maximal()
    base = compile_pipeline(PipelineDeclaration.model_validate(document))
    growth = definition_bytes(longest_filled(base)) - definition_bytes(base.definition)
    actions = [declared for stage in document["stages"][1:] for declared in stage["actions"]]
    room = 1024 * 1024 - definition_bytes(base.definition)
    pad = (room - growth // 2) // len(actions)  # half the growth still fits, the whole does not
    for declared in actions:
        declared["configuration"]["PrimarySource"] = "x" * pad
    padded = compile_pipeline(PipelineDeclaration.model_validate(document))
    assert definition_bytes(padded.definition) <= 1024 * 1024 < definition_bytes(longest_filled(padded))
    # When it is compiled for deployment, Then it is refused, saying how it was measured
    with pytest.raises(CompilationError) as caught:
        compile_checked(PipelineDeclaration.model_validate(document))
    assert "bytes with its ARNs at their longest; Step Functions accepts at most 1,048,576" in str(caught.value)


def test_substitution_fills_resources_only() -> None:
    run = action("Run", "Compute", "Commands", inputs=["Built"], commands=["echo ${HOME} ${SourceFunctionArn}"])
    document = {**minimal(), "stages": [*minimal()["stages"], {"name": "Run", "actions": [run]}]}
    result = compile_checked(PipelineDeclaration.model_validate(document))
    arns = {name: f"arn:aws:lambda:us-east-1:111122223333:function:{name}" for name in result.placeholders}
    filled = substitute(result.definition, arns)
    found = tasks(filled)
    assert found["Source.Checkout"]["Parameters"]["FunctionName"] == arns["SourceFunctionArn"]
    assert found["Run.Run"]["Parameters"]["Payload"]["action"]["commands"] == ["echo ${HOME} ${SourceFunctionArn}"]
    assert "${" in json.dumps(result.definition)  # the original is untouched


def test_substitution_names_every_missing_placeholder() -> None:
    result = compile_pipeline(PipelineDeclaration.model_validate(minimal()))
    with pytest.raises(CompilationError) as caught:
        substitute(result.definition, {})
    assert caught.value.problems == [
        "no value given for ${BuildFunctionArn}",
        "no value given for ${SourceFunctionArn}",
        "no value given for ${StageGateFunctionArn}",
    ]


def test_action_states_map_task_states_back_to_stage_and_action() -> None:
    result = compile_checked(load_valid_pipeline(EXAMPLES / "release-v2.yaml").pipeline)
    assert [(a.state, a.stage, a.action, a.run_order) for a in result.actions] == [
        ("Source.Checkout", "Source", "Checkout", 1),
        ("Build.Image", "Build", "Image", 1),
        ("Build.UnitTests", "Build", "UnitTests", 1),
        ("Release.Approve", "Release", "Approve", 1),
        ("Release.Announce", "Release", "Announce", 2),
    ]
    every_state = {name for state in iter_states(result.definition) for name in [state.get("Type")]}
    assert every_state >= {"Task", "Pass", "Parallel", "Choice", "Succeed", "Fail"}
    assert check_definition(result.definition) == []


def test_run_control_states_gate_every_stage_and_release_at_every_end() -> None:
    # Given a V2 QUEUED pipeline of three stages, the last with an approval
    document = pipeline(
        ("Source", [git_source()]),
        ("Build", [codebuild("Build")]),
        ("Release", [approval()]),
        pipelineType="V2",
        executionMode="QUEUED",
    )
    states = compiled(document)["States"]
    # Then each stage is entered through a callback to the gate naming the stage it leaves
    gates = {name: state for name, state in states.items() if name.startswith("Enter ")}
    assert list(gates) == ["Enter Source", "Enter Build", "Enter Release"]
    payloads = [gate["Parameters"]["Payload"] for gate in gates.values()]
    assert [(p["stage"], p["previous"], p["mode"]) for p in payloads] == [
        ("Source", None, "QUEUED"),
        ("Build", "Source", "QUEUED"),
        ("Release", "Build", "QUEUED"),
    ]
    assert payloads[2]["approvals"] == ["Approve"]
    assert payloads[2]["supersedeApprovals"] is True
    assert all(g["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken" for g in gates.values())
    assert all(g["Parameters"]["FunctionName"] == "${StageGateFunctionArn}" for g in gates.values())
    # And a gate's refusal ends the run as superseded or stopped, its own failure as a failure
    catches = {c["ErrorEquals"][0]: c["Next"] for c in gates["Enter Build"]["Catch"]}
    assert catches == {
        "Superseded": "Pipeline superseded",
        "Stopped": "Pipeline stopped",
        "States.ALL": "Stage gate failed",
    }
    assert states["Pipeline superseded"]["Error"] == "Superseded"
    assert states["Pipeline stopped"]["Error"] == "Stopped"
    # And both ends release what the execution holds first
    assert states["Release.Approve"]["Next"] == "Release stages"
    assert states["Release stages"]["Next"] == SUCCEEDED
    assert states["Release stages"]["Parameters"]["Payload"]["operation"] == "release"


def test_a_pipeline_variable_opts_out_of_superseding_stale_approvals() -> None:
    document = pipeline(
        ("Source", [git_source()]),
        ("Release", [approval()]),
        pipelineType="V2",
        variables=[{"name": "SteplineSupersedeApprovals", "defaultValue": "false"}],
    )
    payload = compiled(document)["States"]["Enter Release"]["Parameters"]["Payload"]
    assert payload["supersedeApprovals"] is False
