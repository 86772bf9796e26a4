"""Commit statuses on AWS, under moto: Step Functions' documented "Execution Status Change"
events for a pipeline's execution are matched against template.yaml's own StatusFunction rule
(moto's EventBridge matcher) and handed to the status function, which reads the registry in
moto's DynamoDB, the execution in moto's Step Functions and the token in moto's Secrets
Manager, and posts to a fake GitHub status API (a real HTTP server): pending, then success,
once each however often EventBridge delivers them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.events.models import EventPattern

from stepline import wiring
from stepline.local.template import load_template
from tests.e2e.test_commit_status import FakeStatusApi, api  # noqa: F401 - the fixture
from tests.functional.test_triggers_aws import REGION, Stack, stack  # noqa: F401 - the fixture
from tests.handlers import load_handler
from tests.helpers import REPO, load_event, watching

pytestmark = pytest.mark.functional
COMMIT = "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a"


def routed(event: dict[str, Any]) -> bool:
    rule = load_template(REPO / "template.yaml")["Resources"]["StatusFunction"]["Properties"]["Events"]
    pattern = json.loads(json.dumps(rule["PipelineExecutionStatus"]["Properties"]["Pattern"]))
    prefix = pattern["detail"]["stateMachineArn"][0]["prefix"]["Fn::Sub"]
    pattern["detail"]["stateMachineArn"][0]["prefix"] = (
        prefix.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::AccountId}", "123456789012")
    )
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


def test_an_opted_in_pipelines_execution_is_reported_once_per_state(
    stack: Stack,  # noqa: F811
    api: FakeStatusApi,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a pipeline registered with report_status, and an execution building a GitHub commit
    monkeypatch.setenv("GITHUB_API_URL", api.url)
    monkeypatch.setenv("GITHUB_TOKEN_SECRET", "stepline/github-token")
    monkeypatch.setenv("STEPLINE_API_URL", "https://abc.execute-api.us-east-1.amazonaws.com/Prod")
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name="stepline/github-token", SecretString="ghp_x")
    wiring.reset()
    stack.register(watching("payments", provider="CodeStarSourceConnection", repository="example-org/payments"))
    entry = stack.registry.get("payments")
    assert entry is not None
    stack.registry.put(entry.model_copy(update={"report_status": True}))
    revision = {"provider": "GitHub", "repositoryName": "example-org/payments", "commitId": COMMIT}
    started = stack.stepfunctions.start_execution(
        stateMachineArn=stack.machines["payments"],
        name="push-3e9ecf5a",
        input=json.dumps({"trigger": {"type": "WebhookV2", "revisions": {"Source": revision}}}),
    )
    # When Step Functions reports it RUNNING, then SUCCEEDED (the latter twice), through the rule
    handler = load_handler("status").lambda_handler
    for status in ("RUNNING", "SUCCEEDED", "SUCCEEDED"):
        event = load_event("status/sfn-execution-succeeded.json")
        event["detail"].update(
            executionArn=started["executionArn"],
            stateMachineArn=stack.machines["payments"],
            name="push-3e9ecf5a",
            status=status,
        )
        assert routed(event)
        handler(event, None)
    # Then GitHub received pending and success, once each, linked to the console
    received = api.wait_for(2)
    assert [(status["sha"], status["state"]) for status in received] == [(COMMIT, "pending"), (COMMIT, "success")]
    assert received[1]["target_url"] == (
        "https://abc.execute-api.us-east-1.amazonaws.com/Prod/pipelines/payments/executions/push-3e9ecf5a"
    )
    assert received[1]["auth"] == "Bearer ghp_x"
    # And another stack's (or a user's) state machine is not routed to the function
    foreign = load_event("status/sfn-execution-succeeded.json")
    foreign["detail"]["stateMachineArn"] = f"arn:aws:states:{REGION}:123456789012:stateMachine:someone-else"
    assert not routed(foreign)
