"""The embedded engine beside moto's ASL interpreter (LocalStack's), on the same definitions.

Each execution is started and run to its end; the engine commits every transition to SQLite
(WAL, synchronous=NORMAL: survives the process being killed) unless said otherwise. moto runs
each execution on a worker thread; it is polled until done, which is how a caller sees it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from bench.timing import report
from stepline.compiler import compile_checked, substitute
from stepline.definition import load_valid_pipeline
from stepline.engine import Engine, Functions, ManualClock, Store

REPO = Path(__file__).resolve().parent.parent
LAMBDA = "arn:aws:states:::lambda:invoke"

SMALL = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n", "tag": "bench"}, "Next": "Decide"},
        "Decide": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Work"}],
            "Default": "Done",
        },
        "Work": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.n, 1)"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}

TASKS = {
    "StartAt": "Fan out",
    "States": {
        "Fan out": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": f"Echo {i}",
                    "States": {
                        f"Echo {i}": {
                            "Type": "Task",
                            "Resource": LAMBDA,
                            "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "End": True,
                        }
                    },
                }
                for i in range(2)
            ],
            "Next": "Last",
        },
        "Last": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"FunctionName": "echo", "Payload.$": "$[0]"},
            "OutputPath": "$.Payload",
            "End": True,
        },
    },
}


def pipeline_definition() -> dict[str, Any]:
    compiled = compile_checked(load_valid_pipeline(REPO / "examples" / "pipelines" / "friend-reminders.json").pipeline)
    return substitute(compiled.definition, {name: name for name in compiled.placeholders})


def echo(event: Any, context: Any) -> Any:
    return event


def pipeline_handler(event: Any, context: Any) -> Any:
    """A stand-in for Stepline's handlers: every declared output artifact, as a reference."""
    artifacts = {a["name"]: {"location": f"mem://{a['name']}"} for a in event["action"].get("outputArtifacts", [])}
    result = {"artifacts": artifacts, "variables": {"CommitId": "3f2a9c1"}}
    if "taskToken" in event:
        ENGINE_FOR_CALLBACKS[0].send_task_success(event["taskToken"], json.dumps(result))
        return {}
    return result


ENGINE_FOR_CALLBACKS: list[Engine] = []
FUNCTIONS = {
    "echo": echo,
    **{name: pipeline_handler for name in ("SourceFunctionArn", "BuildFunctionArn", "DeployEcsFunctionArn")},
}


def run_engine(
    definition: dict[str, Any], count: int, path: str | None, durability: str = "group"
) -> tuple[float, int]:
    """Seconds per execution, and state transitions per execution."""
    engine = Engine(Store(path), clock=ManualClock(), functions=Functions(FUNCTIONS), durability=durability)
    ENGINE_FOR_CALLBACKS[:] = [engine]
    machine = engine.create_state_machine("bench", definition)["stateMachineArn"]
    began = time.perf_counter()
    last = ""
    for index in range(count):
        last = engine.start_execution(machine, f"e{index}", json.dumps({"n": index}))["executionArn"]
        engine.run(skip_waits=True)
    elapsed = (time.perf_counter() - began) / count
    assert engine.describe_execution(last)["status"] == "SUCCEEDED"
    events = engine.get_execution_history(last)["events"]
    engine.store.close()
    return elapsed, sum(event["type"].endswith("StateEntered") for event in events)


def run_moto(definition: dict[str, Any], count: int) -> float:
    def invoke(backend: Any, name: str, qualifier: Any, body: Any, headers: Any, response: Any) -> bytes:
        event = json.loads(body)
        function = FUNCTIONS[name.rsplit(":", 1)[-1]]
        if "taskToken" in event:
            token = event.pop("taskToken")
            sfn.send_task_success(taskToken=token, output=json.dumps(pipeline_handler(event, None)))
            return b"{}"
        return json.dumps(function(event, None)).encode()

    original = LambdaSimpleBackend.invoke
    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            functions = boto3.client("lambda", region_name="us-east-1")
            role = boto3.client("iam", region_name="us-east-1").create_role(
                RoleName="r", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]
            for name in FUNCTIONS:
                functions.create_function(
                    FunctionName=name, Runtime="python3.12", Role=role, Handler="a.b", Code={"ZipFile": b"x"}
                )
            machine = sfn.create_state_machine(name="bench", definition=json.dumps(definition), roleArn=role)[
                "stateMachineArn"
            ]
            began = time.perf_counter()
            for index in range(count):
                arn = sfn.start_execution(stateMachineArn=machine, name=f"e{index}", input=json.dumps({"n": index}))[
                    "executionArn"
                ]
                while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
                    time.sleep(0.0005)
                assert status == "SUCCEEDED", status
            return (time.perf_counter() - began) / count
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with tempfile.TemporaryDirectory() as folder:
        cases = (
            ("Pass/Choice", SMALL),
            ("Parallel + lambda:invoke", TASKS),
            ("FriendReminders pipeline", pipeline_definition()),
        )
        for number, (title, definition) in enumerate(cases):
            grouped, transitions = run_engine(definition, 400, str(Path(folder) / f"group{number}.db"))
            strict, _ = run_engine(definition, 400, str(Path(folder) / f"strict{number}.db"), durability="transition")
            theirs = run_moto(definition, 20)
            print(f"engine: {title} ({transitions} state transitions per execution)")
            for label, seconds in (
                ("stepline, commits before anything leaves the engine (default)", grouped),
                ("stepline, one commit per transition", strict),
                ("moto's ASL interpreter", theirs),
            ):
                rates = f"{1 / seconds:9,.0f} executions/s {transitions / seconds:9,.0f} transitions/s"
                print(f"  {label:<62} {seconds * 1000:8.3f} ms/execution {rates}")
            grouped_ratio, strict_ratio = theirs / grouped, theirs / strict
            print(f"  ratio: moto takes {grouped_ratio:,.0f}x as long per execution; {strict_ratio:,.0f}x (strict)")
            print()
        volatile, transitions = run_engine(TASKS, 400, None)
        durable, _ = run_engine(TASKS, 400, str(Path(folder) / "again.db"))
        report(
            "engine durability: the same executions with SQLite on disk (WAL) and in memory",
            (f"durable, on disk ({transitions / durable:,.0f} transitions/s)", durable),
            (f"durability off, in memory ({transitions / volatile:,.0f} transitions/s)", volatile),
        )
