"""The rules' problems in a declaration the schema refused, so a person sees every problem at
once: a value the model refuses (``runOrder: 0``) no longer hides the rule errors elsewhere.

Each refused value is taken out of a copy of the document (an optional field then takes its
default) until the model accepts it, a few rounds at most; the rules then run on that model,
and their problems about a value taken out are dropped (the default standing in for it would
mislead). A refusal that cannot be taken out (a required field missing, a list item) leaves
the schema's problems alone. Pure: a document in, problems out."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from stepline.definition.loader import shape_problem
from stepline.definition.models import PipelineDeclaration
from stepline.definition.problems import Problem, format_path
from stepline.definition.rules import validate

ROUNDS = 5


def _take_out(document: Any, location: tuple[Any, ...]) -> str | None:
    """Remove the dict key ``location`` ends at; its path, or None when it cannot be taken out."""
    value = document
    for position, part in enumerate(location):
        last = position == len(location) - 1
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            if last:
                del value[part]
                return format_path(location)
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value) and not last:
            value = value[part]
        else:
            return None
    return None


def rule_problems_despite_schema(document: Any) -> list[Problem]:
    """The rules' problems in what the schema accepts of ``document`` ([] when nothing can be said)."""
    if not isinstance(document, dict) or shape_problem(document) is not None:
        return []
    wrapped = "pipeline" in document and "stages" not in document
    candidate = copy.deepcopy(document.get("pipeline") if wrapped else document)
    if not isinstance(candidate, dict):
        return []
    removed: list[str] = []
    for _ in range(ROUNDS):
        try:
            model = PipelineDeclaration.model_validate(candidate)
            break
        except ValidationError as error:
            taken = [_take_out(candidate, tuple(detail["loc"])) for detail in error.errors()]
            if not any(taken):
                return []
            removed += [path for path in taken if path]
    else:
        return []

    def about_removed(problem: Problem) -> bool:
        return any(problem.path == path or problem.path.startswith((f"{path}.", f"{path}[")) for path in removed)

    found = [problem for problem in validate(model) if not about_removed(problem)]
    return [problem.under("pipeline") for problem in found] if wrapped else found
