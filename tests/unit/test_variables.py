"""Variable references: found for validation, resolved when an action starts."""

from __future__ import annotations

import pytest

from stepline.definition.variables import (
    UnresolvedVariableError,
    VariableReference,
    references_in,
    resolve,
    resolve_all,
)

STATE = {
    "codepipeline": {"PipelineExecutionId": "exec-1"},
    "variables": {"Env": "prod"},
    "SourceVariables": {"CommitId": "3f2a9c1", "BranchName": "main"},
}


def test_references_are_found_in_order_and_text_around_them_is_ignored() -> None:
    text = "deploy #{SourceVariables.CommitId} to #{variables.Env} (#{codepipeline.PipelineExecutionId}) #{broken"
    assert list(references_in(text)) == [
        VariableReference("SourceVariables", "CommitId"),
        VariableReference("variables", "Env"),
        VariableReference("codepipeline", "PipelineExecutionId"),
    ]


def test_resolution_replaces_every_reference() -> None:
    configuration = {"Tag": "#{SourceVariables.CommitId}-#{variables.Env}", "Plain": "${HOME} stays"}
    assert resolve_all(configuration, STATE) == {"Tag": "3f2a9c1-prod", "Plain": "${HOME} stays"}


def test_a_value_is_not_resolved_twice() -> None:
    # Given a produced value that itself looks like a reference
    state = {**STATE, "SourceVariables": {"CommitId": "#{variables.Env}"}}
    # Then it is inserted as it is, not expanded again
    assert resolve("#{SourceVariables.CommitId}", state) == "#{variables.Env}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "#{BuildVariables.X}",
            "#{BuildVariables.X} cannot be resolved: no namespace 'BuildVariables' has been produced",
        ),
        (
            "#{SourceVariables.Tag}",
            "#{SourceVariables.Tag} cannot be resolved: namespace 'SourceVariables' has no 'Tag' (it has: BranchName, CommitId)",
        ),
    ],
)
def test_a_missing_value_is_an_error_never_an_empty_string(text: str, message: str) -> None:
    with pytest.raises(UnresolvedVariableError) as caught:
        resolve(text, STATE)
    assert str(caught.value) == message
