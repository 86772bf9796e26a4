"""Compiled pipelines on the embedded engine, with stub handlers in place of Stepline's actions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepline.compiler import compile_checked, substitute
from stepline.definition import load_valid_pipeline
from stepline.engine import Engine, Functions, ManualClock
from tests.helpers import EXAMPLES, stage_gate


def stub_handlers(engine: Engine) -> Functions:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        artifacts = {
            a["name"]: {"location": f"file:///artifacts/{a['name']}.zip"}
            for a in event["action"].get("outputArtifacts", [])
        }
        result = {"artifacts": artifacts, "variables": {"CommitId": "3f2a9c1e"}}
        if "taskToken" in event:  # a callback action answers later, as a build or an approval does
            engine.send_task_success(event["taskToken"], json.dumps(result))
            return {}
        return result

    names = (
        "SourceFunctionArn",
        "BuildFunctionArn",
        "DeployEcsFunctionArn",
        "DeployCloudFormationFunctionArn",
        "ApprovalFunctionArn",
        "InvokeFunctionArn",
    )
    return Functions(dict.fromkeys(names, handler) | {"StageGateFunctionArn": stage_gate(engine)})


def deploy(engine: Engine, document_path: Path, extra: dict[str, str] | None = None) -> str:
    compiled = compile_checked(load_valid_pipeline(document_path).pipeline)
    resources = {name: name for name in compiled.placeholders} | (extra or {})
    return str(
        engine.create_state_machine(document_path.stem, substitute(compiled.definition, resources))["stateMachineArn"]
    )


@pytest.mark.parametrize("example", sorted(EXAMPLES.iterdir()), ids=lambda p: p.name)
def test_every_example_runs_on_the_engine(example: Path) -> None:
    engine = Engine(clock=ManualClock())
    engine.functions = stub_handlers(engine)
    execution = engine.start_execution(deploy(engine, example), "first", "{}")["executionArn"]
    described = engine.run_until_done(execution, skip_waits=True)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    output = json.loads(described["output"])
    assert output["variables"]["codepipeline"] == {"PipelineExecutionId": "first"}


def test_a_lambda_deploy_runs_its_nested_state_machine_here(tmp_path: Path) -> None:
    # Given the FriendReminders pipeline deploying to Lambda, and a stand-in for the static
    # traffic-shifting machine (moto cannot run this nested shape; see tests/functional)
    engine = Engine(clock=ManualClock())
    engine.functions = stub_handlers(engine)
    shifter = engine.create_state_machine(
        "lambda-deploy",
        {
            "StartAt": "Shift",
            "States": {
                "Shift": {
                    "Type": "Pass",
                    "Parameters": {"artifacts": {}, "variables": {"FunctionVersion": "7"}},
                    "End": True,
                }
            },
        },
    )["stateMachineArn"]
    document = json.loads((EXAMPLES / "friend-reminders.json").read_text())["pipeline"]
    document["pipelineType"] = "V2"
    document["stages"][2]["actions"][0] = {
        "name": "Deploy",
        "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "Lambda", "version": "1"},
        "configuration": {"FunctionName": "reminders-api", "DeployStrategy": "Linear10PercentEvery1Minute"},
        "inputArtifacts": [{"name": "BuildArtifact"}],
        "namespace": "DeployVariables",
    }
    path = tmp_path / "lambda.json"
    path.write_text(json.dumps(document))
    machine = deploy(engine, path, {"LambdaDeployStateMachineArn": shifter})
    # When it runs
    described = engine.run_until_done(engine.start_execution(machine, "canary", "{}")["executionArn"])
    # Then the nested execution ran and its variables landed in the action's namespace
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["variables"]["DeployVariables"] == {"FunctionVersion": "7"}
    nested = engine.list_executions(shifter)["executions"]
    assert [run["status"] for run in nested] == ["SUCCEEDED"]
