"""An execution's history read back as a pipeline run: the one reading the CLI and console share."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stepline.actions.errors import BuildFailedError
from stepline.compiler import compile_checked, substitute
from stepline.definition import parse_pipeline
from stepline.engine import Engine, Functions, ManualClock
from stepline.status import log_tail, read_run
from tests.helpers import action, codebuild, git_source, pipeline, stage_gate


def gate(engine: Engine) -> dict[str, Any]:
    return {"StageGateFunctionArn": stage_gate(engine)}


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
    engine.functions = Functions(dict.fromkeys(compiled.placeholders, handlers(engine)) | gate(engine))
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


# --- failures, read for people ---------------------------------------------------------------

HOUR = 3600.0


class Stubs:
    """Stand-in handlers: each action does what ``behaviour`` says for its name."""

    def __init__(self, engine: Engine, behaviour: dict[str, Any]) -> None:
        self.engine, self.behaviour = engine, behaviour

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        what = self.behaviour.get(event["action"]["name"], "succeed")
        if isinstance(what, Exception):
            raise what
        if what == "wait":  # a callback nobody answers: a build that never reports, an ignored approval
            return {}
        if isinstance(what, tuple):  # answered with a failure, as the callbacks and the review page do
            self.engine.send_task_failure(event["taskToken"], *what)
            return {}
        result = {"artifacts": {}, "variables": {"CommitId": "3f2a9c1e"}}
        if "taskToken" in event:
            self.engine.send_task_success(event["taskToken"], json.dumps(result))
            return {}
        return result


def run_with(document: dict[str, Any], behaviour: dict[str, Any], *, advance: float = 0) -> Any:
    """Run ``document`` on the engine with stub handlers; ``advance`` moves the clock past a timeout."""
    declared = parse_pipeline(document, "p.json").pipeline
    compiled = compile_checked(declared)
    clock = ManualClock()
    engine = Engine(clock=clock)
    engine.functions = Functions(dict.fromkeys(compiled.placeholders, Stubs(engine, behaviour)) | gate(engine))
    definition = substitute(compiled.definition, {p: p for p in compiled.placeholders})
    machine = engine.create_state_machine("p", definition)["stateMachineArn"]
    arn = engine.start_execution(machine, "run-1", "{}")["executionArn"]
    described = engine.run_until_done(arn, skip_waits=True)
    if advance:
        clock.advance(advance)
        engine.run()  # the task's timer is due: it times out
        described = engine.run_until_done(arn, skip_waits=True)
    events = engine.get_execution_history(arn)["events"]
    return read_run("demo", [s.name for s in declared.stages], compiled.actions, described, events), events


def build_pipeline(**build: Any) -> dict[str, Any]:
    return pipeline(
        ("Source", [git_source(namespace="SourceVariables")]),
        ("Build", [codebuild("Test", output="Built", **build)]),
        ("Approve", [action("Release", "Approval", "Manual", timeoutInMinutes=60)]),
    )


def test_a_build_failure_reads_as_one_line_naming_the_action_error_and_phase() -> None:
    # Given a build whose handler fails with Stepline's message (the action's label first)
    failure = BuildFailedError("Build.Test: phase BUILD failed: `pytest -q` exited with status 1")
    # When the run is read
    run, _ = run_with(build_pipeline(), {"Test": failure})
    # Then one line names the action, the error and the cause, once each, with no JSON in it
    found = run.failure()
    assert found is not None
    assert found.line == "Build.Test failed: BuildFailedError — phase BUILD failed: `pytest -q` exited with status 1"
    test = run.failed_action()
    assert (test.error, test.cause) == ("BuildFailedError", "phase BUILD failed: `pytest -q` exited with status 1")
    # And the failed action shows none of the state it was given as if it were its output
    assert (test.artifacts, test.variables) == ({}, {})
    # And the run's own cause reads the same
    assert run.cause == test.cause


def test_an_unexpected_exception_is_named_without_its_stack_trace_which_goes_to_the_log() -> None:
    # Given a handler with a bug: a KeyError, not one of Stepline's action errors
    seen: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger("stepline").addHandler(catcher)
    try:
        # When the pipeline runs and is read
        run, events = run_with(build_pipeline(), {"Test": KeyError("ProjectName")})
    finally:
        logging.getLogger("stepline").removeHandler(catcher)
    # Then the line says what was raised and where the traceback is
    found = run.failure()
    assert found is not None
    assert found.line == (
        "Build.Test failed: KeyError — 'ProjectName' (unexpected: its traceback is in the server's log)"
    )
    # And no stack trace or source path is stored in the history, or shown
    history = json.dumps(events, default=str)
    assert "stackTrace" not in history
    assert 'File \\"' not in history
    assert ".py" not in found.line
    # And the server's log has the traceback
    logged = [record for record in seen if record.exc_info]
    assert logged
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], KeyError)


def test_a_rejected_approval_names_the_reviewer_and_comment() -> None:
    rejected = ("ApprovalRejected", "rejected by Grace: not during the freeze")
    run, _ = run_with(build_pipeline(), {"Release": rejected})
    found = run.failure()
    assert found is not None
    assert found.line == "Approve.Release failed: ApprovalRejected — rejected by Grace: not during the freeze"


def test_an_expired_approval_reads_as_expired() -> None:
    # Given an approval nobody decides, When its 60 minutes pass
    run, _ = run_with(build_pipeline(), {"Release": "wait"}, advance=HOUR)
    # Then it reads as expired, not as States.Timeout
    found = run.failure()
    assert found is not None
    assert found.line == (
        "Approve.Release failed: ApprovalExpired — the approval expired: nobody approved or rejected it within 60 minutes"
    )


def test_a_build_that_never_reports_times_out_with_its_timeout_named() -> None:
    # Given a build whose end is never reported (CodeBuild's event lost), When 8 hours pass
    run, _ = run_with(build_pipeline(), {"Test": "wait"}, advance=8 * HOUR)
    # Then the line says the action did not finish within its timeout
    found = run.failure()
    assert found is not None
    assert (
        found.line == "Build.Test failed: States.Timeout — the action did not finish within its timeout of 480 minutes"
    )


def test_a_local_build_that_times_out_names_the_phase_and_command() -> None:
    timed_out = BuildFailedError(
        "Build.Test: the build timed out after 3600 seconds in phase BUILD running `sleep 7200`"
    )
    run, _ = run_with(build_pipeline(), {"Test": timed_out})
    found = run.failure()
    assert found is not None
    assert found.line == (
        "Build.Test failed: BuildFailedError — the build timed out after 3600 seconds in phase BUILD running `sleep 7200`"
    )


def lambda_failure_history(cause: str, error: str = "BuildFailedError") -> tuple[Any, list[dict[str, Any]]]:
    """A Step Functions history (boto3's shapes) in which Build.Test's Lambda raised."""
    document = build_pipeline()
    compiled = compile_checked(parse_pipeline(document, "p.json").pipeline)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    record = {"stage": "Build", "action": "Test", "error": error, "detail": {"Error": error, "Cause": cause}}
    events = [
        {
            "type": "TaskStateEntered",
            "timestamp": at,
            "stateEnteredEventDetails": {"name": "Build.Test", "input": "{}"},
        },
        {"type": "TaskFailed", "timestamp": at, "taskFailedEventDetails": {"error": error, "cause": cause}},
        {
            "type": "PassStateEntered",
            "timestamp": at,
            "stateEnteredEventDetails": {
                "name": "Build.Test failed",
                "input": json.dumps({"error": {"Error": error, "Cause": cause}}),
            },
        },
    ]
    described = {
        "name": "run-1",
        "executionArn": "arn:aws:states:us-east-1:111122223333:execution:stepline-demo:run-1",
        "status": "FAILED",
        "startDate": at,
        "stopDate": at,
        "error": "ActionFailed",
        "cause": json.dumps(record),
        "input": "{}",
    }
    return read_run("demo", ["Source", "Build", "Approve"], compiled.actions, described, events), events


def test_on_aws_a_lambda_error_shows_its_message_not_its_stack_trace() -> None:
    # Given the cause Lambda gives Step Functions for an unhandled exception on AWS
    cause = json.dumps(
        {
            "errorMessage": "Build.Test: the buildspec is not YAML: line 3",
            "errorType": "ConfigurationError",
            "requestId": "5b7e3b2a-8a7d-4a0b-9d55-1f2a3b4c5d6e",
            "stackTrace": [
                '  File "/var/task/app.py", line 24, in lambda_handler\n    raise ConfigurationError(...)\n'
            ],
        }
    )
    # When the run is read
    run, _ = lambda_failure_history(cause, "ConfigurationError")
    # Then people read the message, once, and no trace
    found = run.failure()
    assert found is not None
    assert found.line == "Build.Test failed: ConfigurationError — the buildspec is not YAML: line 3"
    assert run.cause == "the buildspec is not YAML: line 3"
    assert "/var/task" not in json.dumps(dataclasses.asdict(run), default=str)


def test_on_aws_a_runtime_error_of_lambda_itself_is_unexpected() -> None:
    cause = json.dumps({"errorMessage": "Unable to import module 'app'", "errorType": "Runtime.ImportModuleError"})
    run, _ = lambda_failure_history(cause, "Runtime.ImportModuleError")
    found = run.failure()
    assert found is not None
    assert found.unexpected
    assert "Unable to import module 'app'" in found.line


def test_a_nested_execution_that_failed_names_its_error_not_its_description() -> None:
    # Given a Lambda deploy whose traffic-shifting execution rolled back
    document = pipeline(
        ("Source", [git_source(namespace="SourceVariables")]),
        (
            "Deploy",
            [
                action(
                    "Api",
                    "Deploy",
                    "Lambda",
                    configuration={"FunctionName": "reminders-api", "DeployStrategy": "AllAtOnce"},
                    inputs=["Source"],
                )
            ],
        ),
    )
    declared = parse_pipeline(document, "p.json").pipeline
    compiled = compile_checked(declared)
    engine = Engine(clock=ManualClock())
    engine.functions = Functions(dict.fromkeys(compiled.placeholders, Stubs(engine, {})) | gate(engine))
    rolled_back = {"Type": "Fail", "Error": "RolledBack", "Cause": "alarm reminders-errors fired; live is back on 6"}
    shifter = engine.create_state_machine("shift", {"StartAt": "Roll back", "States": {"Roll back": rolled_back}})
    resources = {p: p for p in compiled.placeholders} | {"LambdaDeployStateMachineArn": shifter["stateMachineArn"]}
    machine = engine.create_state_machine("p", substitute(compiled.definition, resources))["stateMachineArn"]
    arn = engine.start_execution(machine, "run-1", "{}")["executionArn"]
    described = engine.run_until_done(arn, skip_waits=True)
    # When the run is read
    events = engine.get_execution_history(arn)["events"]
    run = read_run("demo", [s.name for s in declared.stages], compiled.actions, described, events)
    # Then the line names the child's error and cause, not its whole description (input included)
    found = run.failure()
    assert found is not None
    assert found.line.startswith("Deploy.Api failed: States.TaskFailed — the nested execution ")
    assert found.line.endswith(" ended FAILED: RolledBack — alarm reminders-errors fired; live is back on 6")
    assert "reminders-api" not in found.line  # the child's input is not recited


def test_a_log_tail_is_its_last_lines_without_colours_and_with_long_lines_cut(tmp_path: Path) -> None:
    # Given a log of 100,000 lines, ending with a coloured line and a minified one
    log = tmp_path / "Build.Test.log"
    lines = [f"line {n}" for n in range(100_000)] + ["\x1b[31mFAILED\x1b[0m test_add", "x" * 5_000]
    log.write_text("\n".join(lines) + "\n")
    # When its tail is read
    tail = log_tail(log)
    # Then it is the last 20 lines, colours gone, the long line cut to a screen's worth
    assert len(tail) == 20
    assert tail[:2] == ["line 99982", "line 99983"]
    assert tail[-2] == "FAILED test_add"
    assert tail[-1] == "x" * 499 + "…"
    # And a missing log has no tail
    assert log_tail(tmp_path / "missing.log") == []
    assert log_tail(None) == []
