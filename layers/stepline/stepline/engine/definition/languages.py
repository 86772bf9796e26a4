"""Which fields each query language allows, as the States Language (November 2024) lists them.

A JSONata state replaces InputPath, Parameters, ResultSelector, ResultPath and OutputPath
with Arguments and Output, and every ``…Path`` field with a ``{% %}`` value of the field
without the suffix; a JSONPath state has none of the JSONata fields. A field of the other
language is refused, naming the state and the field, as Step Functions refuses it when the
state machine is created (SCHEMA_VALIDATION_FAILED).
"""

from __future__ import annotations

from typing import Any

from stepline.engine.definition.states import QueryLanguage

JSONPATH_ONLY = (
    "InputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Result",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "ErrorPath",
    "CausePath",
)
JSONATA_ONLY = ("Arguments", "Output", "Items")
_INSTEAD = {
    "InputPath": "Arguments",
    "Parameters": "Arguments",
    "ResultSelector": "Output",
    "ResultPath": "Output or Assign",
    "OutputPath": "Output",
    "Result": "Output",
    "ItemsPath": "Items",
}


def misplaced(body: dict[str, Any], language: QueryLanguage) -> list[str]:
    """A message for each field of ``body`` that ``language`` does not have."""
    problems = []
    if language is QueryLanguage.JSONATA:
        for key in JSONPATH_ONLY:
            if key in body:
                instead = _INSTEAD.get(key) or key.removesuffix("Path") + " with a {% %} expression"
                problems.append(
                    f'SCHEMA_VALIDATION_FAILED: The field "{key}" is not supported in JSONata states; use {instead}'
                )
    else:
        for key in JSONATA_ONLY:
            if key in body:
                problems.append(
                    f'SCHEMA_VALIDATION_FAILED: The field "{key}" is only supported in JSONata states '
                    '(set "QueryLanguage": "JSONata")'
                )
    return problems


def language_of(body: dict[str, Any], inherited: QueryLanguage) -> tuple[QueryLanguage, str | None]:
    """The state's query language, and a problem if its QueryLanguage cannot be used."""
    raw = body.get("QueryLanguage")
    if raw is None:
        return inherited, None
    if raw not in {language.value for language in QueryLanguage}:
        return inherited, f"QueryLanguage {raw!r} is not JSONPath or JSONata"
    language = QueryLanguage(raw)
    if inherited is QueryLanguage.JSONATA and language is QueryLanguage.JSONPATH:
        # The developer guide: a state may opt into JSONata in a JSONPath machine, not the reverse.
        return inherited, "QueryLanguage JSONPath is not allowed in a state machine whose QueryLanguage is JSONata"
    return language, None
