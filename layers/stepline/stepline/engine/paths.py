"""JSONPath as Step Functions evaluates it (Jayway semantics), compiled once per definition.

A *definite* path (fields and single indexes only) yields one value or fails; an indefinite
one (wildcards, slices, unions, deep scans, filters) yields a list, possibly empty. Paths
start at ``$`` (the state's data), ``$$`` (the context object) or ``$name`` (a workflow
variable: ``$name``, ``$name.field``, ``$name[0]``). Reference paths — the only kind
ResultPath accepts — are definite paths of fields (and indexes) alone, from ``$``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


class PathSyntaxError(ValueError):
    """A path that cannot be parsed; the message says where."""


class PathNotFound(LookupError):
    """A definite path that matches nothing in the data it was applied to."""


_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Field:
    name: str


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _Wildcard:
    pass


@dataclass(frozen=True, slots=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True, slots=True)
class _Union:
    keys: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _DeepScan:
    name: str | None  # None: every descendant


@dataclass(frozen=True, slots=True)
class _Filter:
    test: Callable[[Any, Any], bool]
    text: str


_Step = _Field | _Index | _Wildcard | _Slice | _Union | _DeepScan | _Filter


class JsonPath:
    """A parsed path; ``evaluate`` applies it to data (``$``) and a context object (``$$``)."""

    __slots__ = ("context_rooted", "definite", "steps", "text", "variable")

    def __init__(self, text: str) -> None:
        self.text = text
        self.variable, self.context_rooted, self.steps = _parse(text)
        self.definite = all(isinstance(step, _Field | _Index) for step in self.steps)

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    @property
    def is_reference(self) -> bool:
        return self.definite and not self.context_rooted and self.variable is None

    def evaluate(self, data: Any, context: Any = None) -> Any:
        if self.variable is not None:
            variables = getattr(context, "variables", None) or {}
            if self.variable not in variables:
                raise PathNotFound(self.text)
            root = variables[self.variable]
        else:
            root = context if self.context_rooted else data
        if self.definite:
            node = root
            for step in self.steps:
                node = _definite_step(node, step)
                if node is _MISSING:
                    raise PathNotFound(self.text)
            return node
        nodes = [root]
        for step in self.steps:
            nodes = [found for node in nodes for found in _step(node, step)]
        return nodes

    def bracketed(self) -> str:
        """The path as Step Functions writes it in its errors: ``$.a.b[0]`` is ``$['a']['b'][0]``."""
        if not self.definite or self.variable is not None:
            return self.text
        parts = [f"['{step.name}']" if isinstance(step, _Field) else f"[{step.index}]" for step in self.steps]  # type: ignore[union-attr]
        return ("$$" if self.context_rooted else "$") + "".join(parts)

    def exists(self, data: Any, context: Any = None) -> bool:
        try:
            value = self.evaluate(data, context)
        except PathNotFound:
            return False
        return bool(value) if not self.definite else True


_CACHE: dict[str, JsonPath] = {}


def compile_path(text: str) -> JsonPath:
    """A parsed path, shared: definitions repeat the same few paths many times."""
    path = _CACHE.get(text)
    if path is None:
        path = _CACHE[text] = JsonPath(text)
    return path


def _definite_step(node: Any, step: _Field | _Index | _Step) -> Any:
    if isinstance(step, _Field):
        if isinstance(node, dict):
            return node.get(step.name, _MISSING)
        return _MISSING
    if isinstance(step, _Index) and isinstance(node, list):
        index = step.index
        if -len(node) <= index < len(node):
            return node[index]
    return _MISSING


def _step(node: Any, step: _Step) -> Iterator[Any]:
    if isinstance(step, _Field | _Index):
        found = _definite_step(node, step)
        if found is not _MISSING:
            yield found
    elif isinstance(step, _Wildcard):
        if isinstance(node, dict):
            yield from node.values()
        elif isinstance(node, list):
            yield from node
    elif isinstance(step, _Slice):
        if isinstance(node, list):
            yield from node[step.start : step.stop : step.step]
    elif isinstance(step, _Union):
        for key in step.keys:
            found = _definite_step(node, _Field(key) if isinstance(key, str) else _Index(key))
            if found is not _MISSING:
                yield found
    elif isinstance(step, _DeepScan):
        yield from _descendants(node, step.name)
    elif isinstance(step, _Filter):
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        yield from (child for child in children if step.test(child, node))


def _descendants(node: Any, name: str | None) -> Iterator[Any]:
    if isinstance(node, dict):
        if name is None:
            yield from node.values()
        elif name in node:
            yield node[name]
        for value in node.values():
            yield from _descendants(value, name)
    elif isinstance(node, list):
        if name is None:
            yield from node
        for value in node:
            yield from _descendants(value, name)


# --- parsing ----------------------------------------------------------------------------------

_NAME = re.compile(r"[^.\[\]\s()]+")
_INT = re.compile(r"-?\d+")
# A workflow variable's name, as Step Functions accepts it in Assign (letters, digits, _).
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _parse(text: str) -> tuple[str | None, bool, tuple[_Step, ...]]:
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"{text!r} is not a path: paths start with $")
    context_rooted = text.startswith("$$")
    position = 2 if context_rooted else 1
    variable = None
    if not context_rooted and (name := VARIABLE_NAME.match(text, 1)) is not None:
        variable, position = name.group(), name.end()
    steps: list[_Step] = []
    while position < len(text):
        char = text[position]
        if text.startswith("..", position):
            position += 2
            if text.startswith("*", position):
                steps.append(_DeepScan(None))
                position += 1
                continue
            match = _NAME.match(text, position)
            if match is None:
                raise PathSyntaxError(f"{text!r}: expected a name after '..' at character {position}")
            steps.append(_DeepScan(match.group()))
            position = match.end()
        elif char == ".":
            position += 1
            if text.startswith("*", position):
                steps.append(_Wildcard())
                position += 1
                continue
            match = _NAME.match(text, position)
            if match is None:
                raise PathSyntaxError(f"{text!r}: expected a field name after '.' at character {position}")
            steps.append(_Field(match.group()))
            position = match.end()
        elif char == "[":
            step, position = _parse_bracket(text, position)
            steps.append(step)
        else:
            raise PathSyntaxError(f"{text!r}: unexpected {char!r} at character {position}")
    return variable, context_rooted, tuple(steps)


def _parse_bracket(text: str, position: int) -> tuple[_Step, int]:
    start = position
    position += 1
    if text.startswith("?(", position):
        depth, cursor, quote = 0, position + 1, ""
        while cursor < len(text):
            char = text[cursor]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    break
            cursor += 1
        if cursor >= len(text) or not text.startswith("]", cursor + 1):
            raise PathSyntaxError(f"{text!r}: unclosed filter starting at character {start}")
        expression = text[position + 2 : cursor]
        return _Filter(_parse_filter(expression, text), expression), cursor + 2
    end = _closing_bracket(text, position)
    inside = text[position:end].strip()
    position = end + 1
    if inside == "*":
        return _Wildcard(), position
    if ":" in inside and not inside.startswith(("'", '"')):
        parts = [part.strip() for part in inside.split(":")]
        if len(parts) > 3 or any(part and not _INT.fullmatch(part) for part in parts):
            raise PathSyntaxError(f"{text!r}: bad slice [{inside}]")
        numbers = [int(part) if part else None for part in parts] + [None] * (3 - len(parts))
        return _Slice(numbers[0], numbers[1], numbers[2]), position
    keys = [_bracket_key(part.strip(), text) for part in _split_union(inside, text)]
    if len(keys) == 1:
        key = keys[0]
        return (_Field(key) if isinstance(key, str) else _Index(key)), position
    return _Union(tuple(keys)), position


def _closing_bracket(text: str, position: int) -> int:
    quote = ""
    for cursor in range(position, len(text)):
        char = text[cursor]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "]":
            return cursor
    raise PathSyntaxError(f"{text!r}: '[' at character {position - 1} is never closed")


def _split_union(inside: str, text: str) -> list[str]:
    parts, current, quote = [], "", ""
    for char in inside:
        if quote:
            quote = "" if char == quote else quote
            current += char
        elif char in "'\"":
            quote = char
            current += char
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if any(not part.strip() for part in parts):
        raise PathSyntaxError(f"{text!r}: empty entry in [{inside}]")
    return parts


def _bracket_key(part: str, text: str) -> str | int:
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
        return part[1:-1]
    if _INT.fullmatch(part):
        return int(part)
    raise PathSyntaxError(f"{text!r}: [{part}] is neither a quoted name nor an index")


# --- filter expressions: @.a == 1 && (@.b || @.c < 'x') ---------------------------------------

_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|<|>|&&|\|\||!|\(|\))|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<word>true|false|null)"
    r"|(?P<path>[@$](?:\.\.?[^\s=!<>&|()]+|\[[^\]]*\])*))"
)


def _parse_filter(expression: str, text: str) -> Callable[[Any, Any], bool]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    while position < len(expression):
        if expression[position:].strip() == "":
            break
        match = _FILTER_TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise PathSyntaxError(f"{text!r}: cannot read the filter at {expression[position:]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind).strip()
        if kind == "string":
            tokens.append(("value", value[1:-1].replace("\\'", "'").replace('\\"', '"')))
        elif kind == "number":
            tokens.append(("value", float(value) if any(c in value for c in ".eE") else int(value)))
        elif kind == "word":
            tokens.append(("value", {"true": True, "false": False, "null": None}[value]))
        elif kind == "path":
            tokens.append(("path", compile_path("$" + value[1:])))
        else:
            tokens.append(("op", value))
        position = match.end()
    parser = _FilterParser(tokens, text)
    test = parser.disjunction()
    if parser.position != len(tokens):
        raise PathSyntaxError(f"{text!r}: unexpected {tokens[parser.position][1]!r} in filter")
    return test


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, Any]], text: str) -> None:
        self.tokens, self.text, self.position = tokens, text, 0

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, Any]:
        token = self._peek()
        if token is None:
            raise PathSyntaxError(f"{self.text!r}: the filter ends too soon")
        self.position += 1
        return token

    def disjunction(self) -> Callable[[Any, Any], bool]:
        left = self.conjunction()
        while self._peek() == ("op", "||"):
            self.position += 1
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Callable[[Any, Any], bool]:
        left = self.unary()
        while self._peek() == ("op", "&&"):
            self.position += 1
            left = _both(left, self.unary())
        return left

    def unary(self) -> Callable[[Any, Any], bool]:
        if self._peek() == ("op", "!"):
            self.position += 1
            inner = self.unary()
            return lambda item, root: not inner(item, root)
        if self._peek() == ("op", "("):
            self.position += 1
            inner = self.disjunction()
            if self._take() != ("op", ")"):
                raise PathSyntaxError(f"{self.text!r}: expected ')' in filter")
            return inner
        return self.comparison()

    def comparison(self) -> Callable[[Any, Any], bool]:
        left = self._operand()
        token = self._peek()
        if token is None or token[0] != "op" or token[1] not in {"==", "!=", "<", "<=", ">", ">="}:
            return lambda item, root: left(item, root) is not _MISSING
        self.position += 1
        right = self._operand()
        return _comparator(token[1], left, right)

    def _operand(self) -> Callable[[Any, Any], Any]:
        kind, value = self._take()
        if kind == "value":
            return _constant(value)
        if kind == "path":
            return _relative(value)
        raise PathSyntaxError(f"{self.text!r}: expected a value or @-path in filter, found {value!r}")


def _either(a: Callable[[Any, Any], bool], b: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda item, root: a(item, root) or b(item, root)


def _both(a: Callable[[Any, Any], bool], b: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda item, root: a(item, root) and b(item, root)


def _constant(value: Any) -> Callable[[Any, Any], Any]:
    return lambda item, root: value


def _relative(path: JsonPath) -> Callable[[Any, Any], Any]:
    return lambda item, root: _filter_lookup(path, item)


def _filter_lookup(path: JsonPath, item: Any) -> Any:
    try:
        return path.evaluate(item)
    except PathNotFound:
        return _MISSING


def _comparator(
    op: str, left: Callable[[Any, Any], Any], right: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], bool]:
    def compare(item: Any, root: Any) -> bool:
        a, b = left(item, root), right(item, root)
        if a is _MISSING or b is _MISSING:
            return False
        if op == "==":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        comparable = (isinstance(a, int | float) and isinstance(b, int | float)) or (
            isinstance(a, str) and isinstance(b, str)
        )
        if not comparable or isinstance(a, bool) or isinstance(b, bool):
            return False
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])

    return compare


# --- writing: ResultPath ----------------------------------------------------------------------


class ResultPathError(ValueError):
    """The result cannot be placed where ResultPath says (States.ResultPathMatchFailure)."""


def place_result(data: Any, path: JsonPath | None, result: Any) -> Any:
    """The state's output after ResultPath: ``None`` keeps the input, ``$`` takes the result."""
    if path is None:
        return data
    if not path.steps:
        return result
    if not isinstance(data, dict):
        raise ResultPathError(f"the input is not an object, so {path.text} cannot be set in it")
    output = dict(data)
    node = output
    for step in path.steps[:-1]:
        assert isinstance(step, _Field)
        child = node.get(step.name, _MISSING)
        if child is _MISSING:
            child = {}
        elif not isinstance(child, dict):
            raise ResultPathError(f"{path.text}: the field {step.name!r} is not an object")
        else:
            child = dict(child)
        node[step.name] = child
        node = child
    last = path.steps[-1]
    assert isinstance(last, _Field)
    node[last.name] = result
    return output


def check_reference_path(text: str) -> JsonPath:
    """A path ResultPath may use: fields only, from ``$``."""
    path = compile_path(text)
    if not path.is_reference or not all(isinstance(step, _Field) for step in path.steps):
        raise PathSyntaxError(f"{text!r} is not a reference path: use $ and field names only")
    return path
