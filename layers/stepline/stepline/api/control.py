"""Run control's levers as JSON routes (bearer token), on `stepline serve` and on AWS alike:
the inbound transitions (GetPipelineState's ``inboundTransitionState``, Disable/Enable-
StageTransition) and StopPipelineExecution. Each calls ``stepline.control.levers``; a refused
request is its error kind's status (api/problems.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from stepline import wiring
from stepline.api.problems import ApiProblem
from stepline.api.requests import json_body, require_bearer
from stepline.control import events, levers
from stepline.errors import SteplineError
from stepline.ports.pipelines import RegisteredPipeline
from stepline.ports.workflows import ExecutionNotFound, execution_arn

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class DisableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str


class StopBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = ""
    abandon: bool = False


def _entry(name: str) -> RegisteredPipeline:
    require_bearer(router.current_event, wiring.api_token())
    entry = wiring.registry().get(name)
    if entry is None:
        raise ApiProblem(404, "No such pipeline", f"no pipeline {name!r} is registered")
    return entry


def _pulled(lever: Any, *arguments: Any) -> Any:
    try:
        return lever(wiring.run_control(), *arguments)
    except SteplineError as error:
        raise ApiProblem.of(error) from None


@router.get("/api/pipelines/<name>/transitions")
def transitions(name: str) -> dict[str, Any]:
    states = _pulled(levers.transitions, _entry(name))
    return {"stageStates": [{"stageName": stage, "inboundTransitionState": s} for stage, s in states.items()]}


@router.post("/api/pipelines/<name>/stages/<stage>/disable-transition")
def disable(name: str, stage: str) -> dict[str, Any]:
    entry = _entry(name)
    body = json_body(router.current_event, DisableBody)
    _pulled(levers.disable_transition, entry, stage, body.reason, "api")
    return {"stageName": stage, "inboundTransitionState": levers.transitions(wiring.run_control(), entry)[stage]}


@router.post("/api/pipelines/<name>/stages/<stage>/enable-transition")
def enable(name: str, stage: str) -> dict[str, Any]:
    entry = _entry(name)
    _pulled(levers.enable_transition, entry, stage)
    return {"stageName": stage, "inboundTransitionState": {"enabled": True}}


@router.post("/api/pipelines/<name>/executions/<execution>/stop")
def stop(name: str, execution: str) -> tuple[dict[str, Any], int]:
    entry = _entry(name)
    body = json_body(router.current_event, StopBody)
    workflows = wiring.workflows()
    arn = execution_arn(entry.state_machine_arn, execution)
    try:
        described = workflows.describe(arn)
    except ExecutionNotFound:
        raise ApiProblem(404, "No such execution", f"{name} has no execution {execution!r}") from None
    status = _pulled(levers.stop_execution, entry, arn, described, body.reason, body.abandon, workflows)
    if status == "Stopping":  # the history will not show it: CodePipeline's STOPPING event, sent here
        wiring.event_publisher().publish([events.stopping(entry, described, body.reason, wiring.now())])
    return {"pipelineExecutionId": execution, "status": status}, 202


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    target: str = Field(alias="targetPipelineExecutionId", min_length=1)


@router.post("/api/pipelines/<name>/stages/<stage>/rollback")
def rollback(name: str, stage: str) -> tuple[dict[str, Any], int]:
    entry = _entry(name)
    body = json_body(router.current_event, RollbackBody)
    try:
        started = levers.rollback_stage(entry, stage, body.target, wiring.workflows())
    except SteplineError as error:
        raise ApiProblem.of(error) from None
    return {"pipelineExecutionId": started.rsplit(":", 1)[-1]}, 201
