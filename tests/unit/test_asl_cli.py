"""`stepline asl run`: any definition on the embedded engine, outcome as JSON, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stepline.cli import main

HANDLERS = """
def greet(event, context):
    return {"greeting": "hello " + event["who"]}

def explode(event, context):
    raise ValueError("no greeting for " + event["who"])
"""


def definition(tmp_path: Path, function: str = "greet", wait: int = 0) -> Path:
    states = {
        "Greet": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Next": "Nap",
        },
        "Nap": {"Type": "Wait", "Seconds": wait, "End": True},
    }
    path = tmp_path / "hello.asl.json"
    path.write_text(json.dumps({"StartAt": "Greet", "States": states}))
    (tmp_path / "handlers.py").write_text(HANDLERS)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object] | None, str]:
    code = main(["asl", "run", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_a_definition_runs_with_a_python_handler_and_skipped_waits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = definition(tmp_path, wait=7 * 86400)
    code, verdict, _ = run(
        capsys,
        str(path),
        "--input",
        '{"who": "world"}',
        "--function",
        f"greet={tmp_path / 'handlers.py'}:greet",
        "--skip-waits",
    )
    assert (code, verdict) == (
        0,
        {"status": "SUCCEEDED", "output": {"greeting": "hello world"}, "error": None, "cause": None},
    )


def test_a_failing_function_fails_the_execution_with_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = definition(tmp_path, function="explode")
    code, verdict, _ = run(
        capsys, str(path), "--input", '{"who": "nobody"}', "--function", f"explode={tmp_path / 'handlers.py'}:explode"
    )
    assert code == 1
    assert verdict is not None
    assert (verdict["status"], verdict["error"]) == ("FAILED", "ValueError")
    assert json.loads(str(verdict["cause"]))["errorMessage"] == "no greeting for nobody"


def test_input_from_a_file_and_state_kept_in_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = definition(tmp_path)
    (tmp_path / "input.json").write_text('{"who": "file"}')
    database = tmp_path / "state.db"
    code, verdict, _ = run(
        capsys,
        str(path),
        "--input",
        f"@{tmp_path / 'input.json'}",
        "--function",
        f"greet={tmp_path / 'handlers.py'}:greet",
        "--data",
        str(database),
        "--name",
        "first",
    )
    assert code == 0
    assert verdict is not None
    assert verdict["output"] == {"greeting": "hello file"}
    assert database.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--input", "{oops"], "--input is not JSON: line 1, column 2"),
        (["--input", "@/no/such/file.json"], "--input @/no/such/file.json: no such file"),
        (["--function", "greet"], "write NAME=MODULE:CALLABLE"),
        (["--function", "greet=no_such_module_here:greet"], "cannot load no_such_module_here"),
        (["--data", "/no/such/dir/engine.db"], "cannot open the database /no/such/dir/engine.db"),
    ],
)
def test_bad_input_is_named_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    code, verdict, err = run(capsys, str(definition(tmp_path)), *arguments)
    assert (code, verdict) == (2, None)
    assert message in err
    assert "Traceback" not in err


def test_an_invalid_definition_names_the_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.asl.json"
    path.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Gone"}}}))
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert "state 'A': Next 'Gone' is not a state in the state machine" in err


def test_an_unknown_function_is_refused_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "arn.asl.json"
    task = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:absent", "End": True}
    path.write_text(json.dumps({"StartAt": "T", "States": {"T": task}}))
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert "state 'T': no local function 'absent'" in err


def test_an_execution_waiting_for_a_token_is_reported_not_hung(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wait.asl.json"
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "greet", "Payload": {"who": "x", "token.$": "$$.Task.Token"}},
        "End": True,
    }
    path.write_text(json.dumps({"StartAt": "T", "States": {"T": task}}))
    (tmp_path / "handlers.py").write_text(HANDLERS)
    code, verdict, _ = run(capsys, str(path), "--function", f"greet={tmp_path / 'handlers.py'}:greet", "--skip-waits")
    assert code == 1
    assert verdict is not None
    assert verdict["status"] == "RUNNING"
    assert "waits for a task token" in str(verdict["cause"])


def write(tmp_path: Path, definition: dict[str, object]) -> Path:
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(definition))
    return path


def test_a_jsonata_pass_computes_its_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the example: a JSONata Pass whose Output adds one to its input (returned unchanged before)
    path = write(
        tmp_path,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": "{% $states.input.a + 1 %}", "End": True}},
        },
    )
    # When it runs
    code, verdict, _ = run(capsys, str(path), "--input", '{"a": 1}')
    # Then its output is computed
    assert (code, verdict) == (0, {"status": "SUCCEEDED", "output": 2, "error": None, "cause": None})


def test_a_jsonata_choice_condition_and_a_computed_tolerance_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a Choice Condition (refused before) and a Map whose ToleratedFailureCount is {% %} (a ValueError before)
    each = {
        "Type": "Map",
        "Items": "{% $states.input.items %}",
        "ToleratedFailureCount": "{% 1 %}",
        "ItemProcessor": {"StartAt": "Id", "States": {"Id": {"Type": "Pass", "End": True}}},
        "Output": "{% $count($states.result) %}",
        "End": True,
    }
    choose = {
        "Type": "Choice",
        "Choices": [{"Condition": "{% $count($states.input.items) > 1 %}", "Next": "Each"}],
        "Default": "Few",
    }
    path = write(
        tmp_path,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Choose",
            "States": {"Choose": choose, "Each": each, "Few": {"Type": "Fail", "Error": "Few"}},
        },
    )
    # When it runs
    code, verdict, err = run(capsys, str(path), "--input", '{"items": [1, 2, 3]}')
    # Then it succeeds, with no traceback
    assert (code, verdict) == (0, {"status": "SUCCEEDED", "output": 3, "error": None, "cause": None})
    assert "Traceback" not in err


def test_the_role_is_given_or_a_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a state that reads $$.Execution.RoleArn
    path = write(
        tmp_path,
        {
            "StartAt": "R",
            "States": {"R": {"Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn"}, "End": True}},
        },
    )
    # When it runs with and without --role-arn
    _, given, _ = run(capsys, str(path), "--role-arn", "arn:aws:iam::123456789012:role/deployer")
    _, default, _ = run(capsys, str(path))
    # Then the role is the one given, else a local default (never empty, as on AWS)
    assert given is not None
    assert given["output"] == {"role": "arn:aws:iam::123456789012:role/deployer"}
    assert default is not None
    assert default["output"] == {"role": "arn:aws:iam::000000000000:role/stepline-local"}


def test_jsonpath_fields_in_a_jsonata_state_are_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a JSONata state machine whose Pass state uses InputPath and a Task using Parameters
    path = write(
        tmp_path,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "InputPath": "$.a", "Next": "T"},
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {}, "End": True},
            },
        },
    )
    # When it is run
    code, _, err = run(capsys, str(path))
    # Then it is refused, naming each state and field, as Step Functions refuses it
    assert code == 2
    assert "state 'P': SCHEMA_VALIDATION_FAILED: The field \"InputPath\" is not supported in JSONata states" in err
    assert "state 'T': SCHEMA_VALIDATION_FAILED: The field \"Parameters\" is not supported in JSONata states" in err


def test_buckets_are_folders_a_distributed_map_reads_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a distributed Map reading a CSV object from the bucket "data", kept as a folder
    (tmp_path / "buckets" / "data").mkdir(parents=True)
    (tmp_path / "buckets" / "data" / "people.csv").write_text("name\nann\nbob\n")
    each = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV"},
            "Parameters": {"Bucket": "data", "Key": "people.csv"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    path = write(tmp_path, {"StartAt": "Each", "States": {"Each": each}})
    # When it runs with --buckets, and without
    code, found, _ = run(capsys, str(path), "--buckets", str(tmp_path / "buckets"))
    _, missing, _ = run(capsys, str(path))
    # Then the rows were its items; without buckets the Map fails, saying how to give them
    assert (code, found) == (
        0,
        {"status": "SUCCEEDED", "output": [{"name": "ann"}, {"name": "bob"}], "error": None, "cause": None},
    )
    assert missing is not None
    assert missing["error"] == "States.ItemReaderFailed"
    assert "--buckets DIR" in str(missing["cause"])
