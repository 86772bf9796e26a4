"""Schedules on AWS, under moto: `stepline deploy --schedule` makes one EventBridge Scheduler
schedule targeting the trigger function under the stack's ScheduleRole; what Scheduler sends
(the schedule's own Input, its <aws.scheduler.scheduled-time> filled as Scheduler fills it)
starts the pipeline in moto's Step Functions once per due time; deploying without --schedule
removes it. moto implements Scheduler's CreateSchedule/UpdateSchedule/GetSchedule/DeleteSchedule
but fires nothing, so the test delivers the Input itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepline import cli, wiring
from stepline.adapters.aws.schedules import schedule_name
from tests.functional.test_deploy import FULL_OUTPUTS, REGION, Ready, outputs, stack_template
from tests.handlers import load_handler
from tests.helpers import EXAMPLES

pytestmark = pytest.mark.functional

TRIGGER = f"arn:aws:lambda:{REGION}:123456789012:function:stepline-TriggerFunction"
SCHEDULE_ROLE = "arn:aws:iam::123456789012:role/stepline-ScheduleRole"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr("stepline.cli.deploy.targets", lambda region: Ready())
    with mock_aws():
        wiring.reset()
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        template = stack_template({**FULL_OUTPUTS, "TriggerFunctionArn": TRIGGER, "ScheduleRoleArn": SCHEDULE_ROLE})
        cloudformation.create_stack(StackName="stepline", TemplateBody=template)
        found = outputs(cloudformation)
        # The trigger function's environment, as template.yaml sets it
        monkeypatch.setenv("STEPLINE_RUNTIME", "aws")
        monkeypatch.setenv("PIPELINES_TABLE", found["PipelinesTableName"])
        monkeypatch.setenv("ARTIFACT_BUCKET", found["ArtifactBucketName"])
        monkeypatch.setenv("TASK_TOKENS_TABLE", "stepline-tokens")
        yield found
        wiring.reset()


def deploy(*extra: str) -> int:
    return cli.main(["deploy", str(EXAMPLES / "friend-reminders.json"), "--region", REGION, *extra])


def test_deploy_schedules_the_pipeline_and_each_due_time_starts_it_once(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    scheduler: Any = boto3.client("scheduler", region_name=REGION)
    # When deployed with a weekday-morning schedule
    assert deploy("--schedule", "cron(0 6 ? * MON-FRI *)") == 0
    assert "scheduled FriendReminders: cron(0 6 ? * MON-FRI *) (UTC)" in capsys.readouterr().out
    # Then one Scheduler schedule targets the trigger function under the stack's ScheduleRole
    schedule = scheduler.get_schedule(Name=schedule_name("FriendReminders"))
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(0 6 ? * MON-FRI *)",
        "UTC",
    )
    assert (schedule["Target"]["Arn"], schedule["Target"]["RoleArn"]) == (TRIGGER, SCHEDULE_ROLE)
    # When Scheduler invokes the function for Monday 06:00 (twice: it delivers at least once)
    sent = json.loads(schedule["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-12-07T06:00:00Z"))
    first = load_handler("trigger").lambda_handler(sent, None)
    again = load_handler("trigger").lambda_handler(sent, None)
    # Then one execution started, named after the due time, telling the schedule
    assert len(first["started"]) == 1
    assert (again["started"], again["alreadyStarted"]) == ([], ["FriendReminders"])
    stepfunctions: Any = boto3.client("stepfunctions", region_name=REGION)
    described = stepfunctions.describe_execution(executionArn=first["started"][0])
    assert described["name"].startswith("schedule-20261207T060000Z-")
    assert json.loads(described["input"])["trigger"]["schedule"]["scheduledTime"] == "2026-12-07T06:00:00Z"
    # When deployed again with another schedule, Then the same schedule is updated
    assert deploy("--schedule", "rate(1 day)") == 0
    assert scheduler.get_schedule(Name=schedule_name("FriendReminders"))["ScheduleExpression"] == "rate(1 day)"
    assert len(scheduler.list_schedules()["Schedules"]) == 1
    # When deployed without one, Then it is removed
    assert deploy() == 0
    assert "removed the schedule of FriendReminders" in capsys.readouterr().out
    assert scheduler.list_schedules()["Schedules"] == []


def test_a_bad_expression_is_refused_before_anything_is_deployed(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:  # argparse refuses it, as any bad argument
        deploy("--schedule", "cron(0 6 * * * *)")
    assert exited.value.code == 2
    assert "exactly one of day-of-month and day-of-week must be ?" in capsys.readouterr().err
    assert boto3.client("stepfunctions", region_name=REGION).list_state_machines()["stateMachines"] == []
