"""Invoke/AWS/StepFunctions on AWS: executions started on moto's Step Functions, tokens in
moto's DynamoDB, the end delivered as EventBridge's documented status-change event."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

from stepline.actions.invoke_states import ExecutionStatusChange, finish_state_machine, start_state_machine
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.waiters import DynamoWaiters
from stepline.adapters.aws.workflows import StepFunctionsWorkflows
from stepline.adapters.local.artifacts import LocalArtifactStore
from tests.helpers import load_event
from tests.moto_env import create_table, moto_aws

pytestmark = pytest.mark.functional


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, Any]] = []

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.answers.append(("succeed", output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.append(("fail", (error, cause)))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, DynamoWaiters]]:
    with moto_aws(monkeypatch):
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, "TaskTokensTable", "tokens")
        yield boto3.client("stepfunctions", region_name="us-east-1"), DynamoWaiters(dynamodb, "tokens")


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("sfn-execution-succeeded", ("succeed", None)),
        ("sfn-execution-failed", ("fail", ("StateMachineFailed", "FAILED: SmokeTestsFailed: 3 of 45 checks failed"))),
    ],
)
def test_start_then_finish_from_the_status_change_event(
    aws: tuple[Any, DynamoWaiters], tmp_path: Path, sample: str, expected: Any
) -> None:
    sfn, waiters = aws
    machine = sfn.create_state_machine(
        name="payments-smoke-tests",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::111122223333:role/sfn",
    )["stateMachineArn"]
    event = copy.deepcopy(load_event("invoke/step-functions.json"))
    event["action"]["configuration"]["StateMachineArn"] = machine
    store = LocalArtifactStore(tmp_path / "artifacts")
    callbacks = Recorded()
    execution = start_state_machine(
        ActionRequest.model_validate(event), StepFunctionsWorkflows(sfn), store, waiters, callbacks, 1.0
    )
    assert execution.endswith(":release-push-3e9ecf5")
    change = load_event(f"callbacks/{sample}.json")
    change["detail"]["executionArn"] = execution
    finish_state_machine(
        ExecutionStatusChange.model_validate(change), StepFunctionsWorkflows(sfn), store, waiters, callbacks
    )
    [(kind, detail)] = callbacks.answers
    assert kind == expected[0]
    if kind == "succeed":
        assert detail["variables"] == {"StateMachineArn": machine, "ExecutionArn": execution}
        assert set(detail["artifacts"]) == {"SmokeReport"}
    else:
        assert detail[0] == expected[1][0]
        assert detail[1].endswith(expected[1][1])
    assert "answered already" in finish_state_machine(
        ExecutionStatusChange.model_validate(change), StepFunctionsWorkflows(sfn), store, waiters, callbacks
    )
