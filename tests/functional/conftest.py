"""Compiled pipelines executed by moto's Step Functions (LocalStack's ASL interpreter).

moto runs no Lambda code without Docker: its "simple" Lambda backend answers every invoke
with a canned payload. These fixtures patch that backend's ``invoke`` to call Python stubs
instead, keyed by the function's name, so a compiled pipeline really executes: moto
interprets the ASL, calls the stubs through its Lambda API, and callback tasks are completed
with SendTaskSuccess/Failure through moto's Step Functions API, as the handlers will do.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from stepline.adapters.aws.locks import DynamoLocks
from stepline.adapters.aws.stepfunctions import StepFunctionsCallbacks
from stepline.compiler import CompiledPipeline, substitute
from stepline.control.service import GateRequest, RunControl
from stepline.definition.providers import GATE_PLACEHOLDER
from tests import moto_jsonata
from tests.helpers import handler_placeholders
from tests.moto_env import EXECUTING, moto_aws

REGION = "us-east-1"
MOTO_CONFIG: Any = EXECUTING

# A stub returns the action's result; for a callback action it may return None instead,
# meaning it answers the task token itself.
Stub = Callable[[dict[str, Any]], dict[str, Any] | None]


class FunctionError(Exception):
    """Raised by a stub to fail its invocation the way a Lambda function error does."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        self.error_type = error_type
        self.stack_trace = stack_trace  # Lambda's Python runtime sends one; stubs may too
        super().__init__(message)


def canned_result(event: dict[str, Any]) -> dict[str, Any]:
    """What a handler returns: a reference per declared output artifact, and some variables."""
    execution = event["execution"]["name"]
    artifacts = {
        artifact["name"]: {
            "type": "S3",
            "location": f"s3://artifacts/{event['pipeline']}/{execution}/{artifact['name']}.zip",
        }
        for artifact in event["action"].get("outputArtifacts", [])
    }
    provider = event["action"]["actionTypeId"]["provider"]
    variables = (
        {"CommitId": "3f2a9c1e", "CommitMessage": "Fix the reminder schedule"} if event["stage"] == "Source" else {}
    )
    if provider == "CodeBuild":
        variables = {"IMAGE_URI": "111122223333.dkr.ecr.us-east-1.amazonaws.com/app:3f2a9c1e"}
    return {"artifacts": artifacts, "variables": variables}


@dataclass
class Calls:
    """Every invocation the stubs received, in order, and the task tokens waiting for an answer."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tokens: queue.Queue[tuple[str, dict[str, Any]]] = field(default_factory=queue.Queue)

    def actions(self) -> list[str]:
        return [f"{event['stage']}.{event['action']['name']}" for _, event in self.events]

    def event_for(self, stage: str, action: str) -> dict[str, Any]:
        return next(e for _, e in self.events if e["stage"] == stage and e["action"]["name"] == action)


class MotoPipelines:
    """Deploy compiled pipelines to moto and run them; stubs stand in for the handlers."""

    def __init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.calls = Calls()
        self.stubs: dict[tuple[str, str], Stub] = {}
        self.auto_approve = True
        self.gate_events: list[dict[str, Any]] = []
        self.gate_errors: list[Exception] = []
        self.gate_threads: list[threading.Thread] = []
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="task-tokens",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.control = RunControl(DynamoLocks(dynamodb, "task-tokens"), StepFunctionsCallbacks(self.sfn))
        iam = boto3.client("iam", region_name=REGION)
        self.role = iam.create_role(RoleName="stepline-pipelines", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        functions = boto3.client("lambda", region_name=REGION)
        self.resources = {
            name: functions.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=self.role,
                Handler="app.handler",
                Code={"ZipFile": b"stub"},
            )["FunctionArn"]
            for name in handler_placeholders()
            if name.endswith("FunctionArn")
        }

    def stub(self, stage: str, action: str, behaviour: Stub) -> None:
        self.stubs[(stage, action)] = behaviour

    def add_state_machine(self, placeholder: str, definition: dict[str, Any]) -> None:
        self.resources[placeholder] = self.sfn.create_state_machine(
            name=placeholder, definition=json.dumps(definition), roleArn=self.role
        )["stateMachineArn"]

    def deploy(self, compiled: CompiledPipeline, name: str = "pipeline") -> str:
        definition = substitute(compiled.definition, self.resources)
        return str(
            self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=self.role)[
                "stateMachineArn"
            ]
        )

    def run(self, state_machine: str, execution: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
        arn = self.start(state_machine, execution, given)
        return self.wait(arn)

    def start(self, state_machine: str, execution: str, given: dict[str, Any] | None = None) -> str:
        started = self.sfn.start_execution(stateMachineArn=state_machine, name=execution, input=json.dumps(given or {}))
        return str(started["executionArn"])

    def wait(self, execution_arn: str, limit_seconds: float = 60) -> dict[str, Any]:
        # Waiting for moto's worker thread to finish, not measuring it.
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.02)
        raise AssertionError(f"{execution_arn} still running after {limit_seconds}s")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)[
            "events"
        ]
        return events

    def gate(self, event: dict[str, Any]) -> bytes:
        """The real stage gate: lock records in moto's DynamoDB, answers through moto's Step
        Functions API (the AWS adapters). An enter request is decided on a thread, as the
        function's answer reaches Step Functions after the invocation began."""
        request = GateRequest.model_validate(event)
        if request.operation == "enter":
            thread = threading.Thread(target=self._decide, args=(request,), daemon=True)
            thread.start()
            self.gate_threads.append(thread)
        else:
            self._decide(request)
        return b"{}"

    def _decide(self, request: GateRequest) -> None:
        try:
            self.control.handle(request)
        except Exception as error:  # a test must see it: recorded and asserted on
            self.gate_errors.append(error)
            raise

    def invoke(self, function_name: str, body: bytes, response_headers: dict[str, str]) -> bytes:
        event = json.loads(body)
        if function_name == GATE_PLACEHOLDER:
            self.gate_events.append(event)
            return self.gate(event)
        self.calls.events.append((function_name, event))
        behaviour = self.stubs.get((event["stage"], event["action"]["name"]), canned_result)
        try:
            result = behaviour(event)
        except FunctionError as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            failure = {"errorType": error.error_type, "errorMessage": str(error)}
            if error.stack_trace is not None:
                failure["stackTrace"] = error.stack_trace
            return json.dumps(failure).encode()
        if "taskToken" not in event:
            return json.dumps(result).encode()
        is_approval = event["action"]["actionTypeId"]["category"] == "Approval"
        if is_approval and not self.auto_approve:
            self.calls.tokens.put((event["taskToken"], event))
        elif result is not None:
            # Completion arrives later, as a CodeBuild event or an approval would deliver it.
            threading.Thread(target=self._complete, args=(event["taskToken"], result), daemon=True).start()
        return b"{}"

    def _complete(self, token: str, result: dict[str, Any]) -> None:
        self.sfn.send_task_success(taskToken=token, output=json.dumps(result))

    def fail_task(self, token: str, error: str, cause: str) -> None:
        """SendTaskFailure, straight to moto's backend: moto 5.2.5's API handler drops ``cause``."""
        backend = stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][REGION]
        backend.send_task_failure(token, error=error, cause=cause)


@pytest.fixture
def moto_pipelines(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoPipelines]:
    with moto_aws(monkeypatch, config=MOTO_CONFIG):
        harness = MotoPipelines()

        def invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: Any,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            return harness.invoke(function_name.rsplit(":", 1)[-1], body, response_headers)

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
        # Compiled pipelines keep their state in workflow variables, which moto reads through
        # its JSONata bridge: stubbed in moto, served here by jsonatapy.
        moto_jsonata.plug(monkeypatch)
        yield harness
