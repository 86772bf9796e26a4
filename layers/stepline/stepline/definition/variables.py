"""Pipeline variables: ``#{Namespace.Key}``, ``#{variables.Name}``, ``#{codepipeline.…}``.

References are found by the validator (to check that each points at something produced
earlier) and resolved when an action starts, against the variables carried in the execution
state: ``{namespace: {key: value}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

# The pipeline-level namespace (V2 pipeline variables) and the reserved execution namespace.
PIPELINE_VARIABLES = "variables"
CODEPIPELINE = "codepipeline"
CODEPIPELINE_KEYS = frozenset({"PipelineExecutionId"})
RESERVED_NAMESPACES = frozenset({PIPELINE_VARIABLES, CODEPIPELINE})

REFERENCE = re.compile(r"#\{(?P<namespace>[^.{}]*)\.(?P<key>[^{}]*)\}")


@dataclass(frozen=True, slots=True)
class VariableReference:
    namespace: str
    key: str

    def __str__(self) -> str:
        return f"#{{{self.namespace}.{self.key}}}"


def references_in(text: str) -> Iterator[VariableReference]:
    for match in REFERENCE.finditer(text):
        yield VariableReference(match["namespace"], match["key"])


class UnresolvedVariableError(LookupError):
    """A reference with no value when the action starts."""

    def __init__(self, reference: VariableReference, reason: str) -> None:
        self.reference = reference
        super().__init__(f"{reference} cannot be resolved: {reason}")


def value_of(reference: VariableReference, variables: Mapping[str, Mapping[str, str]]) -> str:
    """The reference's value; a reference with no value is an error, not ''."""
    namespace = variables.get(reference.namespace)
    if namespace is None:
        raise UnresolvedVariableError(reference, f"no namespace {reference.namespace!r} has been produced")
    value = namespace.get(reference.key)
    if value is None:
        known = ", ".join(sorted(namespace)) or "none"
        raise UnresolvedVariableError(
            reference,
            f"namespace {reference.namespace!r} has no {reference.key!r} (it has: {known})",
        )
    return value


def resolve(text: str, variables: Mapping[str, Mapping[str, str]]) -> str:
    """Replace every reference in ``text`` with its value."""
    return REFERENCE.sub(lambda match: value_of(VariableReference(match["namespace"], match["key"]), variables), text)


def resolve_all(configuration: Mapping[str, str], variables: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    return {key: resolve(value, variables) for key, value in configuration.items()}
