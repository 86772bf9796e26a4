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
