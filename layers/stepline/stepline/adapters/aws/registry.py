"""The pipeline registry in DynamoDB: one item per pipeline, keyed by its name."""

from __future__ import annotations

import json
from typing import Any

from stepline.ports.pipelines import RegisteredPipeline


class DynamoRegistry:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put(self, entry: RegisteredPipeline) -> None:
        self.client.put_item(TableName=self.table, Item=_item(entry))

    def get(self, name: str) -> RegisteredPipeline | None:
        found = self.client.get_item(TableName=self.table, Key={"name": {"S": name}}, ConsistentRead=True)
        return _entry(found["Item"]) if "Item" in found else None

    def delete(self, name: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"name": {"S": name}})

    def all(self) -> list[RegisteredPipeline]:
        # A scan: a Region holds at most 1,000 pipelines, and each trigger needs every source.
        entries: list[RegisteredPipeline] = []
        parameters: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.client.scan(**parameters)
            entries.extend(_entry(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return entries
            parameters["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _item(entry: RegisteredPipeline) -> dict[str, Any]:
    return {
        "name": {"S": entry.name},
        "stateMachineArn": {"S": entry.state_machine_arn},
        # A JSON string, not a DynamoDB map: the declaration comes back exactly as written.
        "declaration": {"S": json.dumps(entry.declaration, sort_keys=True)},
        "registeredAt": {"N": repr(entry.registered_at)},
        "reportStatus": {"BOOL": entry.report_status},
    }


def _entry(item: dict[str, Any]) -> RegisteredPipeline:
    return RegisteredPipeline(
        name=item["name"]["S"],
        state_machine_arn=item["stateMachineArn"]["S"],
        declaration=json.loads(item["declaration"]["S"]),
        registered_at=float(item["registeredAt"]["N"]),
        report_status=bool(item.get("reportStatus", {}).get("BOOL", False)),  # absent on older items
    )
