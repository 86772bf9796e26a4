"""Task tokens in DynamoDB, keyed by the id of what they wait for; claimed once, expired by TTL."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import conditional_check_failed

# A token outlives any build or deployment that can complete it (CodeBuild caps builds at 36 h).
TTL_SECONDS = 8 * 24 * 3600


class DynamoTaskTokens:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def remember(self, key: str, record: Mapping[str, object]) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "id": {"S": key},
                "record": {"S": json.dumps(record)},
                "expiresAt": {"N": str(int(time.time()) + TTL_SECONDS)},
            },
        )

    def claim(self, key: str) -> dict[str, object] | None:
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="SET claimedAt = :now",
                ConditionExpression="attribute_exists(id) AND attribute_not_exists(claimedAt)",
                ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return None  # unknown, or already claimed by an earlier delivery
            raise
        loaded: dict[str, object] = json.loads(answer["Attributes"]["record"]["S"])
        return loaded


class DynamoRecords:
    """Idempotency records in the same table as task tokens, under their own key prefix."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def get(self, key: str) -> dict[str, object] | None:
        item = self.client.get_item(TableName=self.table, Key={"id": {"S": f"record#{key}"}}, ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            return None
        loaded: dict[str, object] = json.loads(item["record"]["S"])
        return loaded

    def put(self, key: str, record: Mapping[str, object]) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "id": {"S": f"record#{key}"},
                "record": {"S": json.dumps(record)},
                "expiresAt": {"N": str(int(time.time()) + TTL_SECONDS)},
            },
        )
