"""An execution read back as a pipeline run: stages and actions with status, times, outputs.

Step Functions' execution history (the embedded engine keeps the same events) is the one
record of what happened; ``ActionState`` from the compiler says which Task state is which
action and which state records its failure. The CLI's live view and summary, ``stepline
show``, the web console and its JSON all draw from ``read_run``.

A failure is read for people here, once: an action's cause is its message, whoever produced
it — a ``SendTaskFailure`` cause as it is, the ``errorMessage`` of Lambda's error JSON (an
unhandled exception, in-process or on Lambda, whose ``stackTrace`` is never shown), the
nested execution's error for a ``startExecution`` task, the action's timeout for
``States.Timeout`` — so every surface says ``Failure.line`` and none parses causes itself.
The error's name is kept as raised: it is the contract ``Retry`` and ``Catch`` match on.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from stepline.actions.errors import action_error_names
from stepline.compiler.asl import ActionState
from stepline.files import action_log_path, logs_folder
from stepline.ports.pipelines import RegisteredPipeline
from stepline.ports.workflows import Workflows

ActionStatus = Literal["Pending", "InProgress", "Succeeded", "Failed", "Abandoned"]
RunStatus = Literal["InProgress", "Stopping", "Stopped", "Succeeded", "Superseded", "Failed", "Cancelled"]
# Run control's ends (stepline.control): the execution fails with these errors on the orchestrator.
_CONTROL_STATUS: dict[str, RunStatus] = {"Superseded": "Superseded", "Stopped": "Stopped"}

_EXECUTION_STATUS: dict[str, RunStatus] = {
    "RUNNING": "InProgress",
    "SUCCEEDED": "Succeeded",
    "FAILED": "Failed",
    "TIMED_OUT": "Failed",
    "ABORTED": "Stopped",
}
TAIL_LINES = 20  # how much of a failed action's log is shown beside its failure
_TAIL_BYTES = 64 * 1024  # read from a log's end: a log may be gigabytes
_TAIL_LINE_CHARACTERS = 500  # a minified line is cut, not drawn over a whole screen
_LINE_CHARACTERS = 1_000  # a failure's line; the cause in full stays in the action's ``cause``
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")  # colours, cursor moves


@dataclass(frozen=True)
class Failure:
    """What failed and why, for people: no JSON, no stack trace."""

    action: str  # Stage.Action; "" when the execution failed outside any action
    error: str  # the error's name as raised: what Retry and Catch match on
    message: str
    unexpected: bool = False  # not an action's own failure: a bug whose traceback is in the server's log

    @property
    def detail(self) -> str:
        """The error and its cause in one line, for a place that already names the action."""
        message = " ".join(self.message.split()) or "no cause given"
        if len(message) > _LINE_CHARACTERS:
            message = message[: _LINE_CHARACTERS - 1] + "…"
        note = " (unexpected: its traceback is in the server's log)" if self.unexpected else ""
        return f"{self.error or 'failed'} — {message}{note}"

    @property
    def line(self) -> str:
        """``Build.Test failed: BuildFailedError — phase BUILD failed: `pytest -q` exited with status 1``"""
        return f"{f'{self.action} failed' if self.action else 'the pipeline failed'}: {self.detail}"


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
    cause: str = ""  # for people: see ``readable_cause``
    unexpected: bool = False
    artifacts: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.stage}.{self.name}"

    def duration(self, now: float) -> float | None:
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else now) - self.started

    def outputs(self) -> list[tuple[str, Any]]:
        """The variables the action produced, (key, value), across its namespace."""
        return [
            (key, value)
            for namespace in self.variables.values()
            if isinstance(namespace, dict)
            for key, value in namespace.items()
        ]

    def failure(self) -> Failure | None:
        if self.status != "Failed":
            return None
        return Failure(self.key, self.error, self.cause, self.unexpected)


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

    def failure(self) -> Failure | None:
        """Why the run failed: its failed action's failure, or the execution's own error."""
        action = self.failed_action()
        if action is not None:
            return action.failure()
        if self.status == "Failed":
            return Failure("", self.error, self.cause)
        return None


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


def readable_cause(error: str, cause: str, action: str = "", timeout_minutes: int | None = None) -> tuple[str, bool]:
    """A task's cause as people read it, and whether it is unexpected (see the module's doc).

    ``action`` (Stage.Action) is cut from the front of a message that starts with it: the
    line names the action already.
    """
    if error == "States.Timeout":
        within = f" of {timeout_minutes} minutes" if timeout_minutes else ""
        return f"the action did not finish within its timeout{within}", False
    unexpected = False
    structured = _json(cause)
    if isinstance(structured.get("errorMessage"), str):  # Lambda's error JSON: an unhandled exception
        cause = structured["errorMessage"]
        unexpected = str(structured.get("errorType") or error) not in action_error_names()
    elif isinstance(structured.get("executionArn", structured.get("ExecutionArn")), str):
        cause = _nested_execution(structured)
    cause = cause.strip()
    if action and cause.startswith(f"{action}: "):
        cause = cause.removeprefix(f"{action}: ")
    return cause, unexpected


def _nested_execution(described: Mapping[str, Any]) -> str:
    """A startExecution.sync task's cause: the child's description (camelCase here, PascalCase on AWS)."""

    def value(name: str) -> str:
        return str(described.get(name) or described.get(name[0].upper() + name[1:]) or "")

    child_error = value("error")
    message, _ = readable_cause(child_error, value("cause"))
    name = value("executionArn").rsplit(":", 1)[-1]
    return f"the nested execution {name} ended {value('status') or 'FAILED'}: " + " — ".join(
        part for part in (child_error, message) if part
    )


def local_log(data: Path, pipeline: str, execution: str, action: str) -> Path:
    """Where a build on this machine writes an action's log (``actions/build/local.py``)."""
    return action_log_path(logs_folder(data), pipeline, execution, action)


def log_tail(log: Path | None, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a log, read from its end, without colours or control
    characters, long lines cut; [] when there is no log."""
    if log is None:
        return []
    try:
        with log.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            chunk = handle.read()
    except OSError:
        return []
    kept = chunk.decode("utf-8", errors="replace").splitlines()
    if size > _TAIL_BYTES:
        kept = kept[1:]  # the first line read is probably cut
    tail = [_CONTROL.sub("", line.expandtabs()) for line in kept[-lines:]]
    return [line if len(line) <= _TAIL_LINE_CHARACTERS else line[: _TAIL_LINE_CHARACTERS - 1] + "…" for line in tail]


def read_run(
    pipeline: str,
    stage_order: Sequence[str],
    actions: Iterable[ActionState],
    described: Mapping[str, Any],
    events: Iterable[Mapping[str, Any]],
) -> PipelineRun:
    """The run as the history tells it. ``stage_order`` lists the declaration's stages."""
    states = list(actions)
    runs = {state.state: ActionRun(state.stage, state.action, state.type, state.run_order) for state in states}
    failures = {state.failure_state: (runs[state.state], state.timeout_minutes) for state in states}
    for event in events:
        kind = str(event.get("type", ""))
        when = _seconds(event["timestamp"])
        if kind.endswith("StateEntered"):
            _entered(event.get("stateEnteredEventDetails", {}), when, runs, failures)
        elif kind.endswith("StateExited"):
            _exited(event.get("stateExitedEventDetails", {}), when, runs)
    status = _EXECUTION_STATUS.get(str(described.get("status")), "InProgress")
    if status == "Failed":
        failed_first = next((run for run in runs.values() if run.status == "Failed"), None)
        control_error = failed_first.error if failed_first is not None else str(described.get("error") or "")
        status = _CONTROL_STATUS.get(control_error, status)
    stopped = described.get("stopDate")
    ended = _seconds(stopped) if stopped is not None else None
    if status != "InProgress":
        for run in runs.values():
            if run.status == "InProgress":  # the execution ended around it (stopped, or a sibling failed)
                run.status, run.ended = "Abandoned", ended
    by_stage: dict[str, list[ActionRun]] = {name: [] for name in stage_order}
    for run in runs.values():
        by_stage.setdefault(run.stage, []).append(run)
    failed_action = next((run for run in runs.values() if run.status == "Failed"), None)
    error = str(described.get("error") or "")
    cause = failed_action.cause if failed_action is not None else _execution_cause(described, error)
    return PipelineRun(
        pipeline=pipeline,
        execution_name=str(described.get("name", "")),
        execution_arn=str(described.get("executionArn", "")),
        status=status,
        started=_seconds(described["startDate"]),
        ended=ended,
        stages=[StageRun(name, actions) for name, actions in by_stage.items()],
        error=error,
        cause=cause,
        trigger=dict(_json(described.get("input")).get("trigger") or {}),
    )


def _entered(
    details: Mapping[str, Any],
    when: float,
    runs: dict[str, ActionRun],
    failures: dict[str, tuple[ActionRun, int | None]],
) -> None:
    """An action's Task entered (it started), or its failure state entered (it failed)."""
    name = details.get("name", "")
    if name in runs and (runs[name].started is None or runs[name].status == "Failed"):
        # (entered again after failing: its stage is retried, onFailure RETRY)
        run = runs[name]
        run.started, run.status, run.ended, run.error, run.cause = when, "InProgress", None, "", ""
    elif name in failures:
        failed, minutes = failures[name]
        error = _json(details.get("input")).get("error", {})
        failed.status, failed.ended = "Failed", when
        failed.error = str(error.get("Error", "")) if isinstance(error, dict) else ""
        raw = str(error.get("Cause") or "") if isinstance(error, dict) else ""
        failed.cause, failed.unexpected = readable_cause(failed.error, raw, failed.key, minutes)


def _exited(details: Mapping[str, Any], when: float, runs: dict[str, ActionRun]) -> None:
    """An action's Task exited: it succeeded, with its artifacts and variables."""
    run = runs.get(details.get("name", ""))
    output = _json(details.get("output"))
    # A caught failure also exits the Task, with the state it was given and $.error:
    # no output of the action's; the failure state that follows records it.
    if run is not None and run.status == "InProgress" and "error" not in output:
        # A single action's Task writes to $.outcome; one in a parallel group is its branch's output.
        outcome = output.get("outcome", output)
        run.artifacts = dict(outcome.get("artifacts") or {})
        run.variables = dict(outcome.get("variables") or {})
        run.status, run.ended = "Succeeded", when


def _execution_cause(described: Mapping[str, Any], error: str) -> str:
    """Why an execution failed outside any action, readable."""
    recorded = _json(described.get("cause")).get("detail")
    detail = recorded if isinstance(recorded, dict) else {}
    cause, _ = readable_cause(
        str(detail.get("Error") or error), str(detail.get("Cause") or described.get("cause") or "")
    )
    return cause


def run_of(entry: RegisteredPipeline, workflows: Workflows, execution_arn: str) -> PipelineRun:
    """The run of one execution of a registered pipeline, read through the Workflows port."""
    return read_run(
        entry.name,
        [stage.name for stage in entry.pipeline.stages],
        entry.actions,
        workflows.describe(execution_arn),
        workflows.history(execution_arn),
    )
