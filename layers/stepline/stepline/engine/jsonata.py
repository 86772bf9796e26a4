"""JSONata as Step Functions runs it: ``{% %}`` strings, ``$states``, and the functions it adds.

A string field of a JSONata state whose whole value is ``{% expression %}`` is an
expression; anything else is a literal. Each expression is compiled once per definition
(by jsonatapy, chosen in docs/ARCHITECTURE.md) and evaluated with no input document:
what it reads comes from ``$states`` (``input``, ``context``, ``result``, ``errorOutput``)
and the workflow variables, as the States Language requires ("a JSONata expression MUST
NOT reference ``$`` … at the top level"; states-language.net, November 2024): an expression
that does, or uses an operator JSONata added after 2.0.6, is refused (``jsonata_rules``).

Step Functions implements JSONata 2.0.6 without ``$eval`` and adds ``$partition``,
``$range``, ``$hash``, ``$random`` (with an optional seed), ``$uuid`` and ``$parse``
("JSONata functions provided by Step Functions" in its developer guide); they are
registered on every expression. An expression that fails, returns nothing (undefined), a
function or a number JSON cannot hold is ``States.QueryEvaluationError``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import jsonatapy

from stepline.engine.errors import QUERY_EVALUATION_ERROR, StatesError
from stepline.engine.jsonata_rules import refusal

_OPEN, _CLOSE = "{%", "%}"
_VARIABLE = re.compile(r"\$(\w+)")  # a variable (or function) an expression names: $name
_STATES_FIELD = re.compile(r"\$states\s*\.\s*(\w+)")  # $states.input, $states.context …


class JsonataSyntaxError(ValueError):
    """An expression jsonatapy cannot compile."""


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_OPEN) and value.endswith(_CLOSE) and len(value) >= 4


def mentions_expression(value: Any) -> bool:
    """Whether a field's value holds ``{% %}`` anywhere (a JSONPath state must not)."""
    if isinstance(value, dict):
        return any(mentions_expression(item) for item in value.values())
    if isinstance(value, list):
        return any(mentions_expression(item) for item in value)
    return is_expression(value)


class Expression:
    """One ``{% %}`` expression of one field, checked when the definition is parsed.

    jsonatapy's compiled expressions may be used, and dropped, only on the thread that compiled
    them (the Rust object is "unsendable"), while the engine parses a definition on one thread
    and runs it on others: each thread keeps its own compiled expressions (``_compiled``).
    """

    __slots__ = ("field", "states", "text", "variables")

    def __init__(self, text: str, field: str) -> None:
        self.text = text[len(_OPEN) : -len(_CLOSE)].strip()
        self.field = field
        refused = refusal(self.text)  # what Step Functions refuses though jsonatapy would run it
        if refused is not None:
            raise JsonataSyntaxError(refused)
        _compiled(self.text)  # refused now if it cannot be parsed
        # Only what the expression names is handed to jsonatapy, which converts every value it is
        # given (a state's whole input, every variable) on each evaluation: a variable the text
        # does not name cannot be read ($eval is refused), nor a part of $states it does not name.
        self.variables = frozenset(_VARIABLE.findall(self.text)) - {"states"}
        fields = _STATES_FIELD.findall(self.text)
        self.states = frozenset(fields) if len(fields) == self.text.count("$states") else None

    def evaluate(self, data: Any, bindings: Any) -> Any:
        """The value, given the ``Bindings`` of the state (``data`` is not read: JSONata reads ``$states``)."""
        names = _names(bindings, self.variables, self.states)
        try:
            value = _compiled(self.text).evaluate(None, names)
        except ValueError as error:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{self.text}' specified for the field '{self.field}' threw an error "
                f"during evaluation: {error}",
            ) from None
        if value is None and not self._defined(names):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{self.text}' specified for the field '{self.field}' returned nothing "
                "(undefined).",
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{self.text}' specified for the field '{self.field}' returned an "
                "unsupported result type.",
            )
        return value

    def _defined(self, names: dict[str, Any]) -> bool:
        """jsonatapy gives None for both null and undefined (and for a function): tell them apart."""
        probe = f"$exists(({self.text})) and $type(({self.text})) != 'function'"
        return bool(_compiled(probe).evaluate(None, names))


_PER_THREAD = threading.local()
_CACHED_PER_THREAD = 4096  # expressions kept compiled per thread; beyond, the oldest is dropped


def _compiled(text: str) -> Any:
    """``text`` compiled for this thread (kept, and dropped, by this thread only)."""
    cache: dict[str, Any] | None = getattr(_PER_THREAD, "cache", None)
    if cache is None:
        cache = _PER_THREAD.cache = {}
    compiled = cache.get(text)
    if compiled is None:
        if len(cache) >= _CACHED_PER_THREAD:
            cache.pop(next(iter(cache)))
        compiled = cache[text] = _compile(text)
    return compiled


def _names(bindings: Any, read: frozenset[str], fields: frozenset[str] | None) -> dict[str, Any]:
    """The variables among ``read`` and ``$states`` (its ``fields`` only, unless None)."""
    variables = getattr(bindings, "variables", None) or {}
    states = getattr(bindings, "states", None)
    names = {name: variables[name] for name in read if name in variables}
    if states is None:
        states = {"context": dict(bindings or {})}
    if fields is not None:
        states = {key: value for key, value in states.items() if key in fields}
    names["states"] = states
    return names


def _compile(text: str) -> Any:
    try:
        compiled = jsonatapy.compile(text)
    except ValueError as error:
        raise JsonataSyntaxError(f"the JSONata expression {text!r} cannot be parsed: {error}") from None
    for name, function in _FUNCTIONS.items():
        compiled.register(name, function)
    compiled.register_override("random", _random)
    compiled.register_override("eval", _no_eval)
    return compiled


# --- the functions Step Functions adds -----------------------------------------------------------


class _FunctionError(ValueError):
    pass


def _partition(array: Any, size: Any) -> list[Any]:
    if not isinstance(array, list) or isinstance(size, bool) or not isinstance(size, int | float) or size < 1:
        raise _FunctionError("$partition takes an array and a chunk size of at least 1")
    chunk = int(size)
    return [array[i : i + chunk] for i in range(0, len(array), chunk)]


def _range(start: Any, end: Any, step: Any) -> list[Any]:
    numbers = (start, end, step)
    if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers) or step == 0:
        raise _FunctionError("$range takes a start, an end and a step that is not 0")
    values, value = [], start
    while (step > 0 and value <= end) or (step < 0 and value >= end):
        values.append(value)
        value += step
        if len(values) > 1000:
            raise _FunctionError("$range would return more than 1000 items")
    return values


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(value: Any, algorithm: Any = "SHA-256") -> str:
    if algorithm not in _HASHES:
        raise _FunctionError(f"$hash: the algorithm must be one of {', '.join(_HASHES)}")
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _random(seed: Any = None) -> float:
    # Documented as not for security; a seed makes it repeatable.
    generator = random.Random(seed) if seed is not None else random.Random()  # noqa: S311
    return generator.random()


def _uuid() -> str:
    return str(uuid.uuid4())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise _FunctionError("$parse takes a string")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _FunctionError(f"$parse: the string is not JSON ({error.msg})") from None


def _no_eval(*_: Any) -> Any:
    raise _FunctionError("$eval is not available in Step Functions; use $parse")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "uuid": _uuid,
    "parse": _parse,
}
