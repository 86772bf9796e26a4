"""Invoke/AWS/Lambda with local Python functions: the event they get, what they return, how they fail."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.actions.errors import InvokedFunctionError
from stepline.actions.invoke import invoke_lambda
from stepline.actions.request import ActionRequest
from stepline.adapters.local.functions import LocalFunctionInvoker
from stepline.errors import ConfigurationError
from tests.helpers import load_event

REQUEST = ActionRequest.model_validate(load_event("invoke/announce.json"))


def test_the_function_gets_the_job_shape_and_resolved_variables_and_its_variables_come_back() -> None:
    seen: list[dict[str, Any]] = []

    def announcer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        return {"outputVariables": {"MessageId": "m-17", "Recipients": 3}}

    result = invoke_lambda(
        REQUEST,
        LocalFunctionInvoker({"payments-release-announcer": announcer}),
        bucket="stepline-artifacts-111122223333",
    )
    assert result == {"artifacts": {}, "variables": {"MessageId": "m-17", "Recipients": "3"}}
    [event] = seen
    job = event["CodePipeline.job"]
    assert job["data"]["actionConfiguration"]["configuration"]["UserParameters"] == (
        '{"image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments:3e9ecf5", "environment": "production", "channel": "beta"}'
    )
    assert job["data"]["inputArtifacts"] == [
        {
            "name": "Image",
            "location": {
                "type": "S3",
                "s3Location": {
                    "bucketName": "stepline-artifacts-111122223333",
                    "objectKey": "payments-release/push-3e9ecf5/Image.zip",
                },
            },
        }
    ]
    assert event["stepline"]["variables"]["variables"] == {"Environment": "production", "ReleaseChannel": "beta"}


@pytest.mark.parametrize(
    ("function", "error", "message"),
    [
        (
            lambda event, context: (_ for _ in ()).throw(ValueError("channel beta is closed")),
            InvokedFunctionError,
            "payments-release-announcer failed: ValueError: channel beta is closed",
        ),
        (
            lambda event, context: {"outputVariables": ["not", "a", "map"]},
            ConfigurationError,
            "returned outputVariables that are not an object",
        ),
        (
            lambda event, context: {"outputVariables": {"Big": "x" * 130_000}},
            ConfigurationError,
            "bytes of output variables; the limit is 122,880",
        ),
    ],
)
def test_function_failures_are_named(function: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        invoke_lambda(REQUEST, LocalFunctionInvoker({"payments-release-announcer": function}))
    assert message in str(caught.value)


def test_a_function_with_no_result_has_no_variables() -> None:
    assert (
        invoke_lambda(REQUEST, LocalFunctionInvoker({"payments-release-announcer": lambda e, c: None}))["variables"]
        == {}
    )


def test_an_unmapped_local_function_is_named() -> None:
    with pytest.raises(
        ConfigurationError,
        match="no local function 'payments-release-announcer' \\(known: none; map one with STEPLINE_FUNCTIONS\\)",
    ):
        invoke_lambda(REQUEST, LocalFunctionInvoker({}))
