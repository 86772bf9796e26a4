"""CodePipeline's JSON protocol and SigV4 as Stepline answers them, driven by boto3's real
client (its own serializer, SigV4 signer and error parser) through the local server's WSGI
application: bad signatures, replays, unknown operations, malformed documents and wrong shapes
are answered in AWS's error shape, and none of them changes anything."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import botocore
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from stepline import wiring
from stepline.api.codepipeline import OPERATIONS
from stepline.local.runtime import LocalRuntime
from tests.codepipeline_client import ENDPOINT, InProcess, client

TARGET = "CodePipeline_20150709."


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    runtime = LocalRuntime(tmp_path / ".stepline", workers=0)
    wiring.install_local_host(runtime)
    yield wiring.api_token()
    runtime.close()


def error_of(call: Any, **parameters: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as raised:
        call(**parameters)
    error = raised.value.response["Error"]
    return error["Code"], error.get("Message", ""), raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def signed(body: bytes, target: str, secret: str, *, when: float | None = None, region: str = "us-east-1") -> Any:
    """A request signed by botocore's own SigV4 signer, optionally at another time."""
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    signer = SigV4Auth(Credentials("stepline", secret), "codepipeline", region)
    moment = datetime.fromtimestamp(time.time() if when is None else when, UTC).replace(tzinfo=None)
    with patch("botocore.auth.get_current_datetime", lambda: moment):  # the signer's clock, set back or on
        signer.add_auth(request)
    return request.prepare()


def send(prepared: Any) -> tuple[int, dict[str, Any]]:
    transport = InProcess()
    answer = transport(prepared)
    return answer.status_code, json.loads(answer.content)


def no_pipelines() -> bool:
    return wiring.registry().all() == []


def test_a_signed_request_from_any_region_is_answered(token: str) -> None:
    # Given clients signing for two Regions with the API token as their secret
    for region in ("us-east-1", "eu-west-3"):
        # When each lists pipelines
        answer = client(token, region=region).list_pipelines()
        # Then both are answered
        assert answer["pipelines"] == []


def test_unsigned_unknown_and_forged_callers_are_refused_as_aws_refuses_them(token: str) -> None:
    # Given a client that does not sign, one with an unknown key, and one with a wrong secret
    unsigned = client(token, signature_version=botocore.UNSIGNED)
    stranger = client(token, key="AKIAIOSFODNN7EXAMPLE")
    forger = client("not-the-token")
    pipeline = {"name": "x", "stages": [], "roleArn": "arn:aws:iam::111122223333:role/x"}
    # When each tries to create a pipeline
    # Then each gets AWS's answer for it, and nothing was created
    assert error_of(unsigned.create_pipeline, pipeline=pipeline) == (
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
        400,
    )
    assert error_of(stranger.create_pipeline, pipeline=pipeline)[:1] == ("UnrecognizedClientException",)
    code, message, status = error_of(forger.create_pipeline, pipeline=pipeline)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert message.startswith("The request signature we calculated does not match the signature you provided")
    assert no_pipelines()


def test_a_body_changed_after_signing_is_refused(token: str) -> None:
    # Given a request signed for one body
    prepared = signed(b'{"name": "a"}', TARGET + "DeletePipeline", token)
    # When the body is replaced on the way (same length, other pipeline)
    prepared.body = b'{"name": "b"}'
    status, answer = send(prepared)
    # Then the signature no longer matches
    assert status == 400
    assert answer["__type"] == "InvalidSignatureException"


def test_a_replayed_request_outside_the_15_minute_window_is_refused(token: str) -> None:
    # Given a request signed 16 minutes ago, and one signed 16 minutes in the future
    now = time.time()
    wiring.install_clock(lambda: now)
    old = signed(b"{}", TARGET + "ListPipelines", token, when=now - 16 * 60)
    future = signed(b"{}", TARGET + "ListPipelines", token, when=now + 16 * 60)
    # When they arrive now
    old_status, old_answer = send(old)
    future_status, future_answer = send(future)
    # Then each is refused with the message AWS gives, naming the window
    assert old_status == 400
    assert old_answer["__type"] == "InvalidSignatureException"
    assert old_answer["message"].startswith("Signature expired: ")
    assert old_answer["message"].endswith(" - 15 min.)")
    assert future_status == 400
    assert future_answer["message"].startswith("Signature not yet current: ")
    # And the same request signed a minute ago is answered
    fresh_status, _ = send(signed(b"{}", TARGET + "ListPipelines", token, when=now - 60))
    assert fresh_status == 200


def test_an_unknown_operation_and_a_malformed_document_are_refused(token: str) -> None:
    # Given properly signed requests: one for an operation CodePipeline lacks, one whose body is not JSON
    unknown_status, unknown = send(signed(b"{}", TARGET + "LaunchRockets", token))
    broken_status, broken = send(signed(b'{"name": ', TARGET + "DeletePipeline", token))
    other_status, other = send(signed(b"{}", "DynamoDB_20120810.ListTables", token))
    # Then each is refused in AWS's shape
    assert (unknown_status, unknown["__type"].rsplit("#", 1)[-1]) == (400, "UnknownOperationException")
    assert "LaunchRockets" in unknown["message"]
    assert (other_status, other["__type"].rsplit("#", 1)[-1]) == (400, "UnknownOperationException")
    assert (broken_status, broken["__type"].rsplit("#", 1)[-1]) == (400, "SerializationException")


def test_wrong_shapes_are_refused_with_every_violation_named(token: str) -> None:
    # Given a client that sends what it is given, unchecked
    raw = client(token, parameter_validation=False)
    # When a member has the wrong type
    code, message, _ = error_of(raw.delete_pipeline, name=["a"])
    # Then the document could not be read, and the member is named
    assert code == "SerializationException"
    assert "'name'" in message
    # When members break the model's constraints
    code, message, status = error_of(
        raw.start_pipeline_execution, name="bad name!", clientRequestToken="x" * 200, variables=[{"name": "v"}]
    )
    # Then each violation is listed in AWS's words
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("3 validation errors detected: ")
    assert (
        "Value 'bad name!' at 'name' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+" in message
    )
    assert (
        "at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 128"
        in (message)
    )
    assert "Value null at 'variables.1.member.value' failed to satisfy constraint: Member must not be null" in message
    # When a required member is missing, or one the model does not know is sent
    assert error_of(raw.get_pipeline)[:2] == (
        "ValidationException",
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null",
    )
    status, unknown = send(signed(b'{"name": "a", "nmae": "b"}', TARGET + "GetPipeline", token))
    assert (status, unknown["__type"]) == (400, "ValidationException")
    assert "at 'nmae' failed to satisfy constraint: Member is unknown" in unknown["message"]
    assert no_pipelines()


def test_an_unknown_pipeline_is_the_modelled_exception(token: str) -> None:
    # Given no pipeline named ghost
    codepipeline = client(token)
    # When it is read, started or its state asked for
    # Then boto3 raises the modelled PipelineNotFoundException each time
    for call, parameters in (
        (codepipeline.get_pipeline, {"name": "ghost"}),
        (codepipeline.start_pipeline_execution, {"name": "ghost"}),
        (codepipeline.get_pipeline_state, {"name": "ghost"}),
    ):
        with pytest.raises(codepipeline.exceptions.PipelineNotFoundException):
            call(**parameters)


def test_every_operation_answered_is_one_of_codepipelines(token: str) -> None:
    # Given botocore's model of CodePipeline
    model = client(token).meta.service_model
    # Then every operation Stepline answers exists there, under the same name
    assert set(OPERATIONS) <= set(model.operation_names)
