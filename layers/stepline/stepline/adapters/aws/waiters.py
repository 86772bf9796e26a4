"""Waiters in DynamoDB (the TaskTokensTable): conditional writes make every step once-only.

Two kinds of item share the table with the idempotency records:

- ``waiter#<key>``: the token, what the answer needs, the work's identity, WAITING or ANSWERED,
  and how the work ended once it was answered;
- ``link#<ref>``: the work's id → the waiter's key, or, when the work ended before anyone
  waited for it, that early completion (kept a day: an event for work Stepline did not start
  leaves nothing longer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import conditional_check_failed
from stepline.ports.waiters import Completion, Waiter

# Longer than any task waits (CodeBuild caps builds at 36 h; Step Functions invokes, 7 days).
TTL_SECONDS = 8 * 24 * 3600
EARLY_TTL_SECONDS = 24 * 3600
# Every attribute by placeholder: DynamoDB reserves words such as "work", "state" and "token".
_NAMES = {
    "#kind": "kind",
    "#token": "token",
    "#action": "action",
    "#context": "context",
    "#state": "state",
    "#since": "since",
    "#work": "work",
    "#expires": "expiresAt",
}


class DynamoWaiters:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def register(self, waiter: Waiter, now: float) -> Waiter:
        # A new token (a new attempt of the task) waits again; the same token (the same attempt,
        # invoked twice) leaves the waiter as it is, answered or not.
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": f"waiter#{waiter.key}"}},
                UpdateExpression=(
                    "SET #kind = :kind, #token = :token, #action = :action, #context = :context, #state = :waiting, "
                    "#since = if_not_exists(#since, :now), #work = if_not_exists(#work, :nowork), #expires = :expires"
                ),
                ConditionExpression="attribute_not_exists(id) OR #token <> :token",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":kind": {"S": waiter.kind},
                    ":token": {"S": waiter.token},
                    ":action": {"S": waiter.action},
                    ":context": {"S": json.dumps(waiter.context)},
                    ":waiting": {"S": "WAITING"},
                    ":now": {"N": repr(now)},
                    ":nowork": {"S": "{}"},
                    ":expires": {"N": str(int(now) + TTL_SECONDS)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
            stored = self.get(waiter.key)
            assert stored is not None  # the condition failed on an item holding this token
            return stored
        return _waiter(answer["Attributes"])

    def attach(self, key: str, ref: str, work: Mapping[str, str]) -> Completion | None:
        # The work goes on the waiter first: were the link lost, the sweeper still polls it.
        self.client.update_item(
            TableName=self.table,
            Key={"id": {"S": f"waiter#{key}"}},
            UpdateExpression="SET #work = :work",
            ConditionExpression="attribute_exists(id)",  # registered first, always
            ExpressionAttributeNames={"#work": "work"},
            ExpressionAttributeValues={":work": {"S": json.dumps(dict(work))}},
        )
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"id": {"S": f"link#{ref}"}, "waiter": {"S": key}, "expiresAt": _expires(TTL_SECONDS)},
                ConditionExpression="attribute_not_exists(id)",
            )
            return None
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
        try:  # something was there: an early completion is taken by linking it, once
            taken = self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": f"link#{ref}"}},
                UpdateExpression="SET #waiter = :key",
                ConditionExpression="attribute_exists(#early) AND attribute_not_exists(#waiter)",
                ExpressionAttributeNames={"#waiter": "waiter", "#early": "early"},
                ExpressionAttributeValues={":key": {"S": key}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return None  # linked already (a retried attach), or another attach took it
            raise
        return Completion.model_validate_json(taken["Attributes"]["early"]["S"])

    def find(self, ref: str) -> Waiter | None:
        link = self._item(f"link#{ref}")
        if link is None or "waiter" not in link:
            return None
        return self.get(link["waiter"]["S"])

    def get(self, key: str) -> Waiter | None:
        item = self._item(f"waiter#{key}")
        return _waiter(item) if item is not None else None

    def keep_early(self, ref: str, completion: Completion) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"link#{ref}"},
                    "early": {"S": completion.model_dump_json()},
                    "expiresAt": _expires(EARLY_TTL_SECONDS),
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def answered(self, key: str, token: str, completion: Completion) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": f"waiter#{key}"}},
                UpdateExpression="SET #state = :answered, #outcome = :outcome",
                ConditionExpression="#state = :waiting AND #token = :token",
                ExpressionAttributeNames={"#state": "state", "#token": "token", "#outcome": "outcome"},
                ExpressionAttributeValues={
                    ":answered": {"S": "ANSWERED"},
                    ":waiting": {"S": "WAITING"},
                    ":token": {"S": token},
                    ":outcome": {"S": completion.model_dump_json()},
                },
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True

    def stale(self, registered_before: float) -> list[Waiter]:
        # A scan: the table holds only short-lived items (TTL), read every few minutes.
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table,
            ConsistentRead=True,
            FilterExpression="begins_with(id, :prefix) AND #state = :waiting AND #since < :before",
            ExpressionAttributeNames={"#state": "state", "#since": "since"},
            ExpressionAttributeValues={
                ":prefix": {"S": "waiter#"},
                ":waiting": {"S": "WAITING"},
                ":before": {"N": repr(registered_before)},
            },
        )
        return sorted((_waiter(item) for page in pages for item in page["Items"]), key=lambda w: w.since)

    def _item(self, key: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.client.get_item(
            TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
        ).get("Item")
        return item


def _expires(seconds: int) -> dict[str, str]:
    return {"N": str(int(time.time()) + seconds)}


def _waiter(item: Mapping[str, Any]) -> Waiter:
    return Waiter(
        key=item["id"]["S"].removeprefix("waiter#"),
        kind=item["kind"]["S"],
        token=item["token"]["S"],
        action=item["action"]["S"],
        context=json.loads(item["context"]["S"]),
        work=json.loads(item.get("work", {}).get("S", "{}")),
        since=float(item["since"]["N"]),
        state=item["state"]["S"],
        outcome=Completion.model_validate_json(item["outcome"]["S"]) if "outcome" in item else None,
    )
