"""Reading a pipeline definition: JSON or YAML, bare or as ``get-pipeline`` prints it."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stepline.definition import models
from stepline.definition.models import GetPipelineOutput, PipelineDeclaration
from stepline.definition.problems import DefinitionError, Problem, format_path
from stepline.files import UnreadableFile, read_limited

# A pipeline definition is a few KB; CodePipeline's own structure limit is far below this.
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# A declaration nests about eight levels (pipeline, stages, actions, configuration; triggers,
# gitConfiguration, push, branches, includes): anything much deeper is not a pipeline, and
# past Python's recursion limit the JSON and YAML readers would fail without saying where.
MAX_DEPTH = 32
TOO_DEEP = f"nests deeper than {MAX_DEPTH} levels (a pipeline declaration needs about 8)"
# YAML aliases let a small file stand for a huge tree ("billion laughs"); a pipeline at every
# CodePipeline limit (500 actions) holds well under 100,000 values.
MAX_VALUES = 1_000_000

_PATTERN_MEANINGS = {
    models.NAME_PATTERN: "only letters, digits and . @ - _",
    models.ARTIFACT_NAME_PATTERN: "only letters, digits, - and _",
    models.NAMESPACE_PATTERN: "only letters, digits and @ - _",
    models.PROVIDER_PATTERN: "only letters, digits, - and _",
    models.ROLE_ARN_PATTERN: "an IAM role ARN such as arn:aws:iam::111122223333:role/Name",
    models.BUCKET_PATTERN: "an S3 bucket name: letters, digits, - and .",
    models.ENV_NAME_PATTERN: "only letters, digits and _",
}


@dataclass(frozen=True)
class LoadedPipeline:
    """A parsed declaration and where it came from."""

    pipeline: PipelineDeclaration
    source: str
    # "pipeline" when the file is get-pipeline output: paths in problems start there.
    path_prefix: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def located(self, problems: list[Problem]) -> list[Problem]:
        return [p.under(self.path_prefix) for p in problems] if self.path_prefix else problems


def load_pipeline(path: str | Path) -> LoadedPipeline:
    """Read and parse a pipeline file; raise DefinitionError naming every structural problem."""
    _, document = read_document(path)
    return parse_pipeline(document, str(path))


def read_document(path: str | Path) -> tuple[str, Any]:
    """A pipeline file's text and its decoded document; DefinitionError when it has none."""
    source = str(path)
    file = Path(path)
    try:
        # A size cap on what is read, not a stat: /dev/zero and pipes have no size to ask.
        raw = read_limited(file, MAX_DOCUMENT_BYTES, "a pipeline definition")
    except UnreadableFile as error:
        raise DefinitionError(source, [Problem("", error.reason)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = f"is not UTF-8 text (byte {error.start} cannot be decoded)"
        raise DefinitionError(source, [Problem("", message)]) from None
    return text, parse_document(text, source, as_json=file.suffix.lower() == ".json")


def parse_document(text: str, source: str, *, as_json: bool) -> Any:
    """JSON (for .json files) or YAML; duplicate keys are refused, since one of them is lost."""
    try:
        if as_json:
            return json.loads(text, object_pairs_hook=_unique_keys_object)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:  # JSON nested past Python's stack; YAML stops at MAX_DEPTH first
        raise DefinitionError(source, [Problem("", _too_deep_json(text))]) from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise DefinitionError(source, [Problem("", f"is not valid JSON: {where}: {error.msg}")]) from None
    except _DuplicateKeyError as error:
        raise DefinitionError(source, [Problem("", str(error))]) from None
    except _TooDeepError as error:
        raise DefinitionError(source, [Problem("", str(error))]) from None
    except yaml.YAMLError as error:
        raise DefinitionError(source, [Problem("", f"is not valid YAML: {_yaml_reason(error)}")]) from None


def parse_pipeline(document: Any, source: str) -> LoadedPipeline:
    """Turn a decoded document into a PipelineDeclaration, or raise with every problem."""
    if not isinstance(document, dict):
        kind = _json_kind(document)
        message = f"must be a JSON/YAML object holding a pipeline declaration, not {kind}"
        raise DefinitionError(source, [Problem("", message)])
    shape = shape_problem(document)
    if shape is not None:
        raise DefinitionError(source, [shape])
    wrapped = "pipeline" in document and "stages" not in document
    model: type[BaseModel] = GetPipelineOutput if wrapped else PipelineDeclaration
    try:
        parsed = model.model_validate(document)
    except ValidationError as error:
        raise DefinitionError(source, [_problem_from(detail, model) for detail in error.errors()]) from None
    if isinstance(parsed, GetPipelineOutput):
        return LoadedPipeline(parsed.pipeline, source, "pipeline", parsed.metadata or {})
    assert isinstance(parsed, PipelineDeclaration)
    return LoadedPipeline(parsed, source)


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"is not valid: the key {key!r} appears twice in one object")
        result[key] = value
    return result


def shape_problem(document: Any) -> Problem | None:
    """Too deep or too many values, found without recursion (the document may be either)."""
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    seen = 0
    while pending:
        value, location = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            return Problem("", f"holds more than {MAX_VALUES:,} values (YAML aliases count each time they are used)")
        if len(location) > MAX_DEPTH:
            return Problem(format_path(location[:MAX_DEPTH]), TOO_DEEP)
        if isinstance(value, dict):
            pending.extend((child, (*location, str(key))) for key, child in value.items())
        elif isinstance(value, list):
            pending.extend((child, (*location, index)) for index, child in enumerate(value))
    return None


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep_json(text: str) -> str:
    """Where a JSON text first nests deeper than MAX_DEPTH (strings skipped, brackets counted)."""
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, token.start()) + 1
                column = token.start() - (text.rfind("\n", 0, token.start()) + 1) + 1
                return f"line {line}, column {column}: {TOO_DEEP}"
        elif bracket in "]}":
            depth -= 1
    return TOO_DEEP


class _TooDeepError(yaml.YAMLError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML composes recursively: stop at MAX_DEPTH, long before Python's stack would.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeepError(f"line {mark.line + 1}, column {mark.column + 1}: {TOO_DEEP}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise _DuplicateKeyError(
                    f"is not valid: line {mark.line + 1}, column {mark.column + 1}: "
                    f"the key {key!r} appears twice in one mapping"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_reason(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _json_kind(value: Any) -> str:
    if value is None:
        return "an empty document"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _known_field_names() -> list[str]:
    names: set[str] = set()
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, models.Model):
            names.update(info.alias or name for name, info in value.model_fields.items())
    return sorted(names)


@functools.cache
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True)


def _length_range(model: type[BaseModel], location: Sequence[str | int]) -> tuple[int | None, int | None]:
    """The minLength and maxLength the model's JSON Schema gives the string at ``location``
    (pydantic's, where "[key]" after a part means the part is a mapping's key)."""
    schema = _json_schema(model)
    definitions: dict[str, Any] = schema.get("$defs", {})

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in node:
                node = definitions.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
            elif "anyOf" in node:
                node = next((option for option in node["anyOf"] if option.get("type") != "null"), {})
            else:
                return node

    node = schema
    for index, part in enumerate(location):
        node = resolved(node)
        if location[index + 1 : index + 2] == ("[key]",):
            node = node.get("propertyNames", {})
            break
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part) or node.get("additionalProperties") or {}
    node = resolved(node)
    return node.get("minLength"), node.get("maxLength")


def _length_message(
    kind: str, given: str, context: dict[str, Any], model: type[BaseModel], location: Sequence[str | int]
) -> str:
    if not kind.endswith("too_short"):
        return f"is {len(given)} characters long; the limit is {context.get('max_length')}"
    shortest, longest = _length_range(model, location)
    shortest = shortest or context.get("min_length") or 1
    if not given and shortest == 1:
        return "must not be empty"
    size = "is empty" if not given else f"is {len(given)} character{'s' if len(given) > 1 else ''} long"
    return f"{size}; it must have {f'{shortest} to {longest}' if longest else f'at least {shortest}'} characters"


def _problem_from(detail: ErrorDetails, model: type[BaseModel]) -> Problem:
    """Pydantic's error, re-said for someone editing a pipeline file."""
    location = [part for part in detail["loc"] if part != "[key]"]
    path = format_path(location)
    kind = detail["type"]
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    given = detail.get("input")
    message: str
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        name = str(location[-1]) if location else ""
        guesses = difflib.get_close_matches(name, _known_field_names(), n=1)
        hint = f" (did you mean {guesses[0]!r}?)" if guesses else ""
        message = f"is not a field of a CodePipeline declaration{hint}"
    elif kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        meaning = _PATTERN_MEANINGS.get(pattern, f"the pattern {pattern}")
        message = f"{given!r} is not allowed here: use {meaning}"
    elif kind in {"string_too_long", "string_too_short", "too_long", "too_short"} and isinstance(given, str):
        message = _length_message(kind, given, context, model, detail["loc"])
    elif kind == "too_long":
        message = f"has {context.get('actual_length')} items; at most {context.get('max_length')} are allowed"
    elif kind == "too_short":
        message = f"has {context.get('actual_length')} items; at least {context.get('min_length')} are required"
    elif kind == "enum":
        message = f"{given!r} is not one of {context.get('expected')}"
    elif kind in {"greater_than_equal", "less_than_equal"}:
        bound = "at least" if kind == "greater_than_equal" else "at most"
        limit = context.get("ge", context.get("le"))
        message = f"is {given!r}; it must be {bound} {limit}"
    elif kind in {"int_type", "int_parsing", "int_from_float"}:
        message = f"must be a whole number, not {_json_kind(given)}"
    elif kind == "string_type":
        message = f"must be a string, not {_json_kind(given)}"
    elif kind in {"dict_type", "model_type", "model_attributes_type"}:
        message = f"must be an object (a mapping of names to values), not {_json_kind(given)}"
    elif kind == "list_type":
        message = f"must be a list, not {_json_kind(given)}"
    else:
        message = detail["msg"][0].lower() + detail["msg"][1:]
    return Problem(path, message)
