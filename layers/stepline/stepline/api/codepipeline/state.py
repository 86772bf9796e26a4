"""GetPipelineState and ListActionExecutions: executions read back as stages and actions by
``stepline.status`` (the history is the one record), in CodePipeline's shapes.

A stage's latest execution is the newest execution that reached it, as CodePipeline reports a
stage that a newer run has not reached yet with the older run's state. An approval waiting
for a decision carries its token: a UUID derived from the approval's id, which
PutApprovalResult takes back (``approvals.py``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from stepline import wiring
from stepline.actions.approval import approval_id
from stepline.api.codepipeline.executions import described_execution, execution_version
from stepline.api.codepipeline.levers import inbound_transitions
from stepline.api.codepipeline.pipelines import entry_of, page_position, page_token, version_of
from stepline.api.codepipeline.protocol import Call, operation
from stepline.ports.pipelines import RegisteredPipeline
from stepline.settings import LocalSettings, settings
from stepline.status import ActionRun, PipelineRun, StageRun, local_log, run_of

_APPROVAL_TOKENS = uuid.UUID("0b7c6a55-3f0e-4d8b-a1c2-93e4d5f6a7b8")
_RUNS_READ = 20  # executions read back, newest first, to find each stage's latest one
_LISTED_AT_MOST = 100  # executions ListActionExecutions reads without a pipelineExecutionId filter


def approval_token(pipeline: str, execution: str, stage: str, action: str) -> str:
    """What GetPipelineState shows as an approval's token, and PutApprovalResult must send back."""
    return str(uuid.uuid5(_APPROVAL_TOKENS, approval_id(pipeline, execution, stage, action)))


def action_execution_id(run: PipelineRun, action: ActionRun) -> str:
    return str(uuid.uuid5(_APPROVAL_TOKENS, f"{run.execution_arn}\0{action.key}"))


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _stage_status(run: PipelineRun, stage: StageRun) -> str:
    status = stage.status
    if status == "Abandoned":
        return "Stopped" if run.status == "Stopped" else "Failed"
    return status


def external_url(run: PipelineRun, action: ActionRun) -> str:
    """Where people read what the action did: its log in the console when the action wrote one
    on this machine (a build), else the execution's page."""
    current = settings()
    page = f"{current.api_url.rstrip('/')}/pipelines/{quote(run.pipeline, safe='')}/executions/{run.execution_name}"
    if (
        isinstance(current, LocalSettings)
        and local_log(current.data, run.pipeline, run.execution_name, action.key).is_file()
    ):
        return f"{page}/logs/{quote(action.key, safe='')}"
    return page


def latest_action_execution(run: PipelineRun, action: ActionRun) -> dict[str, Any] | None:
    if action.status == "Pending":
        return None
    execution: dict[str, Any] = {
        "actionExecutionId": action_execution_id(run, action),
        "status": action.status,
        "lastStatusChange": _when(action.ended if action.ended is not None else action.started),
        "externalExecutionUrl": external_url(run, action),
    }
    if action.status == "Failed":
        execution["errorDetails"] = {"code": action.error or "Failed", "message": action.cause[:5000]}
    if action.status == "InProgress" and action.type.startswith("Approval/"):
        execution["token"] = approval_token(run.pipeline, run.execution_name, action.stage, action.name)
    return execution


def _latest_runs(entry: RegisteredPipeline) -> dict[str, tuple[PipelineRun, StageRun]]:
    """Each stage's newest run that reached it."""
    latest: dict[str, tuple[PipelineRun, StageRun]] = {}
    stages = {stage["name"] for stage in entry.declaration["stages"]}
    workflows = wiring.workflows()
    for listed in workflows.executions(entry.state_machine_arn, limit=_RUNS_READ):
        run = run_of(entry, workflows, str(listed["executionArn"]))
        for stage in run.stages:
            if stage.name not in latest and stage.status != "Pending":
                latest[stage.name] = (run, stage)
        if stages <= latest.keys():
            break
    return latest


@operation("GetPipelineState")
def get_pipeline_state(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["name"])
    latest = _latest_runs(entry)
    inbound = inbound_transitions(entry)  # the first stage has none
    stage_states = []
    for stage in entry.declaration["stages"]:
        found = latest.get(stage["name"])
        runs = {action.name: action for action in found[1].actions} if found else {}
        actions = []
        for declared in stage["actions"]:
            state: dict[str, Any] = {"actionName": declared["name"]}
            ran = runs.get(declared["name"])
            if found is not None and ran is not None:
                state["latestExecution"] = latest_action_execution(found[0], ran)
            actions.append(state)
        stage_state: dict[str, Any] = {
            "stageName": stage["name"],
            "inboundTransitionState": inbound.get(stage["name"]),
            "actionStates": actions,
        }
        if found is not None:
            stage_state["latestExecution"] = {
                "pipelineExecutionId": found[0].execution_name,
                "status": _stage_status(*found),
                "type": "STANDARD",
            }
        stage_states.append(stage_state)
    registered = datetime.fromtimestamp(entry.registered_at, UTC)
    return {
        "pipelineName": entry.name,
        "pipelineVersion": version_of(entry),
        "stageStates": stage_states,
        "created": registered,
        "updated": registered,
    }


def _artifacts(references: dict[str, Any]) -> list[dict[str, Any]]:
    """Artifacts as ArtifactDetail: S3 ones with their bucket and key; local ones by name."""
    details = []
    for name, reference in references.items():
        detail: dict[str, Any] = {"name": name}
        location = str(reference.get("location", "")) if isinstance(reference, dict) else ""
        if location.startswith("s3://"):
            bucket, _, key = location.removeprefix("s3://").partition("/")
            detail["s3location"] = {"bucket": bucket, "key": key}
        details.append(detail)
    return details


def _declared_actions(entry: RegisteredPipeline) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (stage["name"], action["name"]): action for stage in entry.declaration["stages"] for action in stage["actions"]
    }


def action_detail(entry: RegisteredPipeline, run: PipelineRun, action: ActionRun, version: int) -> dict[str, Any]:
    declared = _declared_actions(entry).get((action.stage, action.name), {})
    own_variables = action.variables.get(declared.get("namespace", ""), {}) if declared.get("namespace") else {}
    result: dict[str, Any] = {
        "externalExecutionId": run.execution_name,
        "externalExecutionSummary": action.status,
        "externalExecutionUrl": external_url(run, action),
    }
    if action.status == "Failed":
        result["errorDetails"] = {"code": action.error or "Failed", "message": action.cause[:5000]}
        result["externalExecutionSummary"] = action.cause[:2048] or action.error
    succeeded = action.status == "Succeeded"
    inputs = [artifact["name"] for artifact in declared.get("inputArtifacts", [])]
    return {
        "pipelineExecutionId": run.execution_name,
        "actionExecutionId": action_execution_id(run, action),
        "pipelineVersion": version,
        "stageName": action.stage,
        "actionName": action.name,
        "startTime": _when(action.started),
        "lastUpdateTime": _when(action.ended if action.ended is not None else action.started),
        "status": action.status,
        "input": {
            "actionTypeId": declared.get("actionTypeId"),
            "configuration": declared.get("configuration", {}),
            "inputArtifacts": [{"name": name} for name in inputs],
            "namespace": declared.get("namespace"),
            "region": declared.get("region"),
        },
        "output": {
            "outputArtifacts": _artifacts(action.artifacts),
            "executionResult": result,
            "outputVariables": {str(k): str(v) for k, v in own_variables.items()} if succeeded else None,
        },
    }


@operation("ListActionExecutions")
def list_action_executions(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["pipelineName"])
    wanted = (call.input.get("filter") or {}).get("pipelineExecutionId")
    workflows = wiring.workflows()
    if wanted:
        arns = [str(described_execution(entry, wanted)["executionArn"])]
    else:
        arns = [str(e["executionArn"]) for e in workflows.executions(entry.state_machine_arn, limit=_LISTED_AT_MOST)]
    position = page_position(call.input.get("nextToken"))
    offset = int(position) if position.isdigit() else 0
    size = call.input.get("maxResults") or 100
    details: list[dict[str, Any]] = []
    for arn in arns:  # newest first; read only as far as this page needs
        if len(details) > offset + size:
            break
        described = dict(workflows.describe(arn))
        run = run_of(entry, workflows, arn)
        version = execution_version(entry, described)
        started = sorted((a for a in run.actions if a.started is not None), key=lambda a: a.started or 0, reverse=True)
        details.extend(action_detail(entry, run, action, version) for action in started)
    more = len(details) > offset + size
    return {
        "actionExecutionDetails": details[offset : offset + size],
        "nextToken": page_token(str(offset + size)) if more else None,
    }
