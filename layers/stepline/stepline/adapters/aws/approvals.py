"""Approvals and webhook deliveries in DynamoDB: conditional writes make each decision once."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import conditional_check_failed
from stepline.ports.approvals import Approval

# Kept a while after the longest approval (60 days) so a late link still finds its answer.
TTL_SECONDS = 90 * 24 * 3600
DELIVERY_TTL_SECONDS = 7 * 24 * 3600  # GitHub redelivers for days at most


class DynamoApprovals:
    """Serves the Approvals and Deliveries ports from one table keyed by ``id``."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put(self, approval: Approval, token: str) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": approval.id},
                    "status": {"S": approval.status},
                    "token": {"S": token},
                    "record": {"S": approval.model_dump_json()},
                    "expiresAt": {"N": str(int(approval.expires_at) + TTL_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(id) OR #status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":pending": {"S": "Pending"}},
            )
        except ClientError as error:
            if not conditional_check_failed(error):  # already decided: a retried request changes nothing
                raise

    def get(self, approval_id: str) -> tuple[Approval, str] | None:
        item = self.client.get_item(TableName=self.table, Key={"id": {"S": approval_id}}, ConsistentRead=True).get(
            "Item"
        )
        if item is None or "token" not in item:
            return None
        return Approval.model_validate(json.loads(item["record"]["S"])), item["token"]["S"]

    def settle(self, decided: Approval) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": decided.id}},
                UpdateExpression="SET #status = :status, #record = :record, answered = :false",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status", "#record": "record"},
                ExpressionAttributeValues={
                    ":status": {"S": decided.status},
                    ":record": {"S": decided.model_dump_json()},
                    ":pending": {"S": "Pending"},
                    ":false": {"BOOL": False},
                },
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def mark_answered(self, answered: Approval) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={"id": {"S": answered.id}},
            UpdateExpression="SET #record = :record, answered = :true",
            ExpressionAttributeNames={"#record": "record"},
            ExpressionAttributeValues={":record": {"S": answered.model_dump_json()}, ":true": {"BOOL": True}},
        )

    def unanswered(self) -> list[tuple[Approval, str]]:
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            ConsistentRead=True,
            FilterExpression="answered = :false",
            ExpressionAttributeValues={":false": {"BOOL": False}},
        )
        return [
            (Approval.model_validate(json.loads(item["record"]["S"])), item["token"]["S"])
            for page in pages
            for item in page["Items"]
        ]

    def pending(self) -> list[Approval]:
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":pending": {"S": "Pending"}},
        )
        return [Approval.model_validate(json.loads(item["record"]["S"])) for page in pages for item in page["Items"]]

    def first_time(self, delivery: str) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"delivery#{delivery}"},
                    "expiresAt": {"N": str(int(time.time()) + DELIVERY_TTL_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def forget(self, delivery: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"id": {"S": f"delivery#{delivery}"}})


class SnsNotifier:
    """Publishes CodePipeline's approval notification shape to the action's topic."""

    def __init__(self, client: Any, default_topic: str | None) -> None:
        self.client = client
        self.default_topic = default_topic

    def publish(self, target: str, subject: str, message: dict[str, object] | Any) -> None:
        topic = target or self.default_topic
        if not topic:
            return  # no NotificationArn and no default topic: the console lists pending approvals
        self.client.publish(TopicArn=topic, Subject=subject[:100], Message=json.dumps(message))
