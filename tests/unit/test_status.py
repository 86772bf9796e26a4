"""An execution's history read back as a pipeline run: the one reading the CLI and console share."""

from __future__ import annotations

import json
from typing import Any

from stepline.compiler import compile_checked, substitute
from stepline.definition import parse_pipeline
from stepline.engine import Engine, Functions, ManualClock
from stepline.status import read_run
from tests.helpers import action, codebuild, git_source, pipeline


def handlers(engine: Engine) -> Any:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["action"]["name"] == "Lint":
            raise RuntimeError("lint found 3 problems")
        outputs = event["action"].get("outputArtifacts", [])
        artifacts = {a["name"]: {"location": f"file:///a/{a['name']}.zip"} for a in outputs}
        result = {"artifacts": artifacts, "variables": {"CommitId": "3f2a9c1e", "CommitMessage": "Fix the schedule"}}
        if "taskToken" in event:  # a build answers its token later, as the callbacks function does
            engine.send_task_success(event["taskToken"], json.dumps(result))
            return {}
        return result

    return handler


def test_a_failed_parallel_action_reads_as_failed_its_sibling_as_succeeded_and_later_stages_as_pending() -> None:
    # Given a pipeline whose Build stage runs Unit and Lint side by side, Lint failing
    document = pipeline(
        ("Source", [git_source(namespace="SourceVariables")]),
        ("Build", [codebuild("Unit", output="Built"), codebuild("Lint")]),
        ("Release", [action("Announce", "Invoke", "Lambda", configuration={"FunctionName": "announce"})]),
    )
    declared = parse_pipeline(document, "p.json").pipeline
    compiled = compile_checked(declared)
    engine = Engine(clock=ManualClock())
    engine.functions = Functions(dict.fromkeys(compiled.placeholders, handlers(engine)))
    definition = substitute(compiled.definition, {p: p for p in compiled.placeholders})
    machine = engine.create_state_machine("p", definition)["stateMachineArn"]
    arn = engine.start_execution(machine, "run-1", "{}")["executionArn"]
    described = engine.run_until_done(arn, skip_waits=True)
    # When its history is read
    events = engine.get_execution_history(arn)["events"]
    run = read_run("demo", [s.name for s in declared.stages], compiled.actions, described, events)
    # Then the run failed at Lint, Unit finished beside it, and Release never started
    assert run.status == "Failed"
    statuses = {f"{a.stage}.{a.name}": a.status for a in run.actions}
    assert statuses == {
        "Source.Checkout": "Succeeded",
        "Build.Unit": "Succeeded",
        "Build.Lint": "Failed",
        "Release.Announce": "Pending",
    }
    lint = run.failed_action()
    assert lint is not None
    assert "lint found 3 problems" in lint.cause
    # And outputs and the commit come from the actions' results
    unit = next(a for a in run.actions if a.name == "Unit")
    assert list(unit.artifacts) == ["Built"]
    assert run.commit() == ("3f2a9c1e", "Fix the schedule")
    assert [stage.status for stage in run.stages] == ["Succeeded", "Failed", "Pending"]
    assert [[a.name for a in lane] for lane in run.stages[1].lanes()] == [["Unit", "Lint"]]
