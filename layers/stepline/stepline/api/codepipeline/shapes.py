"""A request's members checked against CodePipeline's service model, as AWS checks them.

A member of the wrong JSON type is a ``SerializationException`` (the service could not read
the document); a value breaking a constraint (required, length, range, pattern, enum) is a
``ValidationException`` listing every violation in AWS's words: ``1 validation error
detected: Value 'x y' at 'pipeline.name' failed to satisfy constraint: Member must satisfy
regular expression pattern: [A-Za-z0-9.@\\-_]+``. A member the model does not define is
refused by name (AWS ignores it; an SDK never sends one, so it is a typo worth saying).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from stepline.api.codepipeline.errors import CORAL, AwsError

_MAX_LISTED = 10  # violations named in one message; the count says how many there were
_NUMBERS = {"integer", "long", "float", "double"}


class _Check:
    def __init__(self, shapes: dict[str, Any]) -> None:
        self.shapes = shapes
        self.violations: list[str] = []

    def value(self, shape_name: str, value: Any, where: str) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            self.structure(shape, value, where)
        elif kind == "list":
            self.sequence(shape, value, where)
        elif kind == "map":
            self.mapping(shape, value, where)
        elif kind == "string":
            self.string(shape, value, where)
        elif kind in _NUMBERS:
            self.number(shape, kind, value, where)
        elif kind == "boolean":
            _expect(isinstance(value, bool), "a boolean", value, where)
        elif kind == "timestamp":
            _expect(isinstance(value, int | float) and not isinstance(value, bool), "a timestamp", value, where)
        elif kind == "blob":
            _expect(isinstance(value, str), "base64 text", value, where)

    def structure(self, shape: dict[str, Any], value: Any, where: str) -> None:
        _expect(isinstance(value, dict), "an object", value, where)
        members = shape.get("members", {})
        for name in value:
            if name not in members:
                self.violations.append(f"Value at '{_at(where, name)}' failed to satisfy constraint: Member is unknown")
        for name in shape.get("required", []):
            if value.get(name) is None:
                self.violations.append(
                    f"Value null at '{_at(where, name)}' failed to satisfy constraint: Member must not be null"
                )
        for name, member in members.items():
            if value.get(name) is not None:
                self.value(member["shape"], value[name], _at(where, name))

    def sequence(self, shape: dict[str, Any], value: Any, where: str) -> None:
        _expect(isinstance(value, list), "a list", value, where)
        self.length(shape, len(value), value, where)
        for index, item in enumerate(value, start=1):
            self.value(shape["member"]["shape"], item, f"{where}.{index}.member")

    def mapping(self, shape: dict[str, Any], value: Any, where: str) -> None:
        _expect(isinstance(value, dict), "an object", value, where)
        self.length(shape, len(value), value, where)
        for key, item in value.items():
            self.value(shape["key"]["shape"], key, f"{where}.key")
            self.value(shape["value"]["shape"], item, f"{where}.{key}")

    def string(self, shape: dict[str, Any], value: Any, where: str) -> None:
        _expect(isinstance(value, str), "a string", value, where)
        self.length(shape, len(value), value, where)
        if "enum" in shape and value not in shape["enum"]:
            self.violate(value, where, f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
        pattern = _pattern(shape.get("pattern", ""))
        if pattern is not None and not pattern.fullmatch(value):
            self.violate(value, where, f"Member must satisfy regular expression pattern: {shape['pattern']}")

    def number(self, shape: dict[str, Any], kind: str, value: Any, where: str) -> None:
        whole = kind in {"integer", "long"}
        valid = isinstance(value, int) if whole else isinstance(value, int | float)
        _expect(valid and not isinstance(value, bool), "a whole number" if whole else "a number", value, where)
        if "min" in shape and value < shape["min"]:
            self.violate(value, where, f"Member must have value greater than or equal to {shape['min']}")
        if "max" in shape and value > shape["max"]:
            self.violate(value, where, f"Member must have value less than or equal to {shape['max']}")

    def length(self, shape: dict[str, Any], length: int, value: Any, where: str) -> None:
        if "min" in shape and length < shape["min"]:
            self.violate(value, where, f"Member must have length greater than or equal to {shape['min']}")
        if "max" in shape and length > shape["max"]:
            self.violate(value, where, f"Member must have length less than or equal to {shape['max']}")

    def violate(self, value: Any, where: str, constraint: str) -> None:
        shown = f"'{value}'" if isinstance(value, str) else ("'[...]'" if isinstance(value, list | dict) else value)
        self.violations.append(f"Value {shown} at '{where}' failed to satisfy constraint: {constraint}")


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _expect(ok: bool, expected: str, value: Any, where: str) -> None:
    if not ok:
        found = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
        raise AwsError(
            f"{CORAL}SerializationException",
            f"expected {expected} at '{where or 'the document'}', found {'null' if value is None else found}",
        )


@lru_cache(maxsize=512)
def _pattern(text: str) -> re.Pattern[str] | None:
    """The model's (Java) pattern, matched against the whole value as AWS matches it; a pattern
    Python's re cannot read is not checked (none of CodePipeline's is such)."""
    if not text:
        return None
    try:
        return re.compile(text, re.DOTALL)
    except re.error:
        return None


def check(shapes: dict[str, Any], shape_name: str, document: Any) -> None:
    """Raise AwsError unless ``document`` is a valid value of the model's ``shape_name``."""
    checking = _Check(shapes)
    checking.value(shape_name, document, "")
    found = checking.violations
    if found:
        count = len(found)
        listed = "; ".join(found[:_MAX_LISTED])
        raise AwsError("ValidationException", f"{count} validation error{'s' if count > 1 else ''} detected: {listed}")
