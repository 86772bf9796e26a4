"""StartPipelineExecution, GetPipelineExecution, ListPipelineExecutions: executions of the
pipeline's state machine, through the Workflows port (the engine locally, Step Functions on AWS).

A pipeline execution's id is its state machine execution's name, a UUID as CodePipeline's are.
A ``clientRequestToken`` names the execution (a UUID derived from the pipeline and the token),
so a retried start finds the execution the first one started; the same token with other
parameters is a ``ConflictException``. The execution's input records what CodePipeline reports
about it: the trigger, the variables, the source revisions asked for, the pipeline's version.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from stepline import wiring
from stepline.api.codepipeline.errors import AwsError, execution_not_found, validation
from stepline.api.codepipeline.pipelines import entry_of, page_position, page_token, version_of
from stepline.api.codepipeline.protocol import Call, operation
from stepline.ports.pipelines import RegisteredPipeline
from stepline.ports.workflows import ExecutionNotFound, execution_arn
from stepline.status import PipelineRun, run_of, run_status

_TOKENS = uuid.UUID("5f1d3c2e-8a47-4c59-9d1e-6b0a7f3e2c11")  # the namespace of token-named executions
_TRIGGER_TYPES = {"GitHook": "WebhookV2"}
_MODEL_TRIGGER_TYPES = {
    "StartPipelineExecution",
    "CreatePipeline",
    "PollForSourceChanges",
    "Webhook",
    "CloudWatchEvent",
}
_MODEL_TRIGGER_TYPES |= {"PutActionRevision", "WebhookV2", "ManualRollback", "AutomatedRollback"}
DEFAULT_PAGE = 100  # ListPipelineExecutions' maxResults default
_LISTED_AT_MOST = 1000  # executions one listing reads from the newest (the engine's page cap)


def _variables(entry: RegisteredPipeline, given: list[dict[str, str]]) -> dict[str, str]:
    declared = {variable["name"] for variable in entry.declaration.get("variables", [])}
    values: dict[str, str] = {}
    for variable in given:
        if variable["name"] not in declared:
            raise validation(f"Variable '{variable['name']}' is not declared in pipeline '{entry.name}'")
        if variable["name"] in values:
            raise validation(f"Variable '{variable['name']}' is given more than once")
        values[variable["name"]] = variable["value"]
    return values


def _revisions(entry: RegisteredPipeline, given: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """sourceRevisions as the compiled pipeline's trigger reads them: a commit per source action."""
    sources = {
        action["name"]
        for stage in entry.declaration["stages"]
        for action in stage["actions"]
        if action["actionTypeId"]["category"] == "Source"
    }
    revisions: dict[str, dict[str, str]] = {}
    for revision in given:
        if revision["actionName"] not in sources:
            raise validation(f"'{revision['actionName']}' is not a source action of pipeline '{entry.name}'")
        if revision["revisionType"] != "COMMIT_ID":
            raise validation(
                f"sourceRevisions of type {revision['revisionType']} are not supported by Stepline; give COMMIT_ID"
            )
        revisions[revision["actionName"]] = {"commitId": revision["revisionValue"]}
    return revisions


@operation("StartPipelineExecution")
def start_pipeline_execution(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["name"])
    trigger: dict[str, Any] = {"type": "StartPipelineExecution"}
    revisions = _revisions(entry, call.input.get("sourceRevisions", []))
    if revisions:
        trigger["revisions"] = revisions
    payload = json.dumps(
        {
            "trigger": trigger,
            "variables": _variables(entry, call.input.get("variables", [])),
            "pipelineVersion": version_of(entry),
        },
        sort_keys=True,
    )
    token = call.input.get("clientRequestToken")
    name = str(uuid.uuid5(_TOKENS, f"{entry.name}\0{token}")) if token else str(uuid.uuid4())
    workflows = wiring.workflows()
    if token:
        try:
            earlier = workflows.describe(execution_arn(entry.state_machine_arn, name))
        except ExecutionNotFound:
            earlier = None
        if earlier is not None:
            if _input(earlier) != json.loads(payload):
                raise AwsError(
                    "ConflictException",
                    f"clientRequestToken '{token}' already started execution {name} with other parameters",
                )
            return {"pipelineExecutionId": name}
    workflows.start(entry.state_machine_arn, name, payload)
    return {"pipelineExecutionId": name}


def _input(described: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded = json.loads(str(described.get("input") or "{}"))
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def described_execution(entry: RegisteredPipeline, execution_id: str) -> dict[str, Any]:
    try:
        return dict(wiring.workflows().describe(execution_arn(entry.state_machine_arn, execution_id)))
    except ExecutionNotFound:
        raise execution_not_found(entry.name, execution_id) from None


def trigger_of(described: dict[str, Any]) -> dict[str, str]:
    """How the execution started, in CodePipeline's TriggerType words (the triggers' own names,
    stepline.triggers.starting; a git hook's push on this machine is reported as WebhookV2)."""
    trigger = _input(described).get("trigger") or {}
    given = str(trigger.get("type") or "StartPipelineExecution")
    kind = _TRIGGER_TYPES.get(given, given if given in _MODEL_TRIGGER_TYPES else "StartPipelineExecution")
    detail = str(trigger.get("eventId") or given)
    return {"triggerType": kind, "triggerDetail": detail[:1024]}


def execution_version(entry: RegisteredPipeline, described: dict[str, Any]) -> int:
    recorded = _input(described).get("pipelineVersion")
    return recorded if isinstance(recorded, int) and recorded >= 1 else version_of(entry)


def source_revisions(run: PipelineRun) -> list[dict[str, str]]:
    revisions = []
    for action in run.actions:
        for namespace in action.variables.values():
            if isinstance(namespace, dict) and namespace.get("CommitId"):
                revision = {"actionName": action.name, "revisionId": str(namespace["CommitId"])}
                if namespace.get("CommitMessage"):
                    revision["revisionSummary"] = str(namespace["CommitMessage"])[:2048]
                revisions.append(revision)
    return revisions


@operation("GetPipelineExecution")
def get_pipeline_execution(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["pipelineName"])
    execution_id = call.input["pipelineExecutionId"]
    described = described_execution(entry, execution_id)
    run = run_of(entry, wiring.workflows(), str(described["executionArn"]))
    given = _input(described).get("variables") or {}
    declared = {v["name"]: v.get("defaultValue") for v in entry.declaration.get("variables", [])}
    resolved = {**{k: v for k, v in declared.items() if v is not None}, **given}
    failure = run.failure()
    execution = {
        "pipelineName": entry.name,
        "pipelineVersion": execution_version(entry, described),
        "pipelineExecutionId": execution_id,
        "status": run_status(str(described["status"])),
        "statusSummary": failure.line[:2048] if failure else None,
        "artifactRevisions": [
            {"name": revision["actionName"], "revisionId": revision["revisionId"]} for revision in source_revisions(run)
        ],
        "variables": [{"name": name, "resolvedValue": str(value)} for name, value in resolved.items()],
        "trigger": trigger_of(described),
        "executionMode": entry.declaration.get("executionMode", "SUPERSEDED"),
        "executionType": "STANDARD",
    }
    return {"pipelineExecution": execution}


def _summary(entry: RegisteredPipeline, listed: dict[str, Any], now: datetime) -> dict[str, Any]:
    stopped = listed.get("stopDate")
    described = dict(wiring.workflows().describe(str(listed["executionArn"])))
    return {
        "pipelineExecutionId": listed["name"],
        "status": run_status(str(listed["status"])),
        "startTime": listed["startDate"],
        "lastUpdateTime": stopped if isinstance(stopped, datetime) else now,
        "trigger": trigger_of(described),
        "sourceRevisions": requested_revisions(described),
        "executionMode": entry.declaration.get("executionMode", "SUPERSEDED"),
        "executionType": "STANDARD",
    }


def requested_revisions(described: dict[str, Any]) -> list[dict[str, str]]:
    """The commits the trigger (a push, or sourceRevisions) asked each source action for."""
    revisions = (_input(described).get("trigger") or {}).get("revisions") or {}
    return [
        {"actionName": action, "revisionId": str(revision["commitId"])}
        for action, revision in revisions.items()
        if isinstance(revision, dict) and revision.get("commitId")
    ]


@operation("ListPipelineExecutions")
def list_pipeline_executions(call: Call) -> dict[str, Any]:
    entry = entry_of(call.input["pipelineName"])
    position = page_position(call.input.get("nextToken"))
    size = call.input.get("maxResults") or DEFAULT_PAGE
    offset = int(position) if position.isdigit() else 0
    listed = wiring.workflows().executions(entry.state_machine_arn, limit=min(offset + size + 1, _LISTED_AT_MOST))
    page = listed[offset : offset + size]
    summaries = [_summary(entry, dict(execution), call.now) for execution in page]
    more = len(listed) > offset + size
    return {"pipelineExecutionSummaries": summaries, "nextToken": page_token(str(offset + size)) if more else None}
