"""Stage rollback (CodePipeline's RollbackStage), compiled: V2 pipelines not in PARALLEL mode.

A rollback is a new execution (``trigger.executionType`` ROLLBACK) whose input names the stage
to roll back and carries what the target execution ended with — its artifacts and its action
namespaces' variables (``restore``), its source revisions and pipeline variables. The prologue
restores them into the workflow variables, and a Choice sends the execution straight to that
stage's gate; stages before it do not run again, as on CodePipeline. Every other execution
passes the Choice by its Default.
"""

from __future__ import annotations

from typing import Any

from stepline.definition.models import ExecutionMode, PipelineDeclaration, PipelineType

ROLLBACK = "Roll back?"


def supported(pipeline: PipelineDeclaration) -> bool:
    return pipeline.pipeline_type is PipelineType.V2 and pipeline.execution_mode is not ExecutionMode.PARALLEL


def namespaces(pipeline: PipelineDeclaration) -> list[str]:
    return [action.namespace for stage in pipeline.stages for action in stage.actions if action.namespace]


def add(
    states: dict[str, Any],
    pipeline: PipelineDeclaration,
    gates: dict[str, str],
    variable: Any,
    prologue: tuple[str, str],
) -> None:
    """Give the prologue (its two Pass states' names) the rollback input and its Choice;
    ``gates`` maps each stage to its gate state, ``variable`` a namespace to its variable."""
    if not supported(pipeline):
        return
    names = namespaces(pipeline)
    start, read_input = prologue
    states[start]["Result"]["rollback"] = {"stage": ""}
    states[start]["Result"]["restore"] = {"artifacts": {}, "namespaces": {name: {} for name in names}}
    read = states[read_input]
    read["Assign"]["artifacts.$"] = "$.input.restore.artifacts"
    read["Assign"].pop("artifacts", None)
    for name in names:
        read["Assign"][f"{variable(name)}.$"] = f"$.input.restore.namespaces['{name}']"
    first = read["Next"]
    read["Next"] = ROLLBACK
    later = [stage.name for stage in pipeline.stages[1:]]
    states[ROLLBACK] = {
        "Type": "Choice",
        "Comment": "A ROLLBACK execution starts at the stage it rolls back; every other starts at the first.",
        "Choices": [
            {"Variable": "$.input.rollback.stage", "StringEquals": stage, "Next": gates[stage]} for stage in later
        ],
        "Default": first,
    }
