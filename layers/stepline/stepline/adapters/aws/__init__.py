"""Adapters on AWS services; the only part of Stepline that imports boto3."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError


@lru_cache(maxsize=16)
def aws_client(service: str, region: str) -> Any:
    """One client per service and Region, built once and reused across invocations."""
    return boto3.client(service, region_name=region)


def conditional_check_failed(error: ClientError) -> bool:
    """DynamoDB refused a conditional write: the state it guards has already moved on."""
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")
