"""The engine's S3 port against moto's S3: a distributed Map reading its items from a bucket and
writing its results there, exactly as with the local folder adapter (tests/unit/test_engine_objects.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from stepline.adapters.aws.objects import S3ObjectStore
from stepline.engine import Engine, ManualClock
from stepline.ports.objects import ObjectStoreError

pytestmark = pytest.mark.functional


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    with mock_aws():
        client: Any = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="data")
        client.put_object(Bucket="data", Key="in/people.csv", Body=b"id,name\n1,ann\n2,bob\n")
        client.put_object(Bucket="data", Key="in/numbers.jsonl", Body=b'{"n": 1}\n{"n": 2}\n')
        yield client


def test_the_s3_adapter_reads_lists_and_writes_objects(s3: Any) -> None:
    store = S3ObjectStore(s3)
    assert store.get("data", "in/people.csv").startswith(b"id,name")
    listed = store.list("data", "in/")
    assert [(stored.key, stored.size) for stored in listed] == [("in/numbers.jsonl", 18), ("in/people.csv", 20)]
    assert listed[0].etag.startswith('"')
    store.put("data", "out/x.json", b"[]")
    assert s3.get_object(Bucket="data", Key="out/x.json")["Body"].read() == b"[]"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda store: store.get("data", "in/missing.csv"), "s3://data/in/missing.csv cannot be read: NoSuchKey"),
        (lambda store: store.list("nobucket", ""), "s3://nobucket/ cannot be listed: NoSuchBucket"),
        (lambda store: store.put("nobucket", "k", b""), "s3://nobucket/k cannot be written: NoSuchBucket"),
    ],
    ids=["missing key", "missing bucket listed", "missing bucket written"],
)
def test_what_s3_refuses_is_one_error_naming_the_object(s3: Any, call: Any, message: str) -> None:
    with pytest.raises(ObjectStoreError, match=message):
        call(S3ObjectStore(s3))


def test_a_distributed_map_reads_from_s3_and_writes_its_results_there(s3: Any) -> None:
    # Given a distributed Map over the rows of s3://data/in/people.csv, writing to s3://data/runs
    each = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket": "data", "Key": "in/people.csv"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Greet",
            "States": {"Greet": {"Type": "Pass", "Parameters": {"hello.$": "$.name"}, "End": True}},
        },
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "data", "Prefix": "runs/"},
        },
        "End": True,
    }
    engine = Engine(clock=ManualClock(), objects=S3ObjectStore(s3))
    machine = engine.create_state_machine("m", {"StartAt": "Each", "States": {"Each": each}})["stateMachineArn"]
    # When it runs
    execution = engine.start_execution(machine, "run", "{}")["executionArn"]
    described = engine.run_until_done(execution, skip_waits=True)
    # Then the manifest it names is in the bucket, listing the children's results
    details = json.loads(described["output"])["ResultWriterDetails"]
    manifest = json.loads(s3.get_object(Bucket="data", Key=details["Key"])["Body"].read())
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    records = json.loads(s3.get_object(Bucket="data", Key=succeeded["Key"])["Body"].read())
    assert [json.loads(record["Output"]) for record in records] == [{"hello": "ann"}, {"hello": "bob"}]
    assert details["Key"].startswith("runs/")
    assert details["Key"].endswith("/manifest.json")
