"""Parts of the console's execution page beyond the stages themselves: who decided an approval
and what they wrote, an action's output variables, the history table (duration, commit,
trigger), the stages of a pipeline that never ran, and the controls (Release change).
Every value escaped; plain HTML and CSS, laid out for a desktop and a 390 px phone."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from stepline.api.console_pages import badge, path, when
from stepline.status import ActionRun, StageRun, format_duration, run_status
from stepline.triggers.starting import TRIGGER_NAMES

if TYPE_CHECKING:
    from stepline.ports.approvals import Approval
    from stepline.ports.pipelines import RegisteredPipeline
    from stepline.ports.workflows import Workflows

PARTS_STYLE = """
.stages{align-items:stretch}.arrow{align-self:center;color:#57606a;font-size:1.4rem;flex:0 0 auto}
.vars{margin:.3rem 0 0;font-size:.8em;display:grid;grid-template-columns:auto 1fr;gap:0 .4rem}
.vars dt{color:#57606a}.vars dd{margin:0;overflow-wrap:anywhere}
.decision{font-size:.85em;margin:.3rem 0 0}.decision q{font-style:italic}
.controls{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}.controls form{margin:0}
.btn{font:inherit;border-radius:6px;padding:.35rem .9rem;border:1px solid #1f883d;background:#1f883d;color:#fff;
cursor:pointer}.btn.secondary{background:#f6f8fa;color:#24292f;border-color:#d0d7de}
.btn.danger{background:#fff;color:#cf222e;border-color:#cf222e}.stop{display:flex;flex-wrap:wrap;gap:.4rem}
.stop input{font:inherit;padding:.3rem;border:1px solid #d0d7de;border-radius:6px;min-width:0;flex:1 1 8rem}
.table-wrap{max-width:100%;overflow-x:auto}.history code{font-size:.85em}
@media (max-width:40rem){.stages{flex-direction:column}.arrow{transform:rotate(90deg)}
.stage{flex-basis:auto}.history .opt{display:none}main{padding:.6rem}}
"""

ARROW = '<div class="arrow" aria-hidden="true">→</div>'


def decision(approval: Approval | None) -> str:
    """``Approved by Grace: “ship it”`` under an approval action, once it is decided."""
    if approval is None or approval.status == "Pending":
        return ""
    said = f": <q>{escape(approval.comment)}</q>" if approval.comment else ""
    at = f" at {escape(when(approval.decided_at))}" if approval.decided_at else ""
    who = f"<b>{escape(approval.decided_by)}</b>"
    return f'<p class="decision">{escape(approval.status)} by {who}{at}{said}</p>'


def variables(action: ActionRun) -> str:
    """An action's output variables, namespace.key = value (only what it produced)."""
    rows = [f"<dt>{escape(key)}</dt><dd>{escape(str(value))}</dd>" for key, value in action.outputs()]
    return f'<dl class="vars">{"".join(rows)}</dl>' if rows else ""


@dataclass(frozen=True)
class HistoryRow:
    name: str
    status: str
    started: float | None
    ended: float | None
    commit: str
    trigger: str


def _seconds(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) if isinstance(value, int | float) else None


def history_rows(
    workflows: Workflows, entry: RegisteredPipeline, known: Mapping[str, str], limit: int = 25
) -> list[HistoryRow]:
    """The newest executions, each with its commit and what started it, from its input; a
    start with no commit in it (Release change takes the branch head) shows the commit
    ``known`` gives (the shown execution's, read from its history), else none."""
    rows = []
    for listed in workflows.executions(entry.state_machine_arn, limit=limit):
        described = workflows.describe(str(listed["executionArn"]))
        try:
            given = json.loads(str(described.get("input") or "{}"))
        except ValueError:
            given = {}
        trigger = given.get("trigger") if isinstance(given, dict) else None
        trigger = trigger if isinstance(trigger, dict) else {}
        revisions = trigger.get("revisions")
        revisions = revisions if isinstance(revisions, dict) else {}
        commit = next((str(r["commitId"]) for r in revisions.values() if isinstance(r, dict) and r.get("commitId")), "")
        commit = commit or known.get(str(listed["name"]), "")
        kind = str(trigger.get("type") or "")
        rows.append(
            HistoryRow(
                name=str(listed["name"]),
                status=run_status(str(listed.get("status"))),
                started=_seconds(listed.get("startDate")),
                ended=_seconds(listed.get("stopDate")),
                commit=commit,
                trigger=TRIGGER_NAMES.get(kind, kind),
            )
        )
    return rows


def history_table(rows: Sequence[HistoryRow], base: str, pipeline: str, now: float) -> str:
    lines = []
    for row in rows:
        link = f'<a href="{escape(base)}/pipelines/{path(pipeline)}/executions/{path(row.name)}">{escape(row.name)}</a>'
        took = format_duration((row.ended or now) - row.started) if row.started is not None else ""
        lines.append(
            f'<tr><td>{link}</td><td>{badge(row.status)}</td><td class="opt">{escape(when(row.started))}</td>'
            f"<td>{escape(took)}</td><td><code>{escape(row.commit[:8])}</code></td>"
            f'<td class="opt">{escape(row.trigger)}</td></tr>'
        )
    head = (
        '<tr><th>Execution</th><th>Status</th><th class="opt">Started</th><th>Duration</th><th>Commit</th>'
        '<th class="opt">Trigger</th></tr>'
    )
    return f'<h2>History</h2><div class="table-wrap"><table class="history">{head}{"".join(lines)}</table></div>'


def pending_stages(entry: RegisteredPipeline) -> list[StageRun]:
    """A pipeline that never ran, drawn as its stages and actions, every one Pending."""
    by_stage: dict[str, list[ActionRun]] = {stage.name: [] for stage in entry.pipeline.stages}
    for state in entry.actions:
        by_stage.setdefault(state.stage, []).append(ActionRun(state.stage, state.action, state.type, state.run_order))
    return [StageRun(name, actions) for name, actions in by_stage.items()]


def stop_buttons(base: str, pipeline: str, execution: str, csrf: str) -> str:
    """Stop and wait (running actions finish, nothing new starts) or Abandon (stopped now)."""
    action = f"{base}/pipelines/{path(pipeline)}/executions/{path(execution)}/stop"
    return (
        f'<form method="post" action="{escape(action)}" class="stop">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<input name="reason" maxlength="200" placeholder="Why stop (optional)" aria-label="Why stop">'
        '<button class="btn secondary" name="how" value="wait">Stop and wait</button>'
        '<button class="btn danger" name="how" value="abandon">Abandon</button></form>'
    )


def controls(base: str, pipeline: str, csrf: str, running: str = "") -> str:
    """The pipeline's levers: Release change starts an execution of the source's latest change;
    ``running`` (an execution in progress) adds its Stop buttons."""
    release = (
        f'<form method="post" action="{escape(base)}/pipelines/{path(pipeline)}/release">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button class="btn" type="submit">Release change</button></form>'
    )
    metrics = f'<a class="btn secondary" href="{escape(base)}/pipelines/{path(pipeline)}/metrics">Metrics</a>'
    stop = stop_buttons(base, pipeline, running, csrf) if running else ""
    return f'<div class="controls">{release}{metrics}{stop}</div>'
