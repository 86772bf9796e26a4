"""Custom action types and their jobs in DynamoDB (the stack's JobsTable, keyed by ``id``):
jobs by their id, types as ``type#<Category/Custom/Provider/Version>``. Dispatching and
acknowledging are conditional updates, so two workers polling at once never get one job."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import conditional_check_failed
from stepline.ports.jobs import Job, JobStatus

TTL_SECONDS = 30 * 24 * 3600  # a job's record outlives any action's timeout
_OPEN = {":queued": {"S": "Queued"}, ":dispatched": {"S": "Dispatched"}, ":progress": {"S": "InProgress"}}


class DynamoJobs:
    """Serves the Jobs and ActionTypes ports from one table."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _job(self, item: Mapping[str, Any]) -> Job:
        dispatched = float(item["dispatchedAt"]["N"])
        return Job.model_validate_json(item["job"]["S"]).model_copy(
            update={
                "status": item["status"]["S"],
                "nonce": item.get("nonce", {}).get("S", ""),
                "dispatched_at": dispatched or None,
            }
        )

    def add(self, job: Job, token: str) -> None:
        item = {
            "id": {"S": job.id},
            "kind": {"S": "job"},
            "typeKey": {"S": job.type_key},
            "status": {"S": "Queued"},
            "dispatchedAt": {"N": "0"},
            "job": {"S": job.model_dump_json()},
            "token": {"S": token},
            "seq": {"N": str(time.time_ns())},
            "expiresAt": {"N": str(int(time.time()) + TTL_SECONDS)},
        }
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(id)")
        except ClientError as error:
            if not conditional_check_failed(error):  # the same job again (a repeated call): kept as it is
                raise

    def get(self, job_id: str) -> tuple[Job, str] | None:
        found = self.client.get_item(TableName=self.table, Key={"id": {"S": job_id}}, ConsistentRead=True)
        item = found.get("Item")
        if item is None or item.get("kind", {}).get("S") != "job":
            return None
        return self._job(item), item["token"]["S"]

    def claim(
        self,
        type_key: str,
        limit: int,
        now: float,
        unacknowledged_before: float,
        nonce: Callable[[], str],
        matches: Callable[[Job], bool],
    ) -> list[Job]:
        waiting = "#status = :queued OR (#status = :dispatched AND dispatchedAt < :before)"
        values = {":queued": _OPEN[":queued"], ":dispatched": _OPEN[":dispatched"]}
        values[":before"] = {"N": repr(unacknowledged_before)}
        candidates = self._scan(
            f"#kind = :job AND typeKey = :type AND ({waiting})",
            {**values, ":job": {"S": "job"}, ":type": {"S": type_key}},
        )
        claimed: list[Job] = []
        for item in sorted(candidates, key=lambda found: int(found["seq"]["N"])):
            if len(claimed) == limit:
                break
            if not matches(self._job(item)):
                continue
            given = nonce()
            try:
                updated = self.client.update_item(
                    TableName=self.table,
                    Key={"id": item["id"]},
                    UpdateExpression="SET #status = :dispatched, nonce = :nonce, dispatchedAt = :now",
                    ConditionExpression=waiting,
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={**values, ":nonce": {"S": given}, ":now": {"N": repr(now)}},
                    ReturnValues="ALL_NEW",
                )
            except ClientError as error:
                if conditional_check_failed(error):
                    continue  # another worker's poll took it first
                raise
            claimed.append(self._job(updated["Attributes"]))
        return claimed

    def _scan(self, condition: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        parameters: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": condition,
            "ExpressionAttributeNames": {n: n[1:] for n in ("#status", "#kind") if n in condition},
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        parameters = {name: value for name, value in parameters.items() if value is not None}
        while True:
            page = self.client.scan(**parameters)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            parameters["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def acknowledge(self, job_id: str, nonce: str) -> Job | None:
        try:
            updated = self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": job_id}},
                UpdateExpression="SET #status = :progress",
                ConditionExpression="nonce = :nonce AND (#status = :dispatched OR #status = :progress)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":nonce": {"S": nonce},
                    ":dispatched": _OPEN[":dispatched"],
                    ":progress": _OPEN[":progress"],
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return None
            raise
        return self._job(updated["Attributes"])

    def record_output(self, job_id: str, name: str, reference: Mapping[str, str]) -> None:
        found = self.get(job_id)
        if found is None:
            return
        stored = found[0].model_copy(update={"produced": {**found[0].produced, name: dict(reference)}})
        self.client.update_item(
            TableName=self.table,
            Key={"id": {"S": job_id}},
            UpdateExpression="SET #job = :job",
            ExpressionAttributeNames={"#job": "job"},
            ExpressionAttributeValues={":job": {"S": stored.model_dump_json()}},
        )

    def finish(self, job_id: str, status: JobStatus) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": job_id}},
                UpdateExpression="SET #status = :final",
                ConditionExpression="#status IN (:queued, :dispatched, :progress)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={**_OPEN, ":final": {"S": status}},
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def put_type(self, key: str, declaration: Mapping[str, object]) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"id": {"S": f"type#{key}"}, "kind": {"S": "type"}, "declaration": {"S": json.dumps(declaration)}},
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def delete_type(self, key: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"id": {"S": f"type#{key}"}})

    def types(self) -> dict[str, dict[str, object]]:
        items = self._scan("#kind = :type", {":type": {"S": "type"}})
        return {item["id"]["S"].removeprefix("type#"): json.loads(item["declaration"]["S"]) for item in items}
