"""The Stepline stack exercised whole, under moto (tests/awsstack says how it is stood up): the
FriendReminders pipeline deployed with `stepline deploy`, started by a CodeCommit push through
the stack's rule, run on moto's Step Functions with every Lambda task dispatched to the real
handler under its own role, builds and deployments finished by their documented events routed
through the template's rules — and every AWS call checked against the template's policies.

Then the faults: throttling after a completion arrived, a completion before its waiter, a
duplicate event, a dropped event, events that fail every retry, and a crash between an
approval's decision and its answer. Each ends with the pipeline Succeeded and each action done
once.

moto has no API for CodeBuild runs, CodeCommit trees or IAM's policy simulation: those are
answered at the client edge by tests/awsstack/services.py in botocore's documented shapes.
ECS deployments complete when the test sets the rolloutState moto reports and sends ECS's
documented event (events/callbacks/).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from stepline import wiring
from tests import moto_jsonata
from tests.awsstack.harness import admin_clients
from tests.awsstack.services import Crash, Fault
from tests.awsstack.template import REGION
from tests.awsstack.world import FriendReminders
from tests.functional.conftest import MOTO_CONFIG
from tests.helpers import EXAMPLES
from tests.moto_env import aws_environment, moto_aws

pytestmark = pytest.mark.functional


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[FriendReminders]:
    with moto_aws(monkeypatch, config=MOTO_CONFIG):
        built = FriendReminders(admin_clients(), monkeypatch)
        monkeypatch.setattr(wiring, "client", built.stack.client)

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            return built.stack.invoke_sync_from_state_machine(function_name.rsplit(":", 1)[-1], body, response_headers)

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
        # Compiled pipelines keep their state in workflow variables, read by moto through its
        # JSONata bridge, which tests/moto_jsonata.py serves (moto ships it stubbed)
        moto_jsonata.plug(monkeypatch)
        yield built
        wiring.reset()


def deployed_and_pushed(world: FriendReminders, document: dict[str, Any] | None = None, tmp: Path | None = None) -> str:
    assert world.deploy(document, tmp) == 0
    return world.push()


def assert_each_action_done_once(world: FriendReminders, execution: dict[str, Any]) -> None:
    ledger = world.stack.edge.ledger
    assert execution["status"] == "SUCCEEDED", execution
    # Every call any function made was allowed by the template's policies
    assert ledger.denials == []
    # One build, one revision, one deployment
    assert len(world.stack.edge.codebuild.builds) == 1
    assert len(ledger.succeeded("ecs", "RegisterTaskDefinition")) == 1
    assert len(ledger.succeeded("ecs", "UpdateService")) == 1
    # Each waiting task answered by exactly one accepted answer
    answers = Counter(call.params["taskToken"] for call in ledger.succeeded("stepfunctions", "SendTaskSuccess"))
    assert answers, "no task was answered"
    assert set(answers.values()) == {1}, answers
    # And each Task state succeeded once, failed never
    history = world.admin("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"], maxResults=1000
    )["events"]
    kinds = Counter(event["type"] for event in history)
    assert kinds["TaskFailed"] == 0
    assert kinds["TaskSucceeded"] == kinds["TaskScheduled"]


def test_friend_reminders_runs_to_succeeded_under_the_templates_policies(world: FriendReminders) -> None:
    # Given the stack, the user's tagged targets, and FriendReminders deployed
    # When a push lands on master
    execution_arn = deployed_and_pushed(world)
    # Then the pipeline runs to the end: source, build, ECS deploy
    finished = world.run(execution_arn)
    assert_each_action_done_once(world, finished)
    ledger = world.stack.edge.ledger
    # The build read its source and wrote its artifact as its own role, through the artifact policy
    assert ledger.succeeded("s3", "GetObject", "codebuild-friendreminders")
    assert ledger.succeeded("s3", "PutObject", "codebuild-friendreminders")
    # The completions came from the rule-matched events, not the sweeper
    outcomes = world.stack.outcomes("CallbacksFunction")
    assert {"outcome": "succeeded: Build.Build"} in outcomes
    assert {"outcome": "succeeded: Deploy.Deploy"} in outcomes
    # The ECS service now has the circuit breaker, and runs the new image
    service = world.admin("ecs").describe_services(cluster="friendreminders", services=["remindersmgt"])["services"][0]
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    revision = world.admin("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert revision["containerDefinitions"][0]["image"].endswith(":" + world.commit[:7])


def test_a_push_through_the_console_at_the_root_with_artifacts_as_binary(world: FriendReminders) -> None:
    # Given a finished run
    finished = world.run(deployed_and_pushed(world))
    assert finished["status"] == "SUCCEEDED"
    # When someone opens the console's front page (API Gateway's root resource, not {proxy+})
    anonymous = world.api("GET", "/")
    assert anonymous["statusCode"] == 401
    signed = world.api(
        "POST", "/login", f"token={world.stack.api_token}", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert signed["statusCode"] == 303
    assert signed["multiValueHeaders"]["Location"] == ["/Prod/"]
    cookie = signed["multiValueHeaders"]["Set-Cookie"][0].split(";")[0]
    front = world.api("GET", "/", headers={"Cookie": cookie})
    assert front["statusCode"] == 200
    assert "FriendReminders" in front["body"]
    # Then an artifact comes back as binary: base64 that API Gateway decodes (BinaryMediaTypes */*)
    path = f"/pipelines/FriendReminders/executions/{finished['name']}/artifacts/BuildArtifact"
    download = world.api("GET", path, headers={"Cookie": cookie})
    assert (download["statusCode"], download["isBase64Encoded"]) == (200, True)
    import base64
    import io
    import zipfile

    assert "imagedefinitions.json" in zipfile.ZipFile(io.BytesIO(base64.b64decode(download["body"]))).namelist()
    # And a missing artifact reads as gone (S3 says 404: the API function may list the bucket), not a 500
    bucket = world.stack.stack.outputs()["ArtifactBucketName"]
    world.admin("s3").delete_object(Bucket=bucket, Key=f"FriendReminders/{finished['name']}/BuildArtifact.zip")
    assert world.api("GET", path, headers={"Cookie": cookie})["statusCode"] == 410
    assert world.stack.edge.ledger.denials == []


def test_throttling_after_a_completion_arrived_costs_a_lambda_retry_each_time(world: FriendReminders) -> None:
    # Given the callbacks function throttled after the build's end reached it: first reading the
    # build's exported variables (BatchGetBuilds), then answering the task (SendTaskSuccess)
    world.stack.edge.faults += [
        Fault("CallbacksFunctionRole", "codebuild", "BatchGetBuilds"),
        Fault("CallbacksFunctionRole", "stepfunctions", "SendTaskSuccess"),
    ]
    # When the pipeline runs
    finished = world.run(deployed_and_pushed(world))
    # Then Lambda's second retry of the event answered the build's task, once
    assert_each_action_done_once(world, finished)
    attempts = [
        i
        for i in world.stack.invocations
        if i.function == "CallbacksFunction" and "aws.codebuild" in json.dumps(i.event)
    ]
    errors = [i.error for i in attempts]
    assert len(errors) == 3
    assert "could not describe builds now: ThrottlingException" in errors[0]
    assert "(ThrottlingException) when calling the SendTaskSuccess operation" in errors[1]
    assert errors[2] == ""


def test_a_build_that_ends_before_its_waiter_is_attached_is_answered_by_the_attach(world: FriendReminders) -> None:
    # Given builds that end, and are reported, while StartBuild is still returning
    world.finish_builds_at_once()
    # When the pipeline runs
    finished = world.run(deployed_and_pushed(world))
    # Then the event found nothing linked yet and was kept; the build function, attaching the
    # build, found it and answered its own task
    assert_each_action_done_once(world, finished)
    [kept] = [r for r in world.stack.outcomes("CallbacksFunction") if "build#" in r["outcome"]]
    assert kept["outcome"].startswith("kept: nothing waits for build#FriendRemindersBuild:")
    assert world.stack.edge.ledger.succeeded("stepfunctions", "SendTaskSuccess", "BuildFunctionRole")


def test_a_duplicate_event_changes_nothing(world: FriendReminders) -> None:
    world.repeat_events = True
    finished = world.run(deployed_and_pushed(world))
    assert_each_action_done_once(world, finished)
    outcomes = [r["outcome"] for r in world.stack.outcomes("CallbacksFunction")]
    assert outcomes.count("succeeded: Build.Build") == 1
    assert "ignored: Build.Build was answered already" in outcomes
    assert "ignored: Deploy.Deploy was answered already" in outcomes


def test_dropped_events_are_made_up_for_by_the_sweeper(world: FriendReminders) -> None:
    # Given EventBridge never delivers the build's or the deployment's end
    world.drop_events = True
    # When the pipeline runs, and five minutes pass each time it waits
    finished = world.run(deployed_and_pushed(world), on_idle=world.sweep_later)
    # Then the sweeper, on its schedule, polled BatchGetBuilds and DescribeServices and answered
    assert_each_action_done_once(world, finished)
    assert not world.stack.outcomes("CallbacksFunction")
    swept = [line for r in world.stack.outcomes("SweeperFunction") for line in r["outcomes"]]
    assert swept == ["succeeded: Build.Build", "succeeded: Deploy.Deploy"]


def test_an_event_that_fails_every_retry_is_dead_lettered_and_the_sweeper_finishes_the_task(
    world: FriendReminders,
) -> None:
    # Given the callbacks function unable to answer the build's task on any of Lambda's attempts
    world.stack.edge.faults.append(Fault("CallbacksFunctionRole", "stepfunctions", "SendTaskSuccess", times=3))
    finished = world.run(deployed_and_pushed(world), on_idle=world.sweep_later)
    # Then the event went to the stack's dead-letter queue (its alarm's metric), and the task
    # was still answered, once, by the sweeper
    assert_each_action_done_once(world, finished)
    [dead] = world.stack.dead_letters
    assert dead["function"] == "CallbacksFunction"
    assert dead["event"]["detail-type"] == "CodeBuild Build State Change"
    queue = world.stack.stack.ref("DeadLetters")
    [message] = world.admin("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["detail"]["build-status"] == "SUCCEEDED"
    swept = [line for r in world.stack.outcomes("SweeperFunction") for line in r["outcomes"]]
    assert swept == ["succeeded: Build.Build"]


def test_a_crash_between_an_approvals_decision_and_its_answer_is_answered_by_the_sweeper(
    world: FriendReminders, tmp_path: Path
) -> None:
    # Given FriendReminders with a manual approval between the build and the deploy
    document = json.loads((EXAMPLES / "friend-reminders.json").read_text())
    stages = document["pipeline"]["stages"]
    approve = {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
    stages.insert(2, {"name": "Release", "actions": [{"name": "Approve", "actionTypeId": approve, "runOrder": 1}]})
    execution_arn = deployed_and_pushed(world, document, tmp_path)
    # And the API function dying right after it recorded a reviewer's decision
    world.stack.edge.faults.append(Fault("ApiFunctionRole", "stepfunctions", "SendTaskSuccess", crash=True))
    decided: list[str] = []

    def approve_once_then_wait() -> None:
        if world.stack.outcomes("ApprovalFunction") and not decided:
            decided.append("Ada")
            with pytest.raises(Crash):
                world.decide(execution_arn.rsplit(":", 1)[-1], "Release", "Approve")
        elif decided:
            world.sweep_later()

    # When the pipeline runs
    finished = world.run(execution_arn, on_idle=approve_once_then_wait)
    # Then the sweeper sent the recorded decision's answer, once, and the deploy ran
    assert_each_action_done_once(world, finished)
    ledger = world.stack.edge.ledger
    assert [call.principal for call in ledger.all("stepfunctions", "SendTaskSuccess") if call.status is None] == [
        "ApiFunctionRole"
    ]
    assert len(ledger.succeeded("stepfunctions", "SendTaskSuccess", "SweeperFunctionRole")) == 1
    swept = [line for r in world.stack.outcomes("SweeperFunction") for line in r["outcomes"]]
    assert swept == ["answered again: FriendReminders Release.Approve Approved"]
    assert len(ledger.succeeded("sns", "Publish", "ApprovalFunctionRole")) == 1


def test_why_the_harness_evaluates_iam_itself_moto_checks_actions_against_the_resource_star(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto 5.2.5 can enforce IAM (set_initial_no_auth_action_count), but outside S3, IAM and SQS
    it checks each action against the resource "*": a grant on one table, which AWS honours,
    is denied, so the template's least-privilege policies could not run under it. Strict: when
    this fails, moto has learnt resources, and the harness could lean on it."""
    from moto.core import set_initial_no_auth_action_count

    aws_environment(monkeypatch)
    table = f"arn:aws:dynamodb:{REGION}:123456789012:table/stepline-tokens"

    @set_initial_no_auth_action_count(4)
    def read_as(resource: str) -> str:
        admin = admin_clients()
        admin("dynamodb").create_table(
            TableName="stepline-tokens",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        iam = admin("iam")
        iam.create_user(UserName="reader")
        statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": resource}
        iam.put_user_policy(
            UserName="reader",
            PolicyName="read",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        import boto3
        from botocore.exceptions import ClientError

        reader = boto3.client(
            "dynamodb",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        try:
            reader.get_item(TableName="stepline-tokens", Key={"id": {"S": "x"}})
        except ClientError as error:  # moto answers the JSON protocol with an XML 403 body
            return f"denied ({error.response['ResponseMetadata']['HTTPStatusCode']})"
        return "allowed"

    with mock_aws():
        assert read_as(table) == "denied (403)"  # AWS: allowed
    with mock_aws():
        assert read_as("*") == "allowed"
