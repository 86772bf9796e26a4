"""The levers of run control (``stepline.control.levers``) in CodePipeline's words:
DisableStageTransition, EnableStageTransition, StopPipelineExecution, RollbackStage, and each
stage's inbound transition in GetPipelineState. A lever's refusal is answered as CodePipeline answers
it: an unknown stage ``StageNotFoundException``, a bad request ``ValidationException``, an
execution that cannot be stopped ``PipelineExecutionNotStoppableException``.

RetryStageExecution, OverrideStageCondition and ListRuleExecutions are not
levers Stepline has yet: each answers ``ValidationException`` saying so (after checking the
pipeline exists), and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepline import wiring
from stepline.api.codepipeline.errors import AwsError, validation
from stepline.api.codepipeline.executions import described_execution
from stepline.api.codepipeline.pipelines import entry_of
from stepline.api.codepipeline.protocol import Call, operation
from stepline.control import levers
from stepline.errors import Conflict, InvalidInput, NotFound
from stepline.ports.pipelines import RegisteredPipeline
from stepline.ports.workflows import execution_arn

NOT_YET = ("RetryStageExecution", "OverrideStageCondition", "ListRuleExecutions")
_CALLER = "codepipeline-api"  # who changed a transition, as lastChangedBy shows it


def _pulled(lever: Callable[..., Any], conflict: str, *arguments: Any) -> Any:
    try:
        return lever(wiring.run_control(), *arguments)
    except NotFound as error:
        raise AwsError("StageNotFoundException", str(error)) from None
    except InvalidInput as error:
        raise validation(str(error)) from None
    except Conflict as error:
        raise AwsError(conflict, str(error)) from None


def inbound_transitions(entry: RegisteredPipeline) -> dict[str, dict[str, Any]]:
    """Each stage's inbound transition, for GetPipelineState."""
    states: dict[str, dict[str, Any]] = _pulled(levers.transitions, "ValidationException", entry)
    return states


def _inbound(call: Call) -> None:
    if call.input["transitionType"] != "Inbound":
        raise validation("Stepline gates a stage's inbound transition only: give transitionType Inbound")


@operation("DisableStageTransition")
def disable_stage_transition(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["pipelineName"])
    _inbound(call)
    _pulled(
        levers.disable_transition, "ValidationException", entry, call.input["stageName"], call.input["reason"], _CALLER
    )
    return {}


@operation("EnableStageTransition")
def enable_stage_transition(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["pipelineName"])
    _inbound(call)
    _pulled(levers.enable_transition, "ValidationException", entry, call.input["stageName"])
    return {}


@operation("StopPipelineExecution")
def stop_pipeline_execution(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["pipelineName"])
    execution = call.input["pipelineExecutionId"]
    described = described_execution(entry, execution)
    arn = execution_arn(entry.state_machine_arn, execution)
    reason, abandon = call.input.get("reason", ""), bool(call.input.get("abandon"))
    workflows = wiring.workflows()
    _pulled(
        levers.stop_execution,
        "PipelineExecutionNotStoppableException",
        entry,
        arn,
        described,
        reason,
        abandon,
        workflows,
    )
    return {"pipelineExecutionId": execution}


@operation("RollbackStage")
def rollback_stage(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["pipelineName"])
    stage, target = call.input["stageName"], call.input["targetPipelineExecutionId"]
    try:
        started = levers.rollback_stage(entry, stage, target, wiring.workflows())
    except NotFound as error:
        # The stage is known from the declaration; what else is missing is the target execution.
        declared = {declared_stage.name for declared_stage in entry.pipeline.stages}
        kind = "StageNotFoundException" if stage not in declared else "PipelineExecutionNotFoundException"
        raise AwsError(kind, str(error)) from None
    except InvalidInput as error:
        raise validation(str(error)) from None
    except Conflict as error:
        raise AwsError("UnableToRollbackStageException", str(error)) from None
    return {"pipelineExecutionId": started.rsplit(":", 1)[-1]}


def _not_yet(call: Call) -> dict[str, Any]:
    entry_of(call.input["pipelineName"])
    raise validation(f"{call.operation} is not available in this version of Stepline")


for _lever in NOT_YET:
    operation(_lever)(_not_yet)
