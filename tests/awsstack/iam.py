"""IAM policy evaluation, as AWS documents it, for the statements template.yaml writes.

Why not moto's: moto 5.2.5 enforces IAM (``INITIAL_NO_AUTH_ACTION_COUNT``) by action only —
outside S3, IAM and SQS it checks every request against the resource "*", so a statement scoped
to a table or a function never matches and every least-privilege grant reads as a denial; and it
evaluates only StringEquals conditions, with no request context, so a tag condition always
passes. This evaluator takes the resource ARN and the condition context (the resource's tags,
``iam:PassedToService``…) of each request.

Evaluation (AWS's documented logic, same account): an explicit Deny in any policy wins; else an
Allow in any policy allows; else the request is implicitly denied. A statement applies when its
Action/NotAction, Resource/NotResource and every Condition match. Condition operators it does
not know are refused loudly rather than guessed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allowed", "explicitly denied", "implicitly denied"]


@dataclass(frozen=True)
class Request:
    action: str  # "s3:GetObject"
    resource: str  # an ARN, or "*" for actions that take none
    context: Mapping[str, str | list[str]] = field(default_factory=dict)  # condition keys → values


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """IAM's wildcards: * any run of characters (":" and "/" included), ? one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(patterns: Any, action: str) -> bool:
    return any(_glob(pattern, action, case_sensitive=False) for pattern in _listed(patterns))


def _resource_matches(patterns: Any, resource: str) -> bool:
    return any(pattern == "*" or _glob(pattern, resource, case_sensitive=True) for pattern in _listed(patterns))


_OPERATORS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringNotEquals": lambda expected, actual: actual != expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringLike": lambda expected, actual: fnmatch.fnmatchcase(actual, expected),
    "StringNotLike": lambda expected, actual: not fnmatch.fnmatchcase(actual, expected),
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": lambda expected, actual: _glob(expected, actual, case_sensitive=True),
    "ArnNotEquals": lambda expected, actual: actual != expected,
    "ArnNotLike": lambda expected, actual: not _glob(expected, actual, case_sensitive=True),
    "Bool": lambda expected, actual: actual.lower() == str(expected).lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str | list[str]]) -> bool:
    qualifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    present = key in context and context[key] not in (None, [])
    if operator == "Null":
        return (not present) == (str(expected).lower() == "true")
    if operator not in _OPERATORS:
        raise NotImplementedError(f"condition operator {operator} is not evaluated by the tests' IAM evaluator")
    if not present:
        return if_exists or operator in _NEGATED
    compare = _OPERATORS[operator]
    actual_values = [str(v) for v in _listed(context[key])]
    expected_values = [str(v) for v in _listed(expected)]
    negated = operator in _NEGATED

    def one(actual: str) -> bool:
        results = [compare(value, actual) for value in expected_values]
        return all(results) if negated else any(results)

    if qualifier == "ForAllValues":
        return all(one(actual) for actual in actual_values)
    return any(one(actual) for actual in actual_values)  # single-valued keys, and ForAnyValue


def applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether the statement speaks about this request (its effect aside)."""
    if "Action" in statement and not _action_matches(statement["Action"], request.action):
        return False
    if "NotAction" in statement and _action_matches(statement["NotAction"], request.action):
        return False
    if "Resource" in statement and not _resource_matches(statement["Resource"], request.resource):
        return False
    if "NotResource" in statement and _resource_matches(statement["NotResource"], request.resource):
        return False
    for operator, pairs in statement.get("Condition", {}).items():
        for key, expected in pairs.items():
            if not _condition_holds(operator, key, expected, request.context):
                return False
    return True


def statements(documents: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for document in documents:
        found.extend(_listed(document.get("Statement", [])))
    return found


def evaluate(documents: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    allowed = False
    for statement in statements(documents):
        if not applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return "explicitly denied"
        if statement.get("Effect") == "Allow":
            allowed = True
    return "allowed" if allowed else "implicitly denied"
