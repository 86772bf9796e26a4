"""A distributed Map's ItemReader and ResultWriter on the engine, with S3 as a local directory.

Shapes as Step Functions' developer guide gives them ("ItemReader (Map)", "ResultWriter (Map)");
the same reads against moto's S3 are in tests/functional/test_s3_objects.py and, beside moto's
interpreter, in the conformance suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepline.adapters.local.objects import LocalObjectStore
from stepline.engine import Engine, InvalidDefinition, ManualClock
from stepline.ports.objects import ObjectStoreError

GET, LIST, PUT = ("arn:aws:states:::s3:getObject", "arn:aws:states:::s3:listObjectsV2", "arn:aws:states:::s3:putObject")


def distributed(processor: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A machine of one distributed Map whose children run ``processor`` (by default: a Pass)."""
    states = processor or {"Item": {"Type": "Pass", "End": True}}
    each = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": next(iter(states)),
            "States": states,
        },
        "End": True,
        **fields,
    }
    return {"StartAt": "Each", "States": {"Each": each}}


def reading(key: str, input_type: str, **config: Any) -> dict[str, Any]:
    return {
        "Resource": GET,
        "ReaderConfig": {"InputType": input_type, **config},
        "Parameters": {"Bucket": "data", "Key": key},
    }


@pytest.fixture
def buckets(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "in").mkdir(parents=True)
    (data / "in" / "people.csv").write_text("id,name\n1,ann\n2,bob\n3,cy\n")
    (data / "in" / "people.tsv").write_text("1\tann\n2\tbob\n")
    (data / "in" / "numbers.json").write_text('[{"n": 1}, {"n": 2}, {"n": 3}]')
    (data / "in" / "numbers.jsonl").write_text('{"n": 1}\n{"n": 2}\n\n{"n": 3}\n')
    (data / "in" / "object.json").write_text('{"n": 1}')
    return tmp_path


def run(buckets: Path, definition: dict[str, Any], given: Any = None) -> dict[str, Any]:
    engine = Engine(clock=ManualClock(), objects=LocalObjectStore(buckets))
    machine = engine.create_state_machine("m", definition)["stateMachineArn"]
    execution = engine.start_execution(machine, "run", json.dumps(given or {}))["executionArn"]
    described = engine.run_until_done(execution, skip_waits=True)
    if "output" in described:
        described["output"] = json.loads(described["output"])
    return described


@pytest.mark.parametrize(
    ("reader", "items"),
    [
        (
            reading("in/people.csv", "CSV"),
            [{"id": "1", "name": "ann"}, {"id": "2", "name": "bob"}, {"id": "3", "name": "cy"}],
        ),
        (
            reading("in/people.tsv", "CSV", CSVHeaderLocation="GIVEN", CSVHeaders=["id", "name"], CSVDelimiter="TAB"),
            [{"id": "1", "name": "ann"}, {"id": "2", "name": "bob"}],
        ),
        (reading("in/numbers.json", "JSON"), [{"n": 1}, {"n": 2}, {"n": 3}]),
        (reading("in/numbers.jsonl", "JSONL"), [{"n": 1}, {"n": 2}, {"n": 3}]),
        (reading("in/numbers.jsonl", "JSONL", MaxItems=2), [{"n": 1}, {"n": 2}]),
    ],
    ids=["csv first row", "csv given headers, tabs", "json array", "json lines", "max items"],
)
def test_an_item_reader_gives_each_item_of_an_object_to_a_child(
    buckets: Path, reader: dict[str, Any], items: list[Any]
) -> None:
    # Given a distributed Map reading its items from an object in the bucket "data"
    # When it runs
    described = run(buckets, distributed(ItemReader=reader))
    # Then each item (a CSV row: an object of strings) was a child's input, and came back as its output
    assert (described["status"], described["output"]) == ("SUCCEEDED", items)


def test_a_listing_gives_each_object_under_a_prefix_with_what_list_objects_v2_tells(buckets: Path) -> None:
    # Given a distributed Map over the objects under data/in/numbers, its Bucket from the input
    reader = {"Resource": LIST, "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/numbers"}}
    # When it runs
    described = run(buckets, distributed(ItemReader=reader), {"bucket": "data"})
    # Then each child had one object, in key order, described as ListObjectsV2 describes it
    keys = [item["Key"] for item in described["output"]]
    assert keys == ["in/numbers.json", "in/numbers.jsonl"]
    first = described["output"][0]
    assert set(first) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert first["Size"] == len((buckets / "data" / "in" / "numbers.json").read_bytes())
    assert first["Etag"].startswith('"')
    assert first["StorageClass"] == "STANDARD"


@pytest.mark.parametrize(
    ("reader", "cause"),
    [
        (reading("in/missing.json", "JSON"), "s3://data/in/missing.json does not exist"),
        (reading("in/object.json", "JSON"), "s3://data/in/object.json holds no JSON array"),
        (reading("in/people.csv", "JSONL"), "s3://data/in/people.csv is not JSONL"),
        ({"Resource": GET, "ReaderConfig": {"InputType": "JSON"}, "Parameters": {"Key": "k"}}, "the Bucket to use"),
    ],
    ids=["missing object", "not an array", "not json lines", "no bucket"],
)
def test_an_object_that_cannot_be_read_fails_the_map_with_item_reader_failed(
    buckets: Path, reader: dict[str, Any], cause: str
) -> None:
    described = run(buckets, distributed(ItemReader=reader))
    assert (described["status"], described["error"]) == ("FAILED", "States.ItemReaderFailed")
    assert cause in described["cause"]


def test_a_result_writer_exports_the_children_and_a_manifest_as_step_functions_does(buckets: Path) -> None:
    # Given a distributed Map of three items, one of whose children fails, tolerated, writing to s3://out/runs
    processor = {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericEquals": 2, "Next": "Refuse"}],
            "Default": "Fine",
        },
        "Refuse": {"Type": "Fail", "Error": "Two", "Cause": "two is refused"},
        "Fine": {"Type": "Pass", "End": True},
    }
    definition = distributed(
        processor,
        ItemReader=reading("in/numbers.json", "JSON"),
        ToleratedFailureCount=1,
        ResultWriter={"Resource": PUT, "Parameters": {"Bucket": "out", "Prefix": "runs"}},
    )
    # When it runs
    described = run(buckets, definition)
    # Then its output names the Map Run and the manifest, under <Prefix>/<the run's UUID>/
    assert described["status"] == "SUCCEEDED"
    output = described["output"]
    run_id = output["MapRunArn"].rsplit(":", 1)[-1]
    assert output["ResultWriterDetails"] == {"Bucket": "out", "Key": f"runs/{run_id}/manifest.json"}
    folder = buckets / "out" / "runs" / run_id
    manifest = json.loads((folder / "manifest.json").read_text())
    # And the manifest lists the files of children that succeeded and failed, with their sizes
    assert (manifest["DestinationBucket"], manifest["MapRunArn"]) == ("out", output["MapRunArn"])
    files = manifest["ResultFiles"]
    assert [entry["Key"] for entry in files["SUCCEEDED"]] == [f"runs/{run_id}/SUCCEEDED_0.json"]
    assert [entry["Key"] for entry in files["FAILED"]] == [f"runs/{run_id}/FAILED_0.json"]
    assert files["PENDING"] == []
    assert files["SUCCEEDED"][0]["Size"] == (folder / "SUCCEEDED_0.json").stat().st_size
    # And each file holds the children's records: input and output as JSON text, or error and cause
    succeeded = json.loads((folder / "SUCCEEDED_0.json").read_text())
    assert [json.loads(record["Output"]) for record in succeeded] == [{"n": 1}, {"n": 3}]
    assert {record["Status"] for record in succeeded} == {"SUCCEEDED"}
    (failure,) = json.loads((folder / "FAILED_0.json").read_text())
    assert (failure["Status"], failure["Error"], failure["Cause"]) == ("FAILED", "Two", "two is refused")
    assert json.loads(failure["Input"]) == {"n": 2}
    assert list(failure) == sorted(failure)  # keys in the order the files show them


@pytest.mark.parametrize(
    ("transformation", "output"),
    [("COMPACT", [[1, 2], [3]]), ("FLATTEN", [1, 2, 3])],
)
def test_a_writer_config_alone_shapes_the_results_without_writing(
    buckets: Path, transformation: str, output: list[Any]
) -> None:
    # Given children that each return an array, and a ResultWriter with a WriterConfig only
    processor = {"Item": {"Type": "Pass", "OutputPath": "$.values", "End": True}}
    definition = distributed(
        processor,
        Items=[{"values": [1, 2]}, {"values": [3]}],
        ResultWriter={"WriterConfig": {"Transformation": transformation}},
    )
    definition["States"]["Each"].pop("Items")
    definition["States"]["Each"]["ItemsPath"] = "$.items"
    # When it runs
    described = run(buckets, definition, {"items": [{"values": [1, 2]}, {"values": [3]}]})
    # Then the output is the children's outputs, flattened if FLATTEN says so, and nothing was written
    assert described["output"] == output
    assert not (buckets / "out").exists()


def test_a_writer_config_of_none_gives_each_childs_whole_record(buckets: Path) -> None:
    definition = distributed(
        ItemReader=reading("in/numbers.json", "JSON"), ResultWriter={"WriterConfig": {"Transformation": "NONE"}}
    )
    records = run(buckets, definition)["output"]
    assert [json.loads(record["Output"]) for record in records] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert {"ExecutionArn", "Input", "Name", "StartDate", "StopDate", "StateMachineArn", "Status"} <= set(records[0])


def test_an_engine_with_no_object_store_says_how_to_give_one() -> None:
    engine = Engine(clock=ManualClock())
    machine = engine.create_state_machine("m", distributed(ItemReader=reading("in/numbers.json", "JSON")))
    execution = engine.start_execution(machine["stateMachineArn"], "run", "{}")["executionArn"]
    described = engine.run_until_done(execution, skip_waits=True)
    assert described["error"] == "States.ItemReaderFailed"
    assert "stepline asl run --buckets DIR" in described["cause"]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"ItemReader": reading("k", "MANIFEST")}, "InputType MANIFEST is not supported by the local engine"),
        ({"ItemReader": reading("k", "XML")}, "InputType 'XML' is not one of CSV, JSON, JSONL, MANIFEST, PARQUET"),
        (
            {"ItemReader": {**reading("k", "JSON"), "Resource": "arn:aws:states:::s3:headObject"}},
            "is not one the local engine reads",
        ),
        ({"ItemReader": reading("k", "CSV", CSVHeaderLocation="GIVEN")}, "CSVHeaders must be a list"),
        ({"ItemReader": reading("k", "CSV", CSVDelimiter="COLON")}, "CSVDelimiter 'COLON' is not one of"),
        ({"ResultWriter": {}}, "ResultWriter: must be an object with WriterConfig"),
        (
            {"ResultWriter": {"WriterConfig": {"Transformation": "ZIP"}}},
            "Transformation 'ZIP' is not NONE, COMPACT or FLATTEN",
        ),
        ({"ResultWriter": {"Resource": PUT}}, "ResultWriter: needs Parameters naming the Bucket"),
    ],
)
def test_a_reader_or_writer_the_engine_cannot_run_is_refused_by_name(fields: dict[str, Any], problem: str) -> None:
    engine = Engine(clock=ManualClock())
    with pytest.raises(InvalidDefinition, match=problem.replace("(", r"\(").replace(")", r"\)")):
        engine.create_state_machine("m", distributed(**fields))


def test_an_inline_map_cannot_read_items_from_s3() -> None:
    definition = distributed(ItemReader=reading("k", "JSON"))
    definition["States"]["Each"]["ItemProcessor"].pop("ProcessorConfig")
    with pytest.raises(InvalidDefinition, match="ItemReader and ResultWriter need ProcessorConfig Mode DISTRIBUTED"):
        Engine(clock=ManualClock()).create_state_machine("m", definition)


@pytest.mark.parametrize(("bucket", "key"), [("data", "../escape"), ("..", "k"), ("data", "a//b"), ("data", "")])
def test_the_local_object_store_keeps_every_key_inside_its_folder(tmp_path: Path, bucket: str, key: str) -> None:
    store = LocalObjectStore(tmp_path / "buckets")
    with pytest.raises(ObjectStoreError):
        store.put(bucket, key, b"x")
    assert not (tmp_path / "escape").exists()


def test_a_jsonata_map_reads_and_writes_with_arguments_and_computed_max_items(buckets: Path) -> None:
    # Given a JSONata distributed Map whose key, MaxItems and prefix come from its input, exporting COMPACT
    definition = distributed(
        ItemReader={
            "Resource": GET,
            "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.max %}"},
            "Arguments": {"Bucket": "data", "Key": "{% $states.input.key %}"},
        },
        ResultWriter={
            "Resource": PUT,
            "Arguments": {"Bucket": "out", "Prefix": "{% 'by/' & $states.input.who %}"},
            "WriterConfig": {"Transformation": "COMPACT"},
        },
        Output="{% $states.result.ResultWriterDetails %}",
    )
    definition["QueryLanguage"] = "JSONata"
    # When it runs
    described = run(buckets, definition, {"key": "in/numbers.json", "max": 2, "who": "ann"})
    # Then two items ran, and the succeeded file under by/ann/<run>/ holds their outputs alone
    details = described["output"]
    assert details["Key"].startswith("by/ann/")
    manifest = json.loads((buckets / "out" / details["Key"]).read_text())
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    assert json.loads((buckets / "out" / succeeded["Key"]).read_text()) == [{"n": 1}, {"n": 2}]
