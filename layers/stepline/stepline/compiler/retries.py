"""Automatic stage retry (``onFailure: {result: RETRY}``), compiled: within the same execution,
so its history is one. A failure in such a stage goes, instead of to the release and the end,
to a Choice that sends the execution back through the stage's gate once (a workflow variable
per stage says whether it was retried); the gate admits it again, since it still holds the
stage. Both retry modes re-run the whole stage (ALL_ACTIONS): re-running only the failed
actions (FAILED_ACTIONS) is not built yet."""

from __future__ import annotations

from typing import Any

from stepline.compiler.gates import RELEASE_AFTER_FAILURE
from stepline.definition.models import ConditionResult, PipelineDeclaration


def retried_variable(index: int) -> str:
    return f"retried_{index}"


def add(
    states: dict[str, Any], pipeline: PipelineDeclaration, gates: dict[str, str], read_input: str, claim: Any
) -> None:
    """Reroute the failures of every stage whose onFailure result is RETRY (``gates``: stage → gate)."""
    for index, stage in enumerate(pipeline.stages):
        failure = stage.on_failure
        if failure is None or failure.result is not ConditionResult.RETRY or stage.name not in gates:
            continue
        variable = retried_variable(index)
        states[read_input]["Assign"][variable] = False
        decide, again = claim(f"{stage.name} failed: retry?"), claim(f"{stage.name} retried")
        for name in _failure_exits(states, stage.name):
            states[name]["Next"] = decide
        states[decide] = {
            "Type": "Choice",
            "Comment": f"onFailure RETRY: {stage.name} runs again once, in this execution.",
            "Choices": [{"Variable": f"${variable}", "BooleanEquals": False, "Next": again}],
            "Default": RELEASE_AFTER_FAILURE,
        }
        states[again] = {
            "Type": "Pass",
            "Comment": "The failure is forgotten (the state is references only; the variables stay).",
            "Result": {},
            "ResultPath": "$",
            "Assign": {variable: True},
            "Next": gates[stage.name],
        }


def _failure_exits(states: dict[str, Any], stage: str) -> list[str]:
    """The states through which a failure of one of the stage's actions leaves for the release:
    a single action's failure record, a parallel group's "stops the pipeline" states."""
    exits = []
    for name, state in states.items():
        if state.get("Next") != RELEASE_AFTER_FAILURE:
            continue
        if state.get("Type") == "Pass" and state.get("Parameters", {}).get("stage") == stage:
            exits.append(name)
    for state in states.values():
        if state.get("Type") == "Parallel" and state.get("Comment", "").startswith(f"Stage {stage}: "):
            check = states[state["Next"]]
            exits += [choice["Next"] for choice in check.get("Choices", [])]
    return exits
