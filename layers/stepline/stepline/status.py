"""An execution read back as a pipeline run: stages and actions with status, times, outputs.

Step Functions' execution history (the embedded engine keeps the same events) is the one
record of what happened; ``ActionState`` from the compiler says which Task state is which
action and which state records its failure. The CLI's live view and summary, ``stepline
show`` and the web console all draw from ``read_run``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from stepline.compiler.asl import ActionState
from stepline.ports import Workflows
from stepline.registry import RegisteredPipeline

ActionStatus = Literal["Pending", "InProgress", "Succeeded", "Failed", "Abandoned"]
RunStatus = Literal["InProgress", "Succeeded", "Failed", "Stopped"]

_EXECUTION_STATUS: dict[str, RunStatus] = {
    "RUNNING": "InProgress",
    "SUCCEEDED": "Succeeded",
    "FAILED": "Failed",
    "TIMED_OUT": "Failed",
    "ABORTED": "Stopped",
}


@dataclass
class ActionRun:
    stage: str
    name: str
    type: str
    run_order: int
    status: ActionStatus = "Pending"
    started: float | None = None
    ended: float | None = None
    error: str = ""
    cause: str = ""
    artifacts: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    def duration(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else now) - self.started


@dataclass
class StageRun:
    name: str
    actions: list[ActionRun]

    @property
    def status(self) -> ActionStatus:
        statuses = {action.status for action in self.actions}
        for status in ("Failed", "InProgress", "Abandoned"):
            if status in statuses:
                return status
        if statuses == {"Succeeded"}:
            return "Succeeded"
        return "InProgress" if "Succeeded" in statuses else "Pending"

    def lanes(self) -> list[list[ActionRun]]:
        """Actions grouped by runOrder, in the order they run."""
        orders = sorted({action.run_order for action in self.actions})
        return [[action for action in self.actions if action.run_order == order] for order in orders]


@dataclass
class PipelineRun:
    pipeline: str
    execution_name: str
    execution_arn: str
    status: RunStatus
    started: float
    ended: float | None
    stages: list[StageRun]
    error: str = ""
    cause: str = ""
    trigger: dict[str, Any] = field(default_factory=dict)

    @property
    def actions(self) -> list[ActionRun]:
        return [action for stage in self.stages for action in stage.actions]

    def commit(self) -> tuple[str, str]:
        """The commit the run built and its message, from the first source that says."""
        for action in self.actions:
            for namespace in action.variables.values():
                if isinstance(namespace, dict) and namespace.get("CommitId"):
                    return str(namespace["CommitId"]), str(namespace.get("CommitMessage", ""))
        for revision in self.trigger.get("revisions", {}).values():
            if isinstance(revision, dict) and revision.get("commitId"):
                return str(revision["commitId"]), ""
        return "", ""

    def failed_action(self) -> ActionRun | None:
        return next((action for action in self.actions if action.status == "Failed"), None)


def run_status(execution_status: str) -> str:
    """Step Functions' execution status in CodePipeline's words (RUNNING → InProgress)."""
    return _EXECUTION_STATUS.get(execution_status, execution_status)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _json(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def read_run(
    pipeline: str,
    stage_order: Sequence[str],
    actions: Iterable[ActionState],
    described: Mapping[str, Any],
    events: Iterable[Mapping[str, Any]],
) -> PipelineRun:
    """The run as the history tells it. ``stage_order`` lists the declaration's stages."""
    runs = {state.state: ActionRun(state.stage, state.action, state.type, state.run_order) for state in actions}
    failures = {state.failure_state: runs[state.state] for state in actions}
    for event in events:
        kind = str(event.get("type", ""))
        when = _seconds(event["timestamp"])
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails", {})
            name = details.get("name", "")
            if name in runs and runs[name].started is None:
                runs[name].started, runs[name].status = when, "InProgress"
            elif name in failures:
                failed = failures[name]
                error = _json(details.get("input")).get("error", {})
                failed.status, failed.ended = "Failed", when
                failed.error = str(error.get("Error", "")) if isinstance(error, dict) else ""
                failed.cause = str(error.get("Cause", "")) if isinstance(error, dict) else ""
        elif kind.endswith("StateExited"):
            details = event.get("stateExitedEventDetails", {})
            run = runs.get(details.get("name", ""))
            if run is not None and run.status == "InProgress":
                output = _json(details.get("output"))
                # A single action's Task writes to $.outcome; one in a parallel group is its branch's output.
                outcome = output.get("outcome", output)
                run.artifacts = dict(outcome.get("artifacts") or {})
                run.variables = dict(outcome.get("variables") or {})
                run.status, run.ended = "Succeeded", when
    status = _EXECUTION_STATUS.get(str(described.get("status")), "InProgress")
    stopped = described.get("stopDate")
    ended = _seconds(stopped) if stopped is not None else None
    if status != "InProgress":
        for run in runs.values():
            if run.status == "InProgress":  # the execution ended around it (stopped, or a sibling failed)
                run.status, run.ended = "Abandoned", ended
    by_stage: dict[str, list[ActionRun]] = {name: [] for name in stage_order}
    for run in runs.values():
        by_stage.setdefault(run.stage, []).append(run)
    failure = _json(described.get("cause"))
    return PipelineRun(
        pipeline=pipeline,
        execution_name=str(described.get("name", "")),
        execution_arn=str(described.get("executionArn", "")),
        status=status,
        started=_seconds(described["startDate"]),
        ended=ended,
        stages=[StageRun(name, actions) for name, actions in by_stage.items()],
        error=str(described.get("error") or ""),
        cause=str(failure.get("detail", {}).get("Cause", "")) if failure else str(described.get("cause") or ""),
        trigger=dict(_json(described.get("input")).get("trigger") or {}),
    )


def run_of(entry: RegisteredPipeline, workflows: Workflows, execution_arn: str) -> PipelineRun:
    """The run of one execution of a registered pipeline, read through the Workflows port."""
    return read_run(
        entry.name,
        [stage.name for stage in entry.pipeline.stages],
        entry.actions,
        workflows.describe(execution_arn),
        workflows.history(execution_arn),
    )
