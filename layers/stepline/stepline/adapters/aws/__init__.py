"""Adapters on AWS services; the only part of Stepline that imports boto3."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError


@lru_cache(maxsize=16)
def aws_client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """One client per service and Region, built once and reused across invocations;
    ``endpoint_url`` points it at an emulator (moto's server) instead of AWS."""
    # Typed as Any: with boto3-stubs installed (aws-sam-cli brings them) the overloads want a
    # literal service name, and every adapter already narrows what it calls.
    make: Any = boto3.client
    return make(service, region_name=region, endpoint_url=endpoint_url)


def credentials_available() -> bool:
    """Whether boto3 finds credentials (environment, profile, SSO, instance role…)."""
    return boto3.Session().get_credentials() is not None


def profile_region() -> str | None:
    """The Region the user's AWS configuration (profile, config file) names, if any."""
    region = boto3.session.Session().region_name
    return str(region) if region else None


def error_code(error: ClientError) -> str:
    """The service's error code (``ThrottlingException``, ``ExecutionDoesNotExist`` …), or ''."""
    return str(error.response.get("Error", {}).get("Code", ""))


def conditional_check_failed(error: ClientError) -> bool:
    """DynamoDB refused a conditional write: the state it guards has already moved on."""
    return error_code(error) == "ConditionalCheckFailedException"
