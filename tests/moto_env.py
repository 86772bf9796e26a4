"""The one moto setup the tests share: fake credentials, the environment template.yaml gives a
Lambda function, AWS mocked (moto) for the block, and the stack's tables made from template.yaml's
own definitions, so a test's table has the keys the deployed one has."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest
from moto import mock_aws

from stepline import wiring
from stepline.local.template import load_template
from tests.helpers import REPO

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
# What template.yaml's Globals give every function (its !Refs as the names the tests use).
# moto running state machines (its ASL interpreter) and Lambda functions without Docker.
EXECUTING: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
FUNCTION_ENVIRONMENT = {
    "STEPLINE_RUNTIME": "aws",
    "ARTIFACT_BUCKET": "stepline-artifacts",
    "TASK_TOKENS_TABLE": "stepline-task-tokens",
}


def aws_environment(monkeypatch: pytest.MonkeyPatch, environment: Mapping[str, str] | None = None) -> None:
    """A Lambda function's environment: credentials, the Globals, and the function's own variables."""
    for name, value in {**CREDENTIALS, **FUNCTION_ENVIRONMENT, **(environment or {})}.items():
        monkeypatch.setenv(name, value)
    wiring.reset()


@contextmanager
def moto_aws(
    monkeypatch: pytest.MonkeyPatch, environment: Mapping[str, str] | None = None, config: Any = None
) -> Iterator[None]:
    """Inside: every boto3 client talks to moto, and the wiring reads the environment afresh."""
    aws_environment(monkeypatch, environment)
    with mock_aws(config=config) if config is not None else mock_aws():
        wiring.reset()
        try:
            yield
        finally:
            wiring.reset()


@cache
def _table_properties(logical: str) -> dict[str, Any]:
    properties: dict[str, Any] = load_template(REPO / "template.yaml")["Resources"][logical]["Properties"]
    return properties


def create_table(client: Any, logical: str, name: str) -> str:
    """The table template.yaml declares as ``logical`` (TaskTokensTable, ApprovalsTable,
    PipelinesTable), created under ``name``; returns the name."""
    properties = _table_properties(logical)
    client.create_table(
        TableName=name,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode=properties["BillingMode"],
    )
    return name
