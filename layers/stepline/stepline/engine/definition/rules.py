"""Choice rules compiled once into predicates, with the States Language's comparison semantics.

A value of the wrong type for a comparison does not match (``StringEquals`` against a number
is false); a Variable path that selects nothing is ``States.Runtime``, as on AWS.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from stepline.engine.definition.states import Predicate
from stepline.engine.definition.timestamps import parse_timestamp
from stepline.engine.errors import RUNTIME, StatesError
from stepline.engine.paths import JsonPath, PathNotFound, PathSyntaxError, compile_path

Problem = Callable[[str, str], None]  # (where, message): how a rule reports what is wrong with it


def compile_rule(rule: dict[str, Any], where: str, problem: Problem) -> Predicate | None:
    """The rule as a predicate, or None after reporting each problem found in it."""
    for combinator in ("And", "Or"):
        if combinator in rule:
            return _combination(rule, combinator, where, problem)
    if "Not" in rule:
        inner = compile_rule(rule["Not"], f"{where}.Not", problem) if isinstance(rule["Not"], dict) else None
        if inner is None:
            return None
        return lambda data, context: not inner(data, context)
    return _leaf(rule, where, problem)


def _combination(rule: dict[str, Any], combinator: str, where: str, problem: Problem) -> Predicate | None:
    parts = [compile_rule(sub, f"{where}.{combinator}[{i}]", problem) for i, sub in enumerate(rule[combinator] or [])]
    if not parts or any(part is None for part in parts):
        if not parts:
            problem(where, f"{combinator} needs at least one rule")
        return None
    checks = [part for part in parts if part is not None]
    if combinator == "And":
        return lambda data, context: all(check(data, context) for check in checks)
    return lambda data, context: any(check(data, context) for check in checks)


def _leaf(rule: dict[str, Any], where: str, problem: Problem) -> Predicate | None:
    variable = rule.get("Variable")
    operators = [key for key in rule if key in _COMPARISONS or key in _TESTS]
    if len(operators) != 1:
        problem(where, "needs exactly one comparison operator (StringEquals, NumericLessThan, IsPresent, …)")
        return None
    if not isinstance(variable, str):
        problem(where, "needs a Variable path")
        return None
    try:
        path = compile_path(variable)
    except PathSyntaxError as error:
        problem(where, f"Variable: {error}")
        return None
    operator = operators[0]
    expected = rule[operator]
    if operator in _TESTS:
        if not isinstance(expected, bool):
            problem(where, f"{operator} takes true or false")
            return None
        return _type_test(path, operator, expected)
    kind, compare = _COMPARISONS[operator]
    if operator.endswith("Path"):
        try:
            other = compile_path(expected)
        except (PathSyntaxError, TypeError) as error:
            problem(where, f"{operator}: {error}")
            return None
        return _comparison(path, kind, compare, other_path=other)
    if not _literal_fits(kind, expected):
        problem(where, f"{operator} needs a {kind} value, not {json.dumps(expected)}")
        return None
    return _comparison(path, kind, compare, literal=expected)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_COMPARISONS: dict[str, tuple[str, Callable[[Any, Any], bool]]] = {}
for _kind in ("String", "Numeric", "Timestamp"):
    for _suffix, _fn in _COMPARE.items():
        _COMPARISONS[f"{_kind}{_suffix}"] = (_kind, _fn)
        _COMPARISONS[f"{_kind}{_suffix}Path"] = (_kind, _fn)
_COMPARISONS["BooleanEquals"] = ("Boolean", _COMPARE["Equals"])
_COMPARISONS["BooleanEqualsPath"] = ("Boolean", _COMPARE["Equals"])
_COMPARISONS["StringMatches"] = ("Pattern", lambda a, b: bool(b.fullmatch(a)))
_TESTS = frozenset({"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _literal_fits(kind: str, value: Any) -> bool:
    if kind == "String":
        return isinstance(value, str)
    if kind == "Numeric":
        return _is_number(value)
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind == "Timestamp":
        return parse_timestamp(value) is not None
    return isinstance(value, str)  # StringMatches pattern


def _pattern(text: str) -> re.Pattern[str]:
    pieces, position = [], 0
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            pieces.append(re.escape(text[position + 1]))
            position += 2
            continue
        pieces.append(".*" if char == "*" else re.escape(char))
        position += 1
    return re.compile("".join(pieces), re.DOTALL)


def _coerce(kind: str, value: Any) -> Any:
    """The value as the comparison sees it, or None when it is of the wrong type (no match)."""
    if kind in {"String", "Pattern"}:
        return value if isinstance(value, str) else None
    if kind == "Numeric":
        return value if _is_number(value) else None
    if kind == "Boolean":
        return value if isinstance(value, bool) else None
    return parse_timestamp(value)


def _resolve_variable(path: JsonPath, data: Any, context: Any) -> Any:
    try:
        return path.evaluate(data, context)
    except PathNotFound:
        raise StatesError(
            RUNTIME,
            f"Invalid path '{path.text}': The choice state's condition path references an invalid value.",
        ) from None


def _comparison(
    path: JsonPath,
    kind: str,
    compare: Callable[[Any, Any], bool],
    *,
    literal: Any = None,
    other_path: JsonPath | None = None,
) -> Predicate:
    fixed = _pattern(literal) if kind == "Pattern" else _coerce(kind, literal) if other_path is None else None

    def check(data: Any, context: Any) -> bool:
        left = _coerce(kind, _resolve_variable(path, data, context))
        right = fixed if other_path is None else _coerce(kind, _resolve_variable(other_path, data, context))
        if left is None or right is None:
            return False
        return compare(left, right)

    return check


def _type_test(path: JsonPath, operator: str, expected: bool) -> Predicate:
    def check(data: Any, context: Any) -> bool:
        if operator == "IsPresent":
            return path.exists(data, context) == expected
        value = _resolve_variable(path, data, context)
        outcome = {
            "IsNull": value is None,
            "IsNumeric": _is_number(value),
            "IsString": isinstance(value, str),
            "IsBoolean": isinstance(value, bool),
            "IsTimestamp": parse_timestamp(value) is not None,
        }[operator]
        return outcome == expected

    return check
