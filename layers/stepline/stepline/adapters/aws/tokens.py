"""Idempotency records in DynamoDB (the task tokens table), expired by TTL."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

# A record outlives any build or deployment its action waits for (CodeBuild caps builds at 36 h).
TTL_SECONDS = 8 * 24 * 3600


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
