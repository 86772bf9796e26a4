"""Commit statuses on AWS, under moto: Step Functions' documented "Execution Status Change"
events for a pipeline's execution are matched against template.yaml's own StatusFunction rule
(moto's EventBridge matcher) and handed to the status function, which reads the registry in
moto's DynamoDB, the execution in moto's Step Functions and the token in moto's Secrets
Manager, and posts to a fake GitHub status API (a real HTTP server): pending, then success,
once each however often EventBridge delivers them; a CodeCommit pull request gets a comment
for each (botocore's Stubber: moto lacks PostCommentForPullRequest)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
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


def test_a_codecommit_pull_request_is_told_in_a_comment_once_per_state(
    stack: Stack,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a pipeline opted in, started by the documented CodeCommit pull request event
    # (moto has no PostCommentForPullRequest: botocore's Stubber answers it in its shape)
    monkeypatch.setenv("STEPLINE_API_URL", "https://abc.execute-api.us-east-1.amazonaws.com/Prod")
    wiring.reset()
    stack.register(
        watching(
            "demo-previews",
            repository="MyDemoRepo",
            pull_request=[{"events": ["OPEN"], "branches": {"includes": ["master"]}}],
        )
    )
    entry = stack.registry.get("demo-previews")
    assert entry is not None
    stack.registry.put(entry.model_copy(update={"report_status": True}))
    with Stubber(wiring.client("codecommit")) as stubber:
        stubber.add_response("get_differences", {"differences": []})
        [started] = load_handler("trigger").lambda_handler(
            load_event("trigger/codecommit-pull-request-created.json"), None
        )["started"]
    # When Step Functions reports it running, then succeeded (twice)
    name = started.rsplit(":", 1)[1]
    link = f"https://abc.execute-api.us-east-1.amazonaws.com/Prod/pipelines/demo-previews/executions/{name}"
    with Stubber(wiring.client("codecommit")) as stubber:
        for state, saying in (("pending", "running"), ("success", "succeeded")):
            stubber.add_response(
                "post_comment_for_pull_request",
                {},
                {
                    "pullRequestId": "1",
                    "repositoryName": "MyDemoRepo",
                    "beforeCommitId": "12241970EXAMPLE",
                    "afterCommitId": "2774290EXAMPLE",
                    "content": f"**stepline/demo-previews**: {state} - Stepline demo-previews: {saying}\n\n"
                    f"[The execution in the console]({link})",
                    "clientRequestToken": ANY,
                },
            )
        for status in ("RUNNING", "SUCCEEDED", "SUCCEEDED"):
            event = load_event("status/sfn-execution-succeeded.json")
            event["detail"].update(
                executionArn=started, stateMachineArn=stack.machines["demo-previews"], name=name, status=status
            )
            load_handler("status").lambda_handler(event, None)
        # Then the request got two comments, pending and success, and the redelivery none
        stubber.assert_no_pending_responses()


def test_run_controls_codepipeline_shaped_events_reach_the_status_function_too() -> None:
    # Given CodePipeline's documented event as run control publishes it (PutEvents refuses aws.*)
    events = load_template(REPO / "template.yaml")["Resources"]["StatusFunction"]["Properties"]["Events"]
    pattern = EventPattern.load(json.dumps(events["PipelineExecutionStateChange"]["Properties"]["Pattern"]))
    published = load_event("status/codepipeline-execution-started.json") | {"source": "stepline.codepipeline"}
    # Then the rule routes it, and not CodePipeline's own pipelines' events
    assert pattern.matches_event(published)
    assert not pattern.matches_event(load_event("status/codepipeline-execution-started.json"))
