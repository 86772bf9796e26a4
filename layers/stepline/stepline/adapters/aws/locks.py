"""The run-control lock records in DynamoDB (the task tokens table, ``lock#<pipeline>``),
written with a condition on the version read."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import conditional_check_failed
from stepline.ports.control import LockRecord


class DynamoLocks:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def read(self, pipeline: str) -> tuple[LockRecord, int]:
        item = self.client.get_item(
            TableName=self.table, Key={"id": {"S": f"lock#{pipeline}"}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return LockRecord(pipeline=pipeline), 0
        return LockRecord.model_validate_json(item["record"]["S"]), int(item["version"]["N"])

    def write(self, record: LockRecord, version: int) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"lock#{record.pipeline}"},
                    "version": {"N": str(version + 1)},
                    "record": {"S": record.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(id) OR version = :version",
                ExpressionAttributeValues={":version": {"N": str(version)}},
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True
