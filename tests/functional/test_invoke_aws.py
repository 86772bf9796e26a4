"""Invoke/AWS/Lambda on AWS, through botocore's Stubber (moto runs no function code without Docker)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from stepline.actions.errors import InvokedFunctionError
from stepline.actions.invoke import invoke_lambda
from stepline.actions.request import ActionRequest
from stepline.adapters.aws.functions import LambdaInvoker
from stepline.errors import ConfigurationError
from tests.helpers import load_event

pytestmark = pytest.mark.functional

REQUEST = ActionRequest.model_validate(load_event("invoke/announce.json"))


def body(value: Any) -> StreamingBody:
    data = json.dumps(value).encode()
    return StreamingBody(io.BytesIO(data), len(data))


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def test_the_function_is_invoked_synchronously_and_its_variables_returned() -> None:
    client, stub = stubbed()
    stub.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": body({"outputVariables": {"MessageId": "m-17"}}), "ExecutedVersion": "$LATEST"},
        {"FunctionName": "payments-release-announcer", "InvocationType": "RequestResponse", "Payload": ANY},
    )
    with stub:
        result = invoke_lambda(REQUEST, LambdaInvoker(client), bucket="stepline-artifacts-111122223333")
    assert result["variables"] == {"MessageId": "m-17"}


def test_a_function_error_fails_with_the_functions_message() -> None:
    client, stub = stubbed()
    stub.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": body({"errorType": "KeyError", "errorMessage": "'channel'"}),
        },
    )
    with stub, pytest.raises(InvokedFunctionError, match="payments-release-announcer failed: KeyError: 'channel'"):
        invoke_lambda(REQUEST, LambdaInvoker(client))


def test_a_missing_function_is_named() -> None:
    client, stub = stubbed()
    stub.add_client_error("invoke", service_error_code="ResourceNotFoundException", http_status_code=404)
    with stub, pytest.raises(ConfigurationError, match="Lambda function 'payments-release-announcer' does not exist"):
        invoke_lambda(REQUEST, LambdaInvoker(client))
