"""Static checks on any ASL definition: each problem named with its state and field."""

from __future__ import annotations

from typing import Any

import pytest

from stepline.compiler import check_definition, history_event_bound


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def test_a_sound_definition_has_no_problems() -> None:
    definition = machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Succeed"})
    assert check_definition(definition) == []


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        (
            machine(A={"Type": "Pass", "Next": "Nowhere"}),
            "state 'A': Next 'Nowhere' is not a state in the state machine",
        ),
        (
            machine(A={"Type": "Succeed"}, B={"Type": "Succeed"}),
            "state 'B' cannot be reached from 'A' in the state machine",
        ),
        (machine(A={"Type": "Pass"}), "state 'A' has neither Next nor End"),
        (
            {"StartAt": "X", "States": {"A": {"Type": "Succeed"}}},
            "the state machine: StartAt 'X' is not one of its states",
        ),
        ({"StartAt": "A", "States": {}}, "the state machine has no States"),
        (
            machine(**{"N" * 81: {"Type": "Succeed"}}),
            f"state '{'N' * 81}' has a name of 81 characters; the limit is 80",
        ),
        (
            machine(
                A={
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Z"}],
                    "Default": "B",
                },
                B={"Type": "Succeed"},
            ),
            "state 'A': Choices[0].Next 'Z' is not a state in the state machine",
        ),
        (
            machine(
                A={
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}],
                }
            ),
            "state 'A': Catch[0].Next 'Gone' is not a state in the state machine",
        ),
    ],
)
def test_broken_definitions_are_named(definition: dict[str, Any], problem: str) -> None:
    assert problem in check_definition(definition)


def test_names_must_be_unique_across_branches_and_branch_targets_stay_in_their_branch() -> None:
    branch = machine(A={"Type": "Pass", "Next": "Outside"})
    definition = machine(A={"Type": "Parallel", "Branches": [branch], "Next": "Outside"}, Outside={"Type": "Succeed"})
    problems = check_definition(definition)
    assert "state name 'A' is used twice (the state machine and branch 0 of 'A')" in problems
    assert "state 'A': Next 'Outside' is not a state in branch 0 of 'A'" in problems


def test_history_bound_counts_retries_and_branches() -> None:
    task = {"Type": "Task", "Resource": "r", "End": True, "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 3}]}
    definition = machine(P={"Type": "Parallel", "Branches": [machine(T1=task), machine(T2=task)], "End": True})
    # execution 2 + parallel (2 + 2) + two tasks of (2 + 4 attempts x 4 events)
    assert history_event_bound(definition) == 2 + 4 + 2 * (2 + 16)


def test_a_definition_whose_history_could_overflow_is_refused() -> None:
    retrying = {"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 99}]}
    states = {f"T{i}": {**retrying, "Next": f"T{i + 1}"} for i in range(70)}
    states["T70"] = {"Type": "Succeed"}
    problems = check_definition({"StartAt": "T0", "States": states})
    assert problems == [
        "an execution could record up to 28,144 history events; Step Functions stops executions at 25,000 "
        "(use fewer actions or fewer retries)"
    ]
