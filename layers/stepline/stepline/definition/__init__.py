"""Pipeline definitions: loading, the typed model, validation, providers and variables.

Pure: no AWS, no network, no engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stepline.definition.loader import LoadedPipeline, parse_pipeline, read_document
from stepline.definition.locate import located
from stepline.definition.models import PipelineDeclaration
from stepline.definition.problems import DefinitionError, Problem, Severity, errors_in
from stepline.definition.rules import validate
from stepline.definition.salvage import rule_problems_despite_schema

__all__ = [
    "DefinitionError",
    "LoadedPipeline",
    "PipelineDeclaration",
    "Problem",
    "Report",
    "Severity",
    "check_file",
    "load_valid_pipeline",
    "parse_pipeline",
    "valid_pipeline",
    "validate",
]


@dataclass(frozen=True)
class Report:
    """What validating one file found; ``loaded`` is None when the file could not be parsed."""

    source: str
    loaded: LoadedPipeline | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return errors_in(self.problems)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def valid(self) -> bool:
        return self.loaded is not None and not self.errors


def check_file(path: str | Path) -> Report:
    """Parse and validate a pipeline file, collecting every problem instead of stopping: the
    schema's and the rules' together, each with its stage's and action's names and its line."""
    try:
        text, document = read_document(path)
    except DefinitionError as error:
        return Report(str(path), None, error.problems)
    try:
        loaded = parse_pipeline(document, str(path))
    except DefinitionError as error:
        found = [*error.problems, *rule_problems_despite_schema(document)]
        return Report(str(path), None, located(found, document, text))
    return Report(str(path), loaded, located(loaded.located(validate(loaded.pipeline)), document, text))


def load_valid_pipeline(path: str | Path) -> LoadedPipeline:
    """The pipeline in ``path``, or DefinitionError listing every error found."""
    report = check_file(path)
    if report.loaded is None or report.errors:
        raise DefinitionError(report.source, report.errors)
    return report.loaded


def valid_pipeline(document: object, source: str) -> LoadedPipeline:
    """A decoded document as a pipeline, or DefinitionError listing every error found."""
    try:
        loaded = parse_pipeline(document, source)
    except DefinitionError as error:  # the rules' errors too, where the schema leaves them visible
        raise DefinitionError(source, [*error.problems, *errors_in(rule_problems_despite_schema(document))]) from None
    errors = errors_in(loaded.located(validate(loaded.pipeline)))
    if errors:
        raise DefinitionError(source, errors)
    return loaded
