"""A distributed Map's ItemReader and ResultWriter, parsed: the S3 resources and options Step
Functions accepts, and the ones the local engine does not run, refused by name."""

from __future__ import annotations

from typing import Any

from stepline.engine.definition.fields import FieldCompiler
from stepline.engine.definition.states import Batcher, ItemReader, ResultWriter
from stepline.engine.jsonata import is_expression

GET_OBJECT = "arn:aws:states:::s3:getObject"
LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"
PUT_OBJECT = "arn:aws:states:::s3:putObject"
DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
TRANSFORMATIONS = ("NONE", "COMPACT", "FLATTEN")


def item_reader(builder: FieldCompiler, raw: Any, where: str) -> ItemReader | None:
    where = f"{where}: ItemReader"
    if not isinstance(raw, dict):
        builder.problem(where, "must be an object")
        return None
    resource = raw.get("Resource")
    if resource not in {GET_OBJECT, LIST_OBJECTS}:
        builder.problem(
            where, f"Resource {resource!r} is not one the local engine reads items with ({GET_OBJECT}, {LIST_OBJECTS})"
        )
        return None
    reader = ItemReader(listing=resource == LIST_OBJECTS)
    reader.arguments = _arguments(builder, raw, where)
    config = raw.get("ReaderConfig", {})
    if not isinstance(config, dict):
        builder.problem(where, "ReaderConfig must be an object")
        return reader
    config_where = f"{where}: ReaderConfig"
    if not reader.listing:
        _input_type(builder, reader, config, config_where)
    reader.max_items = _whole(builder, config, "MaxItems", config_where)
    reader.max_items_from = builder.computed(config, "MaxItems", config_where) or builder.lookup(
        config, "MaxItemsPath", config_where
    )
    return reader


def _input_type(builder: FieldCompiler, reader: ItemReader, config: dict[str, Any], where: str) -> None:
    kind = config.get("InputType")
    if kind in {"MANIFEST", "PARQUET"}:
        builder.problem(where, f"InputType {kind} is not supported by the local engine (CSV, JSON and JSONL are)")
    elif kind not in {"CSV", "JSON", "JSONL"}:
        builder.problem(where, f"InputType {kind!r} is not one of CSV, JSON, JSONL, MANIFEST, PARQUET")
    reader.input_type = kind if isinstance(kind, str) else "JSON"
    if kind != "CSV":
        return
    location = config.get("CSVHeaderLocation", "FIRST_ROW")
    if location == "GIVEN":
        headers = config.get("CSVHeaders")
        if not isinstance(headers, list) or not headers or not all(isinstance(name, str) for name in headers):
            builder.problem(where, "CSVHeaders must be a list of column names when CSVHeaderLocation is GIVEN")
        else:
            reader.csv_headers = headers
    elif location != "FIRST_ROW":
        builder.problem(where, f"CSVHeaderLocation {location!r} is not FIRST_ROW or GIVEN")
    delimiter = config.get("CSVDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        builder.problem(where, f"CSVDelimiter {delimiter!r} is not one of {', '.join(DELIMITERS)}")
    else:
        reader.delimiter = DELIMITERS[delimiter]


def result_writer(builder: FieldCompiler, raw: Any, where: str) -> ResultWriter | None:
    where = f"{where}: ResultWriter"
    if not isinstance(raw, dict) or not raw:
        builder.problem(where, "must be an object with WriterConfig, or Resource and its Parameters, or all three")
        return None
    writer = ResultWriter()
    if "Resource" in raw:
        if raw["Resource"] != PUT_OBJECT:
            builder.problem(where, f"Resource {raw['Resource']!r} is not {PUT_OBJECT}")
        writer.arguments = _arguments(builder, raw, where)
    config = raw.get("WriterConfig")
    if config is not None:
        if not isinstance(config, dict):
            builder.problem(where, "WriterConfig must be an object")
            return writer
        transformation = config.get("Transformation", "NONE" if writer.arguments else "COMPACT")
        if transformation not in TRANSFORMATIONS:
            builder.problem(where, f"WriterConfig Transformation {transformation!r} is not NONE, COMPACT or FLATTEN")
        writer.transformation = transformation
        output_type = config.get("OutputType", "JSON")
        if output_type not in {"JSON", "JSONL"}:
            builder.problem(where, f"WriterConfig OutputType {output_type!r} is not JSON or JSONL")
        elif output_type == "JSONL" and writer.arguments is not None:
            builder.problem(where, "WriterConfig OutputType JSONL is not supported by the local engine (JSON is)")
        writer.output_type = output_type
    elif writer.arguments is None:
        builder.problem(where, "needs WriterConfig, or Resource and its Parameters")
    return writer


def _arguments(builder: FieldCompiler, raw: dict[str, Any], where: str) -> Any:
    key = "Arguments" if builder.jsonata else "Parameters"
    if key not in raw:
        builder.problem(where, f"needs {key} naming the Bucket")
        return None
    return builder.template(raw, key, where)


def _whole(builder: FieldCompiler, body: dict[str, Any], key: str, where: str) -> int | None:
    value = body.get(key)
    if value is None or (builder.jsonata and is_expression(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        builder.problem(where, f"{key} must be a whole number, 0 or more")
        return None
    return value


def item_batcher(builder: FieldCompiler, raw: dict[str, Any], where: str) -> Batcher:
    """A distributed Map's ItemBatcher: how many items, or bytes, go to each child."""
    batcher = Batcher()
    batcher.max_items = builder.whole(raw, "MaxItemsPerBatch", where, minimum=1, label="a whole number, 1 or more")
    batcher.max_bytes = builder.whole(
        raw, "MaxInputBytesPerBatch", where, minimum=1, label="a whole number of bytes, at most 262144"
    )
    if batcher.max_bytes is not None and batcher.max_bytes > 262_144:
        builder.problem(where, "MaxInputBytesPerBatch must be a whole number of bytes, at most 262144")
    batcher.max_items_from = builder.computed(raw, "MaxItemsPerBatch", where) or builder.lookup(
        raw, "MaxItemsPerBatchPath", where
    )
    batcher.max_bytes_from = builder.computed(raw, "MaxInputBytesPerBatch", where) or builder.lookup(
        raw, "MaxInputBytesPerBatchPath", where
    )
    batcher.batch_input = builder.template(raw, "BatchInput", where)
    if not any((batcher.max_items, batcher.max_bytes, batcher.max_items_from, batcher.max_bytes_from)):
        builder.problem(where, "needs MaxItemsPerBatch or MaxInputBytesPerBatch")
    return batcher
