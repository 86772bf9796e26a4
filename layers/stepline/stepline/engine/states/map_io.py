"""A distributed Map's items read from S3 (ItemReader) and its results written there (ResultWriter).

Through the engine's ``ObjectStore`` (``ports.objects``), never boto3. As Step Functions'
developer guide describes them ("ItemReader (Map)", "ResultWriter (Map)"):

- ``s3:getObject`` reads one object: a JSON array, JSON Lines, or CSV whose first row (or
  ``CSVHeaders``) names the columns, each row an object of strings; ``s3:listObjectsV2`` lists
  a bucket, each object an item ``{"Etag", "Key", "LastModified", "Size", "StorageClass"}``.
  ``MaxItems`` keeps the first ones. A read that fails is ``States.ItemReaderFailed``.
- ``ResultWriter`` with ``s3:putObject`` writes, under ``<Prefix>/<the Map Run's UUID>/``, the
  children that succeeded (``SUCCEEDED_0.json``) and failed (``FAILED_0.json``), then
  ``manifest.json`` listing them; the Map's result is then ``{"MapRunArn",
  "ResultWriterDetails": {"Bucket", "Key"}}``, the manifest's key. ``WriterConfig``'s
  Transformation shapes each success: ``NONE`` the child's whole record (the default when
  exporting), ``COMPACT`` its output (the default otherwise), ``FLATTEN`` its output with
  arrays flattened; a failure is always its whole record. A write that fails is
  ``States.ResultWriterFailed``.

Reads happen as the Map starts and writes as it ends, inside a step, before that step's commit:
a crash in between redoes the step, reading again or writing the same keys again.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from stepline.engine import executions
from stepline.engine.clock import iso
from stepline.engine.definition import ItemReader, MapState
from stepline.engine.errors import StatesError
from stepline.engine.model import Execution, ExecutionStatus, Frame
from stepline.engine.store import dumps
from stepline.ports.objects import ObjectStoreError

if TYPE_CHECKING:
    from stepline.engine.active import Active

ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"


def read_items(active: Active, state: MapState, data: Any, bound: Any) -> list[Any]:
    reader = state.reader
    assert reader is not None
    where = reader.arguments(data, bound) if reader.arguments is not None else {}
    bucket = _text(where, "Bucket", ITEM_READER_FAILED)
    try:
        if reader.listing:
            items: list[Any] = [
                {
                    "Etag": stored.etag,
                    "Key": stored.key,
                    "LastModified": int(stored.last_modified),
                    "Size": stored.size,
                    "StorageClass": stored.storage_class,
                }
                for stored in active.objects.list(bucket, str(where.get("Prefix") or ""))
            ]
        else:
            key = _text(where, "Key", ITEM_READER_FAILED)
            items = _parsed(reader, active.objects.get(bucket, key), f"s3://{bucket}/{key}")
    except ObjectStoreError as error:
        raise StatesError(ITEM_READER_FAILED, str(error)) from None
    limit = _max_items(reader, data, bound)
    return items[:limit] if limit else items


def _parsed(reader: ItemReader, body: bytes, where: str) -> list[Any]:
    try:
        text = body.decode("utf-8-sig")
        if reader.input_type == "JSON":
            items = json.loads(text)
            if not isinstance(items, list):
                raise StatesError(ITEM_READER_FAILED, f"{where} holds no JSON array")
            return items
        if reader.input_type == "JSONL":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StatesError(ITEM_READER_FAILED, f"{where} is not {reader.input_type}: {error}") from None
    return _rows(reader, text, where)


def _rows(reader: ItemReader, text: str, where: str) -> list[dict[str, str]]:
    """CSV rows as objects of strings, keyed by the header row or the given headers."""
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=reader.delimiter)
    headers = reader.csv_headers if reader.csv_headers is not None else next(rows, [])
    if len(set(headers)) < len(headers):
        raise StatesError(ITEM_READER_FAILED, f"{where}: CSV headers cannot contain duplicates.")
    return [{name: row[i] if i < len(row) else "" for i, name in enumerate(headers)} for row in rows if row]


def _max_items(reader: ItemReader, data: Any, bound: Any) -> int | None:
    if reader.max_items_from is None:
        return reader.max_items
    value = reader.max_items_from(data, bound)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 0:
        raise StatesError(ITEM_READER_FAILED, f"MaxItems must be a whole number, 0 or more, not {dumps(value)}")
    return int(value)


def destination(state: MapState, data: Any, bound: Any) -> dict[str, str] | None:
    """Where the results go, evaluated as the Map starts (None: they are only shaped)."""
    writer = state.writer
    if writer is None or writer.arguments is None:
        return None
    where = writer.arguments(data, bound)
    prefix = str(where.get("Prefix") or "") if isinstance(where, dict) else ""
    return {"Bucket": _text(where, "Bucket", RESULT_WRITER_FAILED), "Prefix": prefix}


def written(active: Active, frame: Frame, state: MapState, count: int) -> Any:
    """The Map's result once its children ended: their results shaped, and written if it says where."""
    writer = state.writer
    assert writer is not None
    target = frame.data.get("writer")
    transformation = writer.transformation or ("NONE" if target else "COMPACT")
    children = _children(active, frame, count)
    if target is None:
        return [entry for child in children for entry in _shaped(transformation, child)]
    succeeded = [entry for child in children if _succeeded(child) for entry in _shaped(transformation, child)]
    failed = [_record(child) for child in children if not _succeeded(child)]
    run = frame.data["map_run"]
    folder = f"{target['Prefix']}{'' if target['Prefix'].endswith('/') or not target['Prefix'] else '/'}"
    folder += f"{run.rsplit(':', 1)[-1]}/"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status, entries in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        if entries:
            files[status].append(_put(active, target["Bucket"], f"{folder}{status}_0.json", entries))
    manifest = {"DestinationBucket": target["Bucket"], "MapRunArn": run, "ResultFiles": files}
    _put(active, target["Bucket"], f"{folder}manifest.json", manifest)
    return {"MapRunArn": run, "ResultWriterDetails": {"Bucket": target["Bucket"], "Key": f"{folder}manifest.json"}}


def _children(active: Active, frame: Frame, count: int) -> list[Execution]:
    machine, run = frame.data["child_machine"], frame.data["map_run"]
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:{run[-36:-12]}"
    children = [executions.load(active, f"{arn}{index:012x}") for index in range(count)]
    return [child for child in children if child is not None]


def _succeeded(child: Execution) -> bool:
    return child.status is ExecutionStatus.SUCCEEDED


def _shaped(transformation: str, child: Execution) -> list[Any]:
    """A child's entries in the results: its record (NONE, or a failure), or its output (COMPACT),
    an array output's items (FLATTEN)."""
    if transformation == "NONE" or child.status is not ExecutionStatus.SUCCEEDED:
        return [_record(child)]
    if transformation == "FLATTEN" and isinstance(child.output, list):
        return list(child.output)
    return [child.output]


def _record(child: Execution) -> dict[str, Any]:
    """A child execution as the result files show it, its keys in alphabetical order as there."""
    record: dict[str, Any] = {
        "ExecutionArn": child.arn,
        "Input": child.input_text,
        "InputDetails": {"Included": True},
        "Name": child.name,
    }
    if child.status is ExecutionStatus.SUCCEEDED:
        record.update(Output=child.output_text, OutputDetails={"Included": True})
    else:
        record.update({key: value for key, value in (("Error", child.error), ("Cause", child.cause)) if value})
    record.update(
        RedriveCount=0,
        RedriveStatus="NOT_REDRIVABLE" if child.status is ExecutionStatus.SUCCEEDED else "REDRIVABLE_BY_MAP_RUN",
        StartDate=iso(child.started),
        StateMachineArn=child.machine_arn,
        Status=child.status.value,
        StopDate=iso(child.stopped if child.stopped is not None else child.started),
    )
    return dict(sorted(record.items()))


def _put(active: Active, bucket: str, key: str, value: Any) -> dict[str, Any]:
    body = json.dumps(value, indent=2).encode()
    try:
        active.objects.put(bucket, key, body)
    except ObjectStoreError as error:
        raise StatesError(RESULT_WRITER_FAILED, str(error)) from None
    return {"Key": key, "Size": len(body)}


def _text(where: Any, field: str, error: str) -> str:
    value = where.get(field) if isinstance(where, dict) else None
    if not isinstance(value, str) or not value:
        raise StatesError(error, f"the {field} to use is missing or not a string (given: {dumps(where)})")
    return value
