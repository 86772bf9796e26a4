"""Triggers on AWS, under moto: CodeCommit events (the documented shape, from events/trigger/)
through the trigger function, and GitHub pushes through the webhook route, start exactly the
registered pipelines that match — once per event. Registry in moto's DynamoDB, executions in
moto's Step Functions; CodeCommit's GetDifferences, which moto lacks, through botocore's Stubber."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stepline import wiring
from stepline.adapters.aws.registry import DynamoRegistry
from stepline.api.app import handle
from stepline.compiler import compile_checked, substitute
from stepline.definition import parse_pipeline
from stepline.ports.pipelines import RegisteredPipeline
from stepline.registry import state_machine_name
from tests.handlers import load_handler
from tests.helpers import load_event, watching
from tests.moto_env import create_table, moto_aws

pytestmark = pytest.mark.functional

REGION = "us-east-1"
SECRET = "It's a Secret to Everybody"  # what events/api/github-push.json is signed with
ROLE = "arn:aws:iam::123456789012:role/stepline-PipelineExecutionRole"
NEW, OLD = "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


class Stack:
    """What `sam deploy` and `stepline deploy` would have left: tables, secrets, pipelines."""

    def __init__(self) -> None:
        self.stepfunctions: Any = boto3.client("stepfunctions", region_name=REGION)
        self.dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
        create_table(self.dynamodb, "PipelinesTable", "stepline-pipelines")
        create_table(self.dynamodb, "ApprovalsTable", "stepline-approvals")
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="stepline/github-webhook-secret", SecretString=SECRET
        )
        self.registry = DynamoRegistry(self.dynamodb, "stepline-pipelines")
        self.machines: dict[str, str] = {}

    def register(self, document: dict[str, Any]) -> None:
        pipeline = parse_pipeline(document, f"{document['name']}.json").pipeline
        compiled = compile_checked(pipeline)
        arns = {p: f"arn:aws:lambda:{REGION}:123456789012:function:stepline-{p}" for p in compiled.placeholders}
        arn = self.stepfunctions.create_state_machine(
            name=state_machine_name(pipeline.name),
            definition=json.dumps(substitute(compiled.definition, arns)),
            roleArn=ROLE,
        )["stateMachineArn"]
        self.machines[pipeline.name] = arn
        self.registry.put(
            RegisteredPipeline(
                name=pipeline.name,
                state_machine_arn=arn,
                declaration=pipeline.model_dump(by_alias=True, exclude_none=True, mode="json"),
                registered_at=1.0,
            )
        )

    def executions(self, pipeline: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.stepfunctions.list_executions(stateMachineArn=self.machines[pipeline])[
            "executions"
        ]
        return listed

    def started(self) -> dict[str, int]:
        return {name: len(self.executions(name)) for name in self.machines if self.executions(name)}

    def input_of(self, pipeline: str) -> dict[str, Any]:
        [execution] = self.executions(pipeline)
        described = self.stepfunctions.describe_execution(executionArn=execution["executionArn"])
        loaded: dict[str, Any] = json.loads(described["input"])
        return loaded


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    environment = {
        "PIPELINES_TABLE": "stepline-pipelines",
        "APPROVALS_TABLE": "stepline-approvals",
        "GITHUB_WEBHOOK_SECRET": "stepline/github-webhook-secret",
    }
    with moto_aws(monkeypatch, environment):
        built = Stack()
        built.register(watching("reminders-main"))
        built.register(watching("reminders-develop", branch="develop"))
        built.register(watching("reminders-releases", push=[{"tags": {"includes": ["v*"]}}]))
        built.register(
            watching(
                "reminders-code-only",
                push=[{"branches": {"includes": ["master"]}, "filePaths": {"excludes": ["docs/**", "*.md"]}}],
            )
        )
        built.register(watching("other-repo", repository="Billing"))
        built.register(
            watching("payments", provider="CodeStarSourceConnection", repository="example-org/payments", branch="main")
        )
        yield built
        wiring.reset()


def differences(stubber: Stubber, before: str | None, after: str, paths: list[str]) -> None:
    expected = {"repositoryName": "FriendReminders", "afterCommitSpecifier": after}
    if before:
        expected["beforeCommitSpecifier"] = before
    stubber.add_response(
        "get_differences",
        {
            "differences": [
                {"afterBlob": {"path": path, "blobId": "b", "mode": "100644"}, "changeType": "M"} for path in paths
            ]
        },
        expected,
    )


def trigger(event: str) -> dict[str, Any]:
    answer: dict[str, Any] = load_handler("trigger").lambda_handler(load_event(f"trigger/{event}"), None)
    return answer


def test_a_branch_push_starts_exactly_the_matching_pipelines_once(stack: Stack) -> None:
    # Given the registered pipelines, and CodeCommit reporting code changes (Stubber: GetDifferences)
    with Stubber(wiring.client("codecommit")) as stubber:
        differences(stubber, OLD, NEW, ["src/reminders.py", "README.md"])
        # When the documented referenceUpdated event for master arrives
        answer = trigger("codecommit-branch-updated.json")
        stubber.assert_no_pending_responses()
    # Then the pipelines watching master start, once each, and no other
    assert stack.started() == {"reminders-main": 1, "reminders-code-only": 1}
    assert sorted(answer["skipped"]) == ["other-repo", "payments", "reminders-develop", "reminders-releases"]
    assert answer["skipped"]["reminders-develop"] == ["Source: watches branch 'develop'"]
    # And the input names the commit the source action must fetch
    given = stack.input_of("reminders-main")
    assert given["trigger"]["type"] == "CloudWatchEvent"
    assert given["trigger"]["revisions"]["Source"] == {
        "provider": "CodeCommit",
        "repositoryName": "FriendReminders",
        "referenceType": "branch",
        "referenceName": "master",
        "commitId": NEW,
        "oldCommitId": OLD,
    }
    # When EventBridge delivers the same event again
    with Stubber(wiring.client("codecommit")) as stubber:
        differences(stubber, OLD, NEW, ["src/reminders.py"])
        again = trigger("codecommit-branch-updated.json")
    # Then nothing new starts
    assert again["started"] == []
    assert sorted(again["alreadyStarted"]) == ["reminders-code-only", "reminders-main"]
    assert stack.started() == {"reminders-main": 1, "reminders-code-only": 1}


def test_a_push_of_excluded_files_only_skips_the_path_filtered_pipeline(stack: Stack) -> None:
    with Stubber(wiring.client("codecommit")) as stubber:
        differences(stubber, OLD, NEW, ["docs/setup.md", "CHANGELOG.md"])
        answer = trigger("codecommit-branch-updated.json")
    assert stack.started() == {"reminders-main": 1}
    assert answer["skipped"]["reminders-code-only"] == [
        "Source: push[0] does not include changed file CHANGELOG.md, docs/setup.md"
    ]


def test_a_new_branch_asks_for_every_file_and_starts_by_its_filters(stack: Stack) -> None:
    # A created branch has no old commit: GetDifferences without beforeCommitSpecifier lists its tree.
    stack.register(
        watching("features", push=[{"branches": {"includes": ["feature/**"]}, "filePaths": {"includes": ["src/**"]}}])
    )
    with Stubber(wiring.client("codecommit")) as stubber:
        differences(stubber, None, "b7c1e0d2f3a4958677a6b5c4d3e2f1a0b9c8d7e6", ["src/app.py"])
        trigger("codecommit-branch-created.json")
        stubber.assert_no_pending_responses()
    assert stack.started() == {"features": 1}


def test_a_tag_starts_only_pipelines_with_a_matching_tag_filter(stack: Stack) -> None:
    with Stubber(wiring.client("codecommit")):  # no response queued: a tag push never asks for files
        trigger("codecommit-tag-created.json")
    assert stack.started() == {"reminders-releases": 1}
    assert stack.input_of("reminders-releases")["trigger"]["revisions"]["Source"]["referenceType"] == "tag"


@pytest.mark.parametrize("event", ["codecommit-branch-deleted.json", "codecommit-tag-deleted.json"])
def test_deleting_a_branch_or_tag_starts_nothing(stack: Stack, event: str) -> None:
    with Stubber(wiring.client("codecommit")):
        answer = trigger(event)
    assert answer["started"] == []
    assert stack.started() == {}


def test_a_github_push_through_the_webhook_starts_the_pipeline_once(stack: Stack) -> None:
    # Given the signed push sample (events/api/github-push.json: example-org/payments, main)
    answer = handle(load_event("api/github-push.json"), None)
    # Then the webhook accepts it and the connection-sourced pipeline starts
    assert answer["statusCode"] == 202, answer["body"]
    assert stack.started() == {"payments": 1}
    assert json.loads(answer["body"])["started"] == [stack.executions("payments")[0]["executionArn"]]
    assert stack.input_of("payments")["trigger"]["type"] == "WebhookV2"
    # When GitHub redelivers it, Then it is acknowledged and nothing new starts
    replay = handle(load_event("api/github-push.json"), None)
    assert replay["statusCode"] == 200
    assert stack.started() == {"payments": 1}
