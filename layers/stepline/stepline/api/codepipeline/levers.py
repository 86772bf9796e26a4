"""The levers of run control (issue 15): stopping an execution, retrying or rolling back a
stage, disabling and enabling a transition, overriding a condition, listing rule executions.

They come with run control; until its functions are part of Stepline, each answers AWS's
``ValidationException`` saying so, after checking the pipeline exists (so a wrong name is still
``PipelineNotFoundException``). Nothing changes state.
"""

from __future__ import annotations

from typing import Any

from stepline.api.codepipeline.errors import validation
from stepline.api.codepipeline.pipelines import entry_of
from stepline.api.codepipeline.protocol import Call, operation

LEVERS = (
    "StopPipelineExecution",
    "RetryStageExecution",
    "RollbackStage",
    "DisableStageTransition",
    "EnableStageTransition",
    "OverrideStageCondition",
    "ListRuleExecutions",
)


def _not_yet(call: Call) -> dict[str, Any]:
    entry_of(call.input["pipelineName"])
    raise validation(f"{call.operation} is not available in this version of Stepline (it comes with run control)")


for _lever in LEVERS:
    operation(_lever)(_not_yet)
