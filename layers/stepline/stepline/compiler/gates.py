"""The run-control states of a compiled pipeline (stepline.control says what they decide).

In front of every stage, a callback Task asks the stage gate to enter it (leaving the stage
before): answered at once when the stage is free, later when the execution's turn comes, or
failed with ``Superseded`` or ``Stopped``. However the execution ends, a last Task releases
whatever it holds, so a failure releases its stage as CodePipeline's does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepline.definition.models import PipelineDeclaration, StageDeclaration
from stepline.definition.providers import GATE_PLACEHOLDER, find_provider

SUPERSEDED = "Pipeline superseded"
STOPPED = "Pipeline stopped"
GATE_FAILED = "Stage gate failed"
RELEASE = "Release stages"
RELEASE_AFTER_FAILURE = "Release stages after failure"
RESERVED = (SUPERSEDED, STOPPED, GATE_FAILED, RELEASE, RELEASE_AFTER_FAILURE)
# A pipeline variable whose declared default "false" turns the stale-approval rule off.
KEEP_STALE_APPROVALS_VARIABLE = "SteplineSupersedeApprovals"

_EXECUTION = {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "startTime.$": "$$.Execution.StartTime"}


def supersedes_approvals(pipeline: PipelineDeclaration) -> bool:
    for variable in pipeline.variables:
        if variable.name == KEEP_STALE_APPROVALS_VARIABLE:
            return (variable.default_value or "").strip().lower() != "false"
    return True


def gates(
    pipeline: PipelineDeclaration,
    stages: list[StageDeclaration],
    entries: list[str],
    claim: Callable[[str], str],
    retry: dict[str, Any],
    variables: Callable[[list[str]], dict[str, Any]],
) -> tuple[list[str], dict[int, dict[str, dict[str, Any]]]]:
    """For runOrder groups (their stages and entry states, in order): the state each group is
    entered by — its stage's gate for a stage's first group — and the gate's states by group (a
    stage with a ``beforeEntry`` condition also gets the Choice that skips it). ``variables``
    makes the Parameters template of the variables seen by a stage after the given namespaces."""
    heads = list(entries)
    firsts = [index for index, stage in enumerate(stages) if index == 0 or stages[index - 1] is not stage]
    for index in firsts:
        heads[index] = claim(f"Enter {stages[index].name}")
    states: dict[int, dict[str, dict[str, Any]]] = {}
    for position, index in enumerate(firsts):
        stage = stages[index]
        leaving = stages[index - 1].name if index else None
        entered = gate(pipeline, stage, leaving, entries[index], retry)
        before = pipeline.stages[: pipeline.stages.index(stage)]
        seen = variables([action.namespace for earlier in before for action in earlier.actions if action.namespace])
        if index and stages[index - 1].on_success is not None:  # the stage it leaves must pass its onSuccess
            _conditions(entered, "onSuccess", stages[index - 1].on_success, seen)
        states[index] = {heads[index]: entered}
        if stage.before_entry is not None:
            following = heads[firsts[position + 1]] if position + 1 < len(firsts) else RELEASE
            skip = claim(f"{stage.name} skipped?")
            _conditions(entered, "beforeEntry", stage.before_entry, seen)
            entered["ResultPath"], entered["Next"] = "$.entered", skip
            held = claim(f"{stage.name} held")
            states[index][skip] = {
                "Type": "Choice",
                "Comment": f"{stage.name}'s beforeEntry condition: skip the stage, or wait for its window.",
                "Choices": [
                    {"Variable": "$.entered.skip", "BooleanEquals": True, "Next": following},
                    {"Variable": "$.entered.wait", "NumericGreaterThan": 0, "Next": held},
                ],
                "Default": entries[index],
            }
            states[index][held] = {
                "Type": "Wait",
                "Comment": "Outside the deployment window: wait, then ask the gate again.",
                "SecondsPath": "$.entered.wait",
                "Next": heads[index],
            }
    return heads, states


def _conditions(task: dict[str, Any], field: str, conditions: Any, variables: dict[str, Any]) -> None:
    """A gate task is given a stage's conditions and the variables their rules may read."""
    payload = task["Parameters"]["Payload"]
    payload[field] = conditions.model_dump(by_alias=True, exclude_none=True, mode="json")
    payload["variables"] = variables


def gate(
    pipeline: PipelineDeclaration, stage: StageDeclaration, previous: str | None, following: str, retry: dict[str, Any]
) -> dict[str, Any]:
    approvals = [
        action.name
        for action in stage.actions
        if (provider := find_provider(action.action_type_id)) is not None and provider.category == "Approval"
    ]
    return {
        "Type": "Task",
        "Comment": f"Stage gate: wait for the turn to enter {stage.name} ({pipeline.execution_mode.value} mode).",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": f"${{{GATE_PLACEHOLDER}}}",
            "Payload": {
                "operation": "enter",
                "pipeline": pipeline.name,
                "stage": stage.name,
                "previous": previous,
                "mode": pipeline.execution_mode.value,
                "approvals": approvals,
                "supersedeApprovals": supersedes_approvals(pipeline),
                "execution": _EXECUTION,
                "taskToken.$": "$$.Task.Token",
            },
        },
        "ResultPath": None,
        "Retry": [retry],
        "Catch": [
            {"ErrorEquals": ["Superseded"], "ResultPath": "$.error", "Next": SUPERSEDED},
            {"ErrorEquals": ["Stopped"], "ResultPath": "$.error", "Next": STOPPED},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": GATE_FAILED},
        ],
        "Next": following,
    }


def ends(
    pipeline: PipelineDeclaration,
    succeeded: str,
    failed: str,
    retry: dict[str, Any],
    variables: Callable[[list[str]], dict[str, Any]],
) -> dict[str, Any]:
    """The release Tasks before the execution's ends (the last stage's onSuccess condition
    checked by the one before success), the gate's failure record, and the ends a gate (or a
    superseded approval) leads to."""

    released = _release(pipeline, succeeded, retry)
    last = pipeline.stages[-1]
    if last.on_success is not None:
        names = [action.namespace for stage in pipeline.stages for action in stage.actions if action.namespace]
        _conditions(released, "onSuccess", last.on_success, variables(names))
        released["Parameters"]["Payload"]["stage"] = last.name
        failed_condition = {"ErrorEquals": ["ConditionFailed"], "ResultPath": "$.error", "Next": GATE_FAILED}
        released["Catch"].insert(0, failed_condition)
    return {
        RELEASE: released,
        RELEASE_AFTER_FAILURE: _release(pipeline, failed, retry),
        GATE_FAILED: {
            "Type": "Pass",
            "Comment": "The stage gate itself failed (its store unreachable after retries).",
            "Parameters": {"stage": "", "action": "", "error.$": "$.error.Error", "detail.$": "$.error"},
            "ResultPath": "$.failure",
            "Next": RELEASE_AFTER_FAILURE,
        },
        SUPERSEDED: {
            "Type": "Fail",
            "Comment": "A newer execution superseded this one (between stages, or its approval).",
            "Error": "Superseded",
            "CausePath": "$.error.Cause",
        },
        STOPPED: {
            "Type": "Fail",
            "Comment": "Stopped: the execution was asked to stop and no new action started.",
            "Error": "Stopped",
            "CausePath": "$.error.Cause",
        },
    }


def supersedable(task: dict[str, Any]) -> None:
    """An approval Task outside a Parallel: a newer execution superseding its stale approval
    (the error ``Superseded``) ends the run as superseded, not failed. (Inside a Parallel the
    branch records the failure, which ``stepline.status`` reads as Superseded all the same.)"""
    if "Approval" in task["Comment"].split(":")[0]:
        superseded = {"ErrorEquals": ["Superseded"], "ResultPath": "$.error", "Next": SUPERSEDED}
        task["Catch"].insert(len(task["Catch"]) - 1, superseded)


def _release(pipeline: PipelineDeclaration, following: str, retry: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Comment": "Release the stage this execution holds, handing it to the next waiting execution.",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": f"${{{GATE_PLACEHOLDER}}}",
            "Payload": {
                "operation": "release",
                "pipeline": pipeline.name,
                "mode": pipeline.execution_mode.value,
                "execution": _EXECUTION,
            },
        },
        "ResultPath": None,
        "Retry": [retry],
        # A lost release must not hide how the execution ended; the lock's next writer sees it.
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.releaseError", "Next": following}],
        "Next": following,
    }
