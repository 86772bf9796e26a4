"""Polling on AWS, under moto: the trigger function, invoked by the stack's one-minute poll
schedule (its own Input, from template.yaml), reads a polled S3 source's latest version with
HeadObject from moto's versioned bucket, keeps what it found in moto's DynamoDB, and starts
the pipeline in moto's Step Functions once per new version; S3's own event for that version
starts nothing more."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest

from stepline.local.template import load_template
from tests.functional.test_triggers_aws import REGION, Stack, stack, trigger  # noqa: F401 - the fixture
from tests.handlers import load_handler
from tests.helpers import REPO, action, codebuild, load_event, pipeline

pytestmark = pytest.mark.functional


def poll_input() -> dict[str, Any]:
    events = load_template(REPO / "template.yaml")["Resources"]["TriggerFunction"]["Properties"]["Events"]
    loaded: dict[str, Any] = json.loads(events["Poll"]["Properties"]["Input"])
    return loaded


def upload(s3: Any) -> str:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as written:
        written.writestr("app.py", "print('hi')\n")
    return str(s3.put_object(Bucket="example-bucket", Key="example-key", Body=archive.getvalue())["VersionId"])


def test_a_polled_s3_source_starts_once_per_new_version(
    stack: Stack,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a versioned bucket, the task tokens table, and a pipeline polling example-key
    s3: Any = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="example-bucket")
    s3.put_bucket_versioning(Bucket="example-bucket", VersioningConfiguration={"Status": "Enabled"})
    stack.dynamodb.create_table(
        TableName="stepline-tokens",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    monkeypatch.setenv("TASK_TOKENS_TABLE", "stepline-tokens")
    configuration = {"S3Bucket": "example-bucket", "S3ObjectKey": "example-key", "PollForSourceChanges": "true"}
    source = action("Source", "Source", "S3", configuration=configuration, outputs=["Src"])
    stack.register(pipeline(("Source", [source]), ("Build", [codebuild("Build", source="Src")]), name="bundle"))
    upload(s3)
    handler = load_handler("trigger").lambda_handler
    # When the first poll comes, Then it records the version and starts nothing
    assert handler(poll_input(), None)["started"] == []
    # When a new version is uploaded and the next poll comes
    version = upload(s3)
    polled = handler(poll_input(), None)
    # Then the pipeline starts once, told to fetch that version
    assert len(polled["started"]) == 1
    given = stack.input_of("bundle")["trigger"]
    assert (given["type"], given["revisions"]["Source"]["versionId"]) == ("PollForSourceChanges", version)
    # And S3's own event for a version (the rule exists too) starts nothing: the poller owns it
    answer = trigger("s3-object-created.json")
    assert answer["skipped"]["bundle"] == [
        "Source: PollForSourceChanges is true: the poller starts it (events would start it twice)"
    ]
    # And polling again finds nothing new
    assert handler(poll_input(), None)["started"] == []
    assert stack.started() == {"bundle": 1}
    assert load_event("trigger/s3-object-created.json")["detail"]["bucket"]["name"] == "example-bucket"
