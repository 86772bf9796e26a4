"""The JSONPath-mode intrinsic functions: ``States.Format('{} x', $.a)`` and friends.

Parsed once per definition into a small call tree; evaluated against the state's data and
the context object. A failure at run time is ``States.Runtime``, as on AWS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stepline.engine.errors import RUNTIME, StatesError
from stepline.engine.paths import JsonPath, PathNotFound, compile_path


class IntrinsicSyntaxError(ValueError):
    """An intrinsic call that cannot be parsed or names no known function."""


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any
    # A string literal as written, escapes kept: States.Format must tell "\\{}" from "{}".
    escaped: str | None = None


@dataclass(frozen=True, slots=True)
class _Path:
    path: JsonPath


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    arguments: tuple[_Literal | _Path | _Call, ...]


_Argument = _Literal | _Path | _Call


class Intrinsic:
    """A parsed intrinsic function call."""

    __slots__ = ("call", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        parser = _Parser(text)
        self.call = parser.call()
        parser.skip_space()
        if parser.position != len(text):
            raise IntrinsicSyntaxError(f"{text!r}: unexpected text after the call at character {parser.position}")

    def evaluate(self, data: Any, context: Any) -> Any:
        return _evaluate(self.call, data, context, self.text)


def looks_intrinsic(text: str) -> bool:
    return text.startswith("States.")


def _evaluate(node: _Argument, data: Any, context: Any, text: str) -> Any:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Path):
        try:
            return node.path.evaluate(data, context)
        except PathNotFound:
            raise StatesError(
                RUNTIME, f"The JSONPath {node.path.text!r} in {text!r} could not be found in the input"
            ) from None
    arguments = [_evaluate(argument, data, context, text) for argument in node.arguments]
    first = node.arguments[0] if node.arguments else None
    if node.name == "States.Format" and isinstance(first, _Literal) and first.escaped is not None:
        arguments[0] = first.escaped
    try:
        return FUNCTIONS[node.name](*arguments)
    except _ArgumentError as error:
        raise StatesError(RUNTIME, f"The function {text!r} had the following error: {error}") from None


class _ArgumentError(ValueError):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.position = text, 0

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def call(self) -> _Call:
        self.skip_space()
        start = self.position
        while self.position < len(self.text) and (
            self.text[self.position].isalnum() or self.text[self.position] == "."
        ):
            self.position += 1
        name = self.text[start : self.position]
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise IntrinsicSyntaxError(f"{self.text!r}: {name!r} is not an intrinsic function; known: {known}")
        self.skip_space()
        if not self.text.startswith("(", self.position):
            raise IntrinsicSyntaxError(f"{self.text!r}: expected '(' after {name}")
        self.position += 1
        arguments: list[_Argument] = []
        self.skip_space()
        if self.text.startswith(")", self.position):
            self.position += 1
        else:
            while True:
                arguments.append(self.argument())
                self.skip_space()
                if self.text.startswith(",", self.position):
                    self.position += 1
                    continue
                if self.text.startswith(")", self.position):
                    self.position += 1
                    break
                raise IntrinsicSyntaxError(f"{self.text!r}: expected ',' or ')' at character {self.position}")
        _check_arity(name, len(arguments), self.text)
        return _Call(name, tuple(arguments))

    def argument(self) -> _Argument:
        self.skip_space()
        rest = self.text[self.position :]
        if rest.startswith("'"):
            value, escaped = self.string()
            return _Literal(value, escaped)
        if rest.startswith("States."):
            return self.call()
        if rest.startswith("$"):
            return _Path(compile_path(self.path_text()))
        for word, constant in (("true", True), ("false", False), ("null", None)):
            if rest.startswith(word):
                self.position += len(word)
                return _Literal(constant)
        start = self.position
        while self.position < len(self.text) and self.text[self.position] in "+-.0123456789eE":
            self.position += 1
        number = self.text[start : self.position]
        try:
            return _Literal(json.loads(number))
        except json.JSONDecodeError:
            raise IntrinsicSyntaxError(f"{self.text!r}: cannot read an argument at character {start}") from None

    def string(self) -> tuple[str, str]:
        """The literal's value, and its text with the escapes Format interprets still in place."""
        self.position += 1
        value = escaped = ""
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\" and self.position + 1 < len(self.text):
                following = self.text[self.position + 1]
                value += following
                escaped += following if following == "'" else char + following
                self.position += 2
                continue
            if char == "'":
                self.position += 1
                return value, escaped
            value += char
            escaped += char
            self.position += 1
        raise IntrinsicSyntaxError(f"{self.text!r}: a string argument is never closed")

    def path_text(self) -> str:
        start, depth, quote = self.position, 0, ""
        while self.position < len(self.text):
            char = self.text[self.position]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"" and depth:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif (char == "," and depth == 0) or (char.isspace() and depth == 0):
                break
            self.position += 1
        return self.text[start : self.position]


# --- the functions --------------------------------------------------------------------------


def _format(template: Any, *values: Any) -> str:
    if not isinstance(template, str):
        raise _ArgumentError("the first argument must be a string")
    pieces, position, index = [], 0, 0
    while position < len(template):
        char = template[position]
        if char == "\\" and position + 1 < len(template):
            pieces.append(template[position + 1])
            position += 2
        elif template.startswith("{}", position):
            if index >= len(values):
                raise _ArgumentError("there are more {} placeholders than arguments")
            pieces.append(_formatted(values[index]))
            index += 1
            position += 2
        else:
            pieces.append(char)
            position += 1
    if index != len(values):
        raise _ArgumentError(f"{len(values)} arguments were given for {index} placeholders")
    return "".join(pieces)


def _formatted(value: Any) -> str:
    """An argument as States.Format writes it: strings as they are, objects and arrays as Java's
    Map and List print them (``{Arg1=1, Arg2=[]}``, ``[1, a, true]``: recorded on AWS)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_formatted(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_formatted(item) for item in value) + "]"
    return json.dumps(value)


def _string_to_json(text: Any) -> Any:
    if not isinstance(text, str):
        raise _ArgumentError("the argument must be a string")
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError as error:
        raise _ArgumentError(f"the string is not JSON ({error.msg})") from None


def _json_to_string(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _array(*values: Any) -> list[Any]:
    return list(values)


def _require_list(value: Any, what: str = "the first argument") -> list[Any]:
    if not isinstance(value, list):
        raise _ArgumentError(f"{what} must be an array")
    return value


def _require_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise _ArgumentError(f"{what} must be an integer")
    return int(value)


def _rounded(value: Any, what: str) -> int:
    """A number rounded as Step Functions rounds the arguments of MathAdd and MathRandom ("If you
    specify a non-integer value … Step Functions will round it off to the nearest integer"):
    Java's Math.round, half up (1.5 → 2, -1.5 → -1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _ArgumentError(f"{what} must be a number")
    return int(value) if isinstance(value, int) else math.floor(value + 0.5)


def _array_partition(array: Any, size: Any) -> list[list[Any]]:
    items, chunk = _require_list(array), _require_int(size, "the chunk size")
    if chunk <= 0:
        raise _ArgumentError("the chunk size must be greater than 0")
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _array_contains(array: Any, value: Any) -> bool:
    return value in _require_list(array)


def _array_range(start: Any, end: Any, step: Any) -> list[int]:
    first, last, by = _require_int(start, "start"), _require_int(end, "end"), _require_int(step, "step")
    if by == 0:
        raise _ArgumentError("the step must not be 0")
    values = list(range(first, last + (1 if by > 0 else -1), by))
    if len(values) > 1000:
        raise _ArgumentError("the range would have more than 1000 items")
    return values


def _array_get_item(array: Any, index: Any) -> Any:
    items, position = _require_list(array), _require_int(index, "the index")
    if not 0 <= position < len(items):
        raise _ArgumentError(f"the index {position} is out of bounds")
    return items[position]


def _array_length(array: Any) -> int:
    return len(_require_list(array))


def _array_unique(array: Any) -> list[Any]:
    unique: list[Any] = []
    for item in _require_list(array):
        if item not in unique:
            unique.append(item)
    return unique


def _base64_encode(text: Any) -> str:
    if not isinstance(text, str):
        raise _ArgumentError("the argument must be a string")
    if len(text) > 10_000:
        raise _ArgumentError("the string is longer than 10000 characters")
    return base64.b64encode(text.encode()).decode()


def _base64_decode(text: Any) -> str:
    if not isinstance(text, str):
        raise _ArgumentError("the argument must be a string")
    try:
        return base64.b64decode(text, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise _ArgumentError("the string is not base64 of UTF-8 text") from None


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(data: Any, algorithm: Any) -> str:
    if algorithm not in _HASHES:
        raise _ArgumentError(f"the algorithm must be one of {', '.join(_HASHES)}")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _json_merge(left: Any, right: Any, deep: Any) -> dict[str, Any]:
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise _ArgumentError("both arguments to merge must be JSON objects")
    if deep is not False:
        raise _ArgumentError("deep merging is not supported; the third argument must be false")
    return {**left, **right}


def _math_random(start: Any, end: Any, seed: Any = None) -> int:
    low, high = _rounded(start, "start"), _rounded(end, "end")
    # States.MathRandom is documented as not for security; a seed makes it repeatable.
    generator = random.Random(_require_int(seed, "seed")) if seed is not None else random.SystemRandom()  # noqa: S311
    return generator.randint(low, high)


def _math_add(left: Any, right: Any) -> int:
    return _rounded(left, "the first number") + _rounded(right, "the second number")


def _string_split(text: Any, delimiter: Any) -> list[str]:
    if not isinstance(text, str) or not isinstance(delimiter, str):
        raise _ArgumentError("both arguments must be strings")
    if not delimiter:
        return [text]
    # Every character of the delimiter splits, and empty pieces are dropped.
    pieces = [text]
    for char in delimiter:
        pieces = [part for piece in pieces for part in piece.split(char)]
    return [piece for piece in pieces if piece]


def _uuid() -> str:
    return str(uuid.uuid4())


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}

_ARITY: dict[str, tuple[int, int | None]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}


def _check_arity(name: str, count: int, text: str) -> None:
    low, high = _ARITY[name]
    if count < low or (high is not None and count > high):
        expected = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
        raise IntrinsicSyntaxError(f"{text!r}: {name} takes {expected} arguments, not {count}")
