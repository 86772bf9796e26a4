"""The console's page of one execution (or of a pipeline that never ran): its controls, its
stages left to right with arrows between them (top to bottom on a phone), within a stage the
actions that share a runOrder side by side, each with its status, duration, log, artifacts,
output variables, and for an approval who decided it and what they wrote; then the history.

A running execution's page refreshes itself every two seconds (a meta refresh: no script). A
failed execution says what failed in one line above its stages (``Failure.line``), and the
failed action's box holds the error, its cause and the last lines of its log, wrapped to the
box's width: long words (paths, hashes, minified lines) break anywhere rather than push the
box past its stage."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

from stepline.api.console_pages import badge, document, path, when
from stepline.api.console_parts import (
    ARROW,
    PARTS_STYLE,
    HistoryRow,
    controls,
    decision,
    history_table,
    variables,
)
from stepline.status import ActionRun, PipelineRun, StageRun, format_duration

if TYPE_CHECKING:
    from stepline.ports.approvals import Approval


@dataclass
class RunView:
    """What the page shows beside the run: ``reviews`` maps Stage.Action → its review link,
    ``logs`` names the actions with a log to link to, ``tail`` is the failed action's log's
    last lines, ``approvals`` the decided or pending approvals by Stage.Action, ``csrf`` the
    token the controls' forms carry."""

    history: Sequence[HistoryRow] = ()
    reviews: Mapping[str, str] = field(default_factory=dict)
    logs: set[str] = field(default_factory=set)
    tail: Sequence[str] = ()
    approvals: Mapping[str, Approval] = field(default_factory=dict)
    csrf: str = ""


def _header(run: PipelineRun, now: float) -> str:
    commit, message = run.commit()
    header = (
        f'<p class="meta">Execution <code>{escape(run.execution_name)}</code> {badge(run.status)} '
        f"started {escape(when(run.started))} · {escape(format_duration((run.ended or now) - run.started))}</p>"
    )
    if commit:
        header += f'<p class="meta">Commit <code>{escape(commit[:12])}</code> {escape(message)}</p>'
    failure = run.failure()
    if failure is not None:
        header += f'<p class="failure">{escape(failure.line)}</p>'
    return header


def run_page(pipeline: str, run: PipelineRun | None, stages: Sequence[StageRun], base: str, view: RunView) -> str:
    """An execution's page; with ``run`` None, the pipeline's stages before it ever ran."""
    now = time.time()
    where = f"{base}/pipelines/{path(pipeline)}/executions/{path(run.execution_name)}" if run else ""
    header = _header(run, now) if run else '<p class="meta">This pipeline has not run yet.</p>'
    running = run.execution_name if run is not None and run.status == "InProgress" else ""
    drawn = []
    for stage in stages:
        lanes = "".join(
            '<div class="lane">' + "".join(_action_box(action, where, now, view) for action in lane) + "</div>"
            for lane in stage.lanes()
        )
        drawn.append(
            f'<section class="stage s-{escape(stage.status)}" data-stage="{escape(stage.name)}">'
            f"<h2>{escape(stage.name)}</h2>{lanes}</section>"
        )
    body = (
        f"<h1>{escape(pipeline)}</h1>{controls(base, pipeline, view.csrf, running)}{header}"
        f'<div class="stages">{ARROW.join(drawn)}</div>'
        + (history_table(view.history, base, pipeline, now) if view.history else "")
    )
    return document(
        pipeline, body, base, refresh=run is not None and run.status == "InProgress", extra_style=PARTS_STYLE
    )


def _action_box(action: ActionRun, where: str, now: float, view: RunView) -> str:
    key = action.key
    parts = [
        f"<strong>{escape(action.name)}</strong>",
        f"<small>{escape(action.type)}</small>",
        f"<small>{escape(action.status)} {escape(format_duration(action.duration(now)))}</small>",
    ]
    links = []
    if key in view.logs:
        links.append(f'<a href="{escape(where)}/logs/{path(key)}">log</a>')
    for artifact in action.artifacts:
        links.append(f'<a href="{escape(where)}/artifacts/{path(artifact)}">{escape(artifact)}</a>')
    if key in view.reviews:
        links.append(f'<a class="review" href="{escape(view.reviews[key])}">Review</a>')
    if links:
        parts.append("<small>" + " · ".join(links) + "</small>")
    parts.append(variables(action))
    parts.append(decision(view.approvals.get(key)))
    failure = action.failure()
    if failure is not None:
        parts.append(f'<p class="error">{escape(failure.detail)}</p>')
        if view.tail:
            parts.append(f'<pre class="tail">{escape(chr(10).join(view.tail))}</pre>')
    return f'<div class="action s-{escape(action.status)}" data-action="{escape(key)}">{"".join(parts)}</div>'
