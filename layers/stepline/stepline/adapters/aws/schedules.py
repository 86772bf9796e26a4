"""A pipeline's schedule on AWS: one EventBridge Scheduler schedule that invokes the trigger
function with the pipeline's name and the time it was due (`stepline deploy --schedule`)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stepline.adapters.aws import error_code
from stepline.errors import SteplineError
from stepline.triggers.schedules import SCHEDULE_EVENT


def schedule_name(pipeline: str) -> str:
    """Scheduler's names allow [0-9a-zA-Z-_.], 1 to 64 characters; distinct pipelines stay distinct."""
    digest = hashlib.sha256(pipeline.encode()).hexdigest()[:10]
    return f"stepline-{re.sub(r'[^0-9A-Za-z_.-]', '-', pipeline)[:43]}-{digest}"


class ScheduleError(SteplineError):
    """EventBridge Scheduler refused (or could not be reached); the message says what was asked."""


class SchedulerSchedules:
    def __init__(self, client: Any) -> None:
        self.client = client

    def put(self, pipeline: str, expression: str, function_arn: str, role_arn: str) -> str:
        """Create or update the pipeline's schedule; its name."""
        name = schedule_name(pipeline)
        target = {
            "Arn": function_arn,
            "RoleArn": role_arn,
            # <aws.scheduler.scheduled-time> is the time the schedule was due: the execution's name.
            "Input": json.dumps(
                {
                    "source": "stepline.schedule",
                    "detail-type": SCHEDULE_EVENT,
                    "pipeline": pipeline,
                    "expression": expression,
                    "scheduledTime": "<aws.scheduler.scheduled-time>",
                }
            ),
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
        }
        request = {
            "Name": name,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
            "Description": f"Starts Stepline pipeline {pipeline}"[:512],
        }
        try:
            try:
                self.client.create_schedule(**request)
            except ClientError as error:
                if error_code(error) != "ConflictException":
                    raise
                self.client.update_schedule(**request)
        except (ClientError, BotoCoreError) as error:
            raise ScheduleError(f"scheduling {pipeline}: {error}") from None
        return name

    def remove(self, pipeline: str) -> bool:
        """Delete the pipeline's schedule; False when it had none."""
        try:
            self.client.delete_schedule(Name=schedule_name(pipeline))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False
            raise ScheduleError(f"removing the schedule of {pipeline}: {error}") from None
        except BotoCoreError as error:
            raise ScheduleError(f"removing the schedule of {pipeline}: {error}") from None
        return True
