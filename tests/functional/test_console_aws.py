"""The console on AWS, under moto: signed in with the API token (Secrets Manager), it reads the
registry (DynamoDB) and executions (Step Functions) — and shows nothing to anyone else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from stepline import wiring
from stepline.api.app import handle
from tests.functional.test_triggers_aws import SECRET, Stack
from tests.helpers import load_event, watching
from tests.moto_env import moto_aws

pytestmark = pytest.mark.functional
TOKEN = "console-token-for-tests"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    environment = {
        "PIPELINES_TABLE": "stepline-pipelines",
        "APPROVALS_TABLE": "stepline-approvals",
        "API_TOKEN_SECRET": "stepline/api-token",
        "LINK_KEY_SECRET": "stepline/approval-link-key",
    }
    with moto_aws(monkeypatch, environment):
        built = Stack()
        import boto3

        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(Name="stepline/api-token", SecretString=TOKEN)
        secrets.create_secret(Name="stepline/approval-link-key", SecretString=SECRET)
        built.register(watching("reminders-main"))
        yield built
        wiring.reset()


def request(method: str, path: str, *, body: str | None = None, cookie: str | None = None) -> dict[str, Any]:
    event = load_event("api/review.json")
    event.update({"httpMethod": method, "path": path, "queryStringParameters": None, "body": body})
    # API Gateway's stage is part of the path the browser sees.
    event["requestContext"] = {**event["requestContext"], "path": f"/Prod{path}", "httpMethod": method}
    event["headers"] = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "https"}
    if cookie:
        event["headers"]["Cookie"] = cookie
    event["multiValueHeaders"] = {}
    return handle(event, None)


def test_the_console_needs_the_api_token_and_then_draws_step_functions_executions(stack: Stack) -> None:
    # Given a registered pipeline with an execution in Step Functions
    stack.stepfunctions.start_execution(
        stateMachineArn=stack.machines["reminders-main"], name="by-hand", input=json.dumps({"trigger": {}})
    )
    # When someone without a session opens the console, Then they are asked to sign in
    anonymous = request("GET", "/pipelines/reminders-main")
    assert anonymous["statusCode"] == 401
    assert "sign in at /Prod/login" in anonymous["body"]
    # When they sign in with a wrong token, Then they are refused
    assert request("POST", "/login", body=urlencode({"token": "guess"}))["statusCode"] == 401
    # When they sign in with the API token
    signed = request("POST", "/login", body=urlencode({"token": TOKEN}))
    assert signed["statusCode"] == 303
    assert signed["multiValueHeaders"]["Location"] == ["/Prod/"]
    [session] = signed["multiValueHeaders"]["Set-Cookie"]
    assert "Secure" in session
    assert "HttpOnly" in session
    cookie = session.split(";")[0]
    # Then the pipeline page draws the execution from Step Functions, links under /Prod
    page = request("GET", "/pipelines/reminders-main", cookie=cookie)
    assert page["statusCode"] == 200, page["body"]
    assert "<code>by-hand</code>" in page["body"]
    assert 'href="/Prod/pipelines/reminders-main/executions/by-hand"' in page["body"]
    assert 'data-stage="Source"' in page["body"]
    listing = request("GET", "/", cookie=cookie)
    assert '<a href="/Prod/pipelines/reminders-main">reminders-main</a>' in listing["body"]
    # And a forged session is refused
    assert request("GET", "/", cookie="stepline_console=9999999999.forged")["statusCode"] == 401
