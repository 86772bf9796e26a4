"""Pipeline, stage and action state changes in CodePipeline's EventBridge shape, read from an
execution's history (the one record of what happened, on either runtime).

The shape is the one AWS documents for ``source: aws.codepipeline`` ("Monitoring CodePipeline
events"): detail-types "CodePipeline Pipeline|Stage|Action Execution State Change"; ``detail``
holds ``pipeline``, ``execution-id``, ``state``, ``version`` (the pipeline's structure version),
``execution-trigger`` on a pipeline's STARTED, ``stage``, and for actions ``action``, ``region``
and ``type``. States: STARTED, SUCCEEDED, FAILED, STOPPED, SUPERSEDED and CANCELED (stage and
action), ABANDONED (action). Each event's id is derived from the execution and its place in
the sequence, so an event published twice (delivery is at least once) is recognisably the same.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from stepline.compiler import compile_checked, iter_states
from stepline.ports.pipelines import RegisteredPipeline

PIPELINE = "CodePipeline Pipeline Execution State Change"
STAGE = "CodePipeline Stage Execution State Change"
ACTION = "CodePipeline Action Execution State Change"
SOURCE = "aws.codepipeline"
_ENDS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}


@lru_cache(maxsize=64)
def _gates(declaration: str) -> dict[str, str]:
    """Gate state name → the stage it enters, from the compiled definition."""
    entry = RegisteredPipeline.model_validate_json(declaration)
    gates = {}
    for name, state in _named_states(compile_checked(entry.pipeline).definition):
        payload = state.get("Parameters", {}).get("Payload", {}) if state.get("Type") == "Task" else {}
        if isinstance(payload, dict) and payload.get("operation") == "enter":
            gates[name] = str(payload["stage"])
    return gates


def _named_states(definition: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    yield from definition.get("States", {}).items()
    for state in iter_states(definition):
        for branch in state.get("Branches", []):
            yield from branch.get("States", {}).items()


class _Emitter:
    def __init__(self, entry: RegisteredPipeline, described: Mapping[str, Any]) -> None:
        self.entry = entry
        arn = str(described["executionArn"])
        parts = arn.split(":")
        self.region, self.account = parts[3], parts[4]
        self.execution = str(described.get("name") or parts[-1])
        self.arn = arn
        self.version = entry.pipeline.version
        self.events: list[dict[str, Any]] = []

    def emit(self, kind: str, when: Any, state: str, **detail: Any) -> None:
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.arn}#{len(self.events)}")
        self.events.append(
            {
                "version": "0",
                "id": str(event_id),
                "detail-type": kind,
                "source": SOURCE,
                "account": self.account,
                "time": _time(when),
                "region": self.region,
                "resources": [f"arn:aws:codepipeline:{self.region}:{self.account}:{self.entry.name}"],
                "detail": {
                    "pipeline": self.entry.name,
                    "execution-id": self.execution,
                    **detail,
                    "state": state,
                    "version": self.version,
                },
            }
        )


def _time(when: Any) -> str:
    moment = when if isinstance(when, datetime) else datetime.fromtimestamp(float(when), UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def state_changes(
    entry: RegisteredPipeline, described: Mapping[str, Any], history: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every state change the history shows so far, in order."""
    emitter = _Emitter(entry, described)
    gates = _gates(entry.model_dump_json())
    actions = {state.state: state for state in entry.actions}
    failures = {state.failure_state: state for state in entry.actions}
    types = {
        (stage.name, action.name): action.action_type_id for stage in entry.pipeline.stages for action in stage.actions
    }
    running: dict[str, Any] = {}  # action state name → its ActionState, while it runs
    stage: str | None = None
    stage_failed = False
    for event in history:
        kind, when = str(event.get("type", "")), event.get("timestamp")
        if kind == "ExecutionStarted":
            trigger = json.loads(str(described.get("input") or "{}")).get("trigger") or {}
            started_by = {"trigger-type": str(trigger.get("type") or "StartPipelineExecution"), "trigger-detail": ""}
            emitter.emit(PIPELINE, when, "STARTED", **{"execution-trigger": started_by})
        elif kind == "TaskStateEntered" and event["stateEnteredEventDetails"]["name"] in gates:
            if stage is not None:  # the stage before is done: the execution is in the transition
                emitter.emit(STAGE, when, "SUCCEEDED", stage=stage)
            stage = None
        elif kind == "TaskStateExited" and event["stateExitedEventDetails"]["name"] in gates:
            stage, stage_failed = gates[event["stateExitedEventDetails"]["name"]], False
            emitter.emit(STAGE, when, "STARTED", stage=stage)
        elif kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if name in actions:
                running[name] = actions[name]
                _action(emitter, when, "STARTED", actions[name], types)
            elif name in failures and running.pop(failures[name].state, None) is not None:
                stage_failed = True
                _action(emitter, when, "FAILED", failures[name], types)
        elif kind.endswith("StateExited") and event["stateExitedEventDetails"]["name"] in running:
            output = json.loads(event["stateExitedEventDetails"].get("output") or "{}")
            if "error" not in output:
                _action(emitter, when, "SUCCEEDED", running.pop(event["stateExitedEventDetails"]["name"]), types)
        elif kind in _ENDS:
            _end(emitter, when, kind, described, stage, stage_failed, list(running.values()), types)
    return emitter.events


def _action(emitter: _Emitter, when: Any, state: str, action: Any, types: Mapping[tuple[str, str], Any]) -> None:
    type_id = types[(action.stage, action.action)]
    emitter.emit(
        ACTION,
        when,
        state,
        stage=action.stage,
        action=action.action,
        region=emitter.region,
        type={
            "owner": type_id.owner.value,
            "provider": type_id.provider,
            "category": type_id.category.value,
            "version": type_id.version,
        },
    )


def _end(
    emitter: _Emitter,
    when: Any,
    kind: str,
    described: Mapping[str, Any],
    stage: str | None,
    stage_failed: bool,
    running: list[Any],
    types: Mapping[tuple[str, str], Any],
) -> None:
    """The execution's end: what still ran, the stage it was in, and the pipeline execution."""
    error = str(described.get("error") or "")
    if kind == "ExecutionSucceeded":
        stage_state, action_state, state = "SUCCEEDED", "", "SUCCEEDED"
    elif kind == "ExecutionAborted" or error == "Stopped":
        stage_state, action_state, state = "STOPPED", "ABANDONED", "STOPPED"
    elif error == "Superseded":
        stage_state, action_state, state = "CANCELED", "CANCELED", "SUPERSEDED"
    else:
        stage_state, action_state, state = "FAILED", "ABANDONED", "FAILED"
    for action in running:
        _action(emitter, when, action_state or "SUCCEEDED", action, types)
    if stage is not None:
        emitter.emit(STAGE, when, "FAILED" if stage_failed else stage_state, stage=stage)
    emitter.emit(PIPELINE, when, state)


def stopping(entry: RegisteredPipeline, described: Mapping[str, Any], reason: str, when: float) -> dict[str, Any]:
    """The pipeline's STOPPING event (a stop and wait asked), with CodePipeline's
    ``stop-execution-comments``; the history has no trace of it, so the lever sends it."""
    emitter = _Emitter(entry, described)
    emitter.emit(PIPELINE, when, "STOPPING", **{"stop-execution-comments": reason})
    event = emitter.events[0]
    event["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{emitter.arn}#stopping"))
    detail = event["detail"]
    event["detail"] = {key: detail[key] for key in ("pipeline", "execution-id", "state", "version")}
    event["detail"]["stop-execution-comments"] = reason
    return event
