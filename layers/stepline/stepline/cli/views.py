"""What ``stepline run``, ``show`` and ``executions`` draw: a run as a live table with its
build logs, as lines for pipes and CI, and its summary — rich, loaded when one of them runs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from stepline.buildlog import PhaseClock
from stepline.cli import render
from stepline.status import ActionRun, PipelineRun, format_duration, local_log, log_tail, run_status

if TYPE_CHECKING:
    from stepline.ports.approvals import Approval

LOG_LINES = 8


class LineView:
    """What a live table shows, as lines: for logs, pipes and CI. Each log line is prefixed
    with its action's name, so parallel actions' logs stay apart; a phase's completion line
    says how long the phase took (stepline.buildlog)."""

    def __init__(self, console: Console, data: Path, *, quiet: bool) -> None:
        self.console, self.data, self.quiet = console, data, quiet
        self.seen: dict[str, str] = {}
        self.log_offsets: dict[Path, int] = {}
        self.clocks: dict[Path, PhaseClock] = {}

    def update(self, run: PipelineRun) -> None:
        for action in run.actions:
            changed = self.seen.get(action.key) != action.status and action.status != "Pending"
            if changed and action.status == "InProgress":
                self._said(action)
            if not self.quiet:
                self._stream_log(action.key, log_path(self.data, run, action))
            if changed and action.status != "InProgress":
                self._said(action)

    def _said(self, action: ActionRun) -> None:
        self.seen[action.key] = action.status
        took = format_duration(action.duration(time.time())) if action.status != "InProgress" else ""
        self.console.print(
            Text.assemble(f"{action.key} ", render.status(action.status), f" {took}".rstrip()), soft_wrap=True
        )

    def _stream_log(self, key: str, log: Path) -> None:
        if not log.exists():
            return
        with log.open("rb") as handle:
            handle.seek(self.log_offsets.get(log, 0))
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.log_offsets[log] = self.log_offsets.get(log, 0) + len(complete)
        clock = self.clocks.setdefault(log, PhaseClock())
        for line in complete.decode("utf-8", errors="replace").splitlines():
            _, phase = clock.add(line)
            took = f" ({format_duration(phase.duration)})" if phase is not None and phase.duration is not None else ""
            self.console.print(Text(f"{key} │ {line}{took}", style="dim"), soft_wrap=True)


def _actions_table(run: PipelineRun, now: float, detailed: bool) -> Table:
    table = Table(title=f"{run.pipeline} · {run.execution_name}", title_justify="left")
    for column in ("Stage", "Action", "Status", "Duration"):
        table.add_column(column)
    if detailed:
        table.add_column("Artifacts")
        table.add_column("Variables")
    for stage in run.stages:
        for index, action in enumerate(stage.actions):
            cells: list[Any] = [
                stage.name if index == 0 else "",
                action.name,
                render.status(action.status),
                format_duration(action.duration(now)),
            ]
            if detailed:
                cells += [", ".join(action.artifacts), ", ".join(_variable_names(action))]
            table.add_row(*cells)
    return table


def _variable_names(action: ActionRun) -> list[str]:
    return [key for key, _ in action.outputs()]


def _variables(action: ActionRun) -> str:
    pairs = [f"{key}={value}" for key, value in action.outputs()]
    return " ".join(pair if len(pair) <= 120 else pair[:119] + "…" for pair in pairs)


def log_path(data: Path, run: PipelineRun, action: ActionRun) -> Path:
    """Where a local build writes the action's log (actions/build/local.py)."""
    return local_log(data, run.pipeline, run.execution_name, action.key)


def live_view(run: PipelineRun, data: Path, *, quiet: bool) -> Group:
    parts: list[Any] = [_actions_table(run, time.time(), detailed=False)]
    if not quiet:
        for action in run.actions:
            log = log_path(data, run, action)
            if action.status == "InProgress" and log.exists():
                lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_LINES:]
                parts.append(Text(f"── {action.stage}.{action.name} ──", style="bold"))
                parts.append(Text("\n".join(lines), style="dim"))
    return Group(*parts)


def print_summary(
    run: PipelineRun, console: Console, data: Path, approvals: Mapping[str, Approval] | None = None
) -> None:
    """The run's table, its outputs in full, its status and commit, who decided its approvals
    (``approvals``, from ``decided``) and what failed."""
    now = time.time()
    console.print(_actions_table(run, now, detailed=True))  # a table wraps its own cells
    # The values in full beneath the table, where a path or a commit message is not cut short.
    for action in run.actions:
        if _variables(action):
            console.print(Text.assemble((f"{action.stage}.{action.name} ", "bold"), _variables(action)), soft_wrap=True)
    commit, message = run.commit()
    duration = format_duration((run.ended or now) - run.started)
    console.print(Text.assemble("pipeline ", render.status(run.status), f" in {duration}"), soft_wrap=True)
    if commit:
        console.print(f"commit {commit[:12]} {message}".rstrip(), soft_wrap=True)
    for key, approval in (approvals or {}).items():
        said = f": {approval.comment}" if approval.comment else ""
        console.print(f"{key} {approval.status.lower()} by {approval.decided_by}{said}", soft_wrap=True)
    _print_failure(run, console, data)
    console.print(
        f"logs and artifacts are under {data}/ · stepline show {run.execution_name} --data {data}", soft_wrap=True
    )


def decided(run: PipelineRun) -> dict[str, Approval]:
    """Who decided the run's approvals, and what they wrote (from the approvals store of the
    runtime in use: asked while it is open)."""
    from stepline import wiring
    from stepline.actions.approval import decisions

    asked = [(a.stage, a.name) for a in run.actions if a.type.startswith("Approval/") and a.status != "Pending"]
    found = decisions(run.pipeline, run.execution_name, asked, wiring.approvals())
    return {key: approval for key, approval in found.items() if approval.status != "Pending"}


def _print_failure(run: PipelineRun, console: Console, data: Path) -> None:
    """What failed in one line, then the last lines of its log and where the log is."""
    failure = run.failure()
    if failure is None:
        return
    console.print(Text(failure.line, style="red"), soft_wrap=True)
    failed = run.failed_action()
    log = log_path(data, run, failed) if failed is not None else None
    if log is None or not log.is_file():
        return
    for line in log_tail(log):
        console.print(Text(f"  │ {line}", style="dim"), soft_wrap=True)
    console.print(f"log: {log}", soft_wrap=True)


def executions_table(listed: list[dict[str, Any]]) -> Table:
    table = Table()
    for column in ("Pipeline", "Execution", "Status", "Started", "Duration"):
        # Names fold onto a second line rather than end in "…": what is shown can be given to show.
        table.add_column(column, overflow="fold")
    for execution in listed:
        started = execution["startDate"].timestamp()
        stopped = execution.get("stopDate")
        duration = format_duration((stopped.timestamp() if stopped else time.time()) - started)
        table.add_row(
            execution["pipeline"],
            execution["name"],
            render.status(run_status(execution["status"])),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            duration,
        )
    return table
