"""Run a conformance case on the embedded engine or on moto's interpreter, and report its outcome.

moto runs no Lambda code without Docker, so its simple Lambda backend's ``invoke`` is patched
to call the same Python behaviours the embedded engine calls (see cases.py for them).

moto's interpreter evaluates JSONata, and reads workflow variables, through a JVM bridge
moto ships stubbed out; ``moto_runner`` serves it with jsonatapy (tests/moto_jsonata.py), so
moto's JSONata and variables can be compared too.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from stepline.adapters.local.objects import LocalObjectStore
from stepline.engine import Engine, Functions, InvalidDefinition, ManualClock
from tests import moto_jsonata
from tests.conformance.cases import CHILD_MACHINE, Case
from tests.moto_env import EXECUTING, moto_aws

REGION = "us-east-1"
Answer = Callable[[str, Any, str | None], None]


class CustomError(Exception):
    pass


class Transient(Exception):
    pass


class Behaviours:
    """The cases' Lambda functions; ``answer`` completes a callback task on the engine at hand."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.calls: dict[str, int] = defaultdict(int)

    def __call__(self, name: str, event: Any) -> Any:
        if name == "echo":
            return event
        if name == "fail":
            raise CustomError(event.get("message", "boom"))
        if name == "double":
            return {"value": event["value"] * 2}
        if name == "flaky":
            self.calls[event["key"]] += 1
            if self.calls[event["key"]] <= event["failures"]:
                raise Transient(f"attempt {self.calls[event['key']]} failed")
            return {"attempts": self.calls[event["key"]]}
        if name == "answer":
            self.answer(event["token"], event.get("output", {}), event.get("fail"))
            return {}
        if name == "raw":
            return event["text"].encode()  # a handler answering with bytes: the payload as it is
        if name == "big":
            return {"blob": "x" * event["size"]}
        raise LookupError(name)


FUNCTIONS = ("echo", "fail", "double", "flaky", "answer", "raw", "big")


def outcome(described: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"status": described["status"]}
    if "output" in described:
        try:
            result["output"] = json.loads(described["output"])
        except json.JSONDecodeError:
            # moto 5.2.5 returns a bare string output unquoted ("matched" instead of "\"matched\"").
            result["output"] = described["output"]
    for key in ("error", "cause"):
        if described.get(key) is not None:
            result[key] = described[key]
    return result


def definition_text(case: Case, child_arn: str) -> str:
    return json.dumps(case.definition).replace("${ChildArn}", child_arn)


def run_on_engine(case: Case) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as buckets:
        for place, body in case.objects.items():
            path = Path(buckets, place)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
        return _run_on_engine(case, LocalObjectStore(Path(buckets)))


def _run_on_engine(case: Case, objects: LocalObjectStore) -> dict[str, Any]:
    functions = Functions()
    engine = Engine(clock=ManualClock(), functions=functions, objects=objects)

    def answer(token: str, output: Any, error: str | None) -> None:
        if error:
            engine.send_task_failure(token, error, "decided so")
        else:
            engine.send_task_success(token, json.dumps(output))

    behaviours = Behaviours(answer)
    for name in FUNCTIONS:
        functions.register(name, lambda event, context, name=name: behaviours(name, event))
    child = engine.create_state_machine("conformance-child", CHILD_MACHINE)["stateMachineArn"]
    try:
        machine = engine.create_state_machine("conformance", definition_text(case, child))["stateMachineArn"]
    except InvalidDefinition as error:  # refused, as moto's parser may refuse it: an outcome of its own
        return {"status": "REFUSED", "cause": str(error)}
    execution = engine.start_execution(machine, "conf", json.dumps(case.input))["executionArn"]
    return outcome(engine.run_until_done(execution, skip_waits=True))


class MotoRunner:
    """One moto account for the whole module; a fresh state machine per case."""

    def __init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.s3: Any = boto3.client("s3", region_name=REGION)
        self.role = "arn:aws:iam::123456789012:role/conformance"
        self.behaviours = Behaviours(self._answer)
        functions = boto3.client("lambda", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="conformance", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for name in FUNCTIONS:
            functions.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler="a.b", Code={"ZipFile": b"x"}
            )
        self.child = self.sfn.create_state_machine(
            name="conformance-child", definition=json.dumps(CHILD_MACHINE), roleArn=self.role
        )["stateMachineArn"]
        self.count = 0

    def _answer(self, token: str, output: Any, error: str | None) -> None:
        def send() -> None:
            if error:
                # moto 5.2.5's SendTaskFailure API handler drops `cause`; its backend keeps it.
                backend = stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][REGION]
                backend.send_task_failure(token, error=error, cause="decided so")
            else:
                self.sfn.send_task_success(taskToken=token, output=json.dumps(output))

        threading.Thread(target=send, daemon=True).start()

    def invoke(self, function_name: str, body: bytes, response_headers: dict[str, str]) -> bytes:
        try:
            result = self.behaviours(function_name.rsplit(":", 1)[-1], json.loads(body))
        except Exception as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
        return result if isinstance(result, bytes) else json.dumps(result).encode()

    def run(self, case: Case) -> dict[str, Any]:
        self.count += 1
        for place, body in case.objects.items():
            bucket, _, key = place.partition("/")
            if bucket not in {found["Name"] for found in self.s3.list_buckets()["Buckets"]}:
                self.s3.create_bucket(Bucket=bucket)
            self.s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
        try:
            machine = self.sfn.create_state_machine(
                name="conformance", definition=definition_text(case, self.child), roleArn=self.role
            )["stateMachineArn"]
        except ClientError as error:  # moto's parser refuses the definition: an outcome of its own
            return {"status": "REFUSED", "cause": str(error)}
        try:
            execution = self.sfn.start_execution(stateMachineArn=machine, name="conf", input=json.dumps(case.input))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # waiting for moto's worker thread, not timing it
                described = self.sfn.describe_execution(executionArn=execution["executionArn"])
                if described["status"] != "RUNNING":
                    return outcome(described)
                time.sleep(0.01)
            raise AssertionError(f"{case.id}: still running on moto after 60 s")
        finally:
            self.sfn.delete_state_machine(stateMachineArn=machine)


@contextmanager
def moto_runner() -> Iterator[MotoRunner]:
    with pytest.MonkeyPatch.context() as patch, moto_aws(patch, config=EXECUTING):
        runner = MotoRunner()

        def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response: Any) -> bytes:
            return runner.invoke(function_name, body, response)

        patch.setattr(LambdaSimpleBackend, "invoke", invoke)
        moto_jsonata.plug(patch)
        yield runner
