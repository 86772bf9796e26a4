"""The console's delivery metrics of a pipeline (stepline.metrics): a page with the four
numbers and a small inline SVG chart of each day's deployments and failures, and the same as
JSON for scripts (``stepline metrics`` reads it from a server). ``?since=`` takes what
``stepline metrics --since`` takes (7d, 12h, a date); the default is the last 30 days."""

from __future__ import annotations

from html import escape
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from stepline import wiring
from stepline.api import console
from stepline.api.console_pages import document, path, when
from stepline.api.pages import SECURITY_HEADERS
from stepline.api.problems import ApiProblem
from stepline.api.requests import require_bearer
from stepline.metrics import Day, Metrics, compute, numbers, read_deliveries, window_start

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
DEFAULT_WINDOW = "30d"
WINDOWS = ("7d", "30d", "90d")
_STYLE = """
.numbers{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.6rem;margin:.8rem 0}
.number{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6rem}
.number b{font-size:1.5rem;display:block}.number small{color:#57606a}
.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.5rem}
.chart svg{width:100%;height:8rem;display:block}.windows a{margin-right:.6rem}
.back{display:inline-block;margin:.2rem 0 .6rem}
"""


def _metrics(name: str, *, page: bool) -> Metrics:
    entry = console._pipeline(name, page=page)
    given = console.router.current_event.get_query_string_value("since", DEFAULT_WINDOW) or DEFAULT_WINDOW
    now = wiring.now()
    try:
        since = window_start(given, now)
    except ValueError as error:
        raise ApiProblem(400, "Bad window", str(error), page=page) from None
    return compute(entry.name, read_deliveries(entry, wiring.workflows(), since), since, now)


@router.get("/pipelines/<name>/metrics")
def metrics_page(name: str) -> Response[str]:
    console._signed_in()
    metrics = _metrics(name, page=True)
    return Response(200, content_types.TEXT_HTML, render(metrics, console._base()), SECURITY_HEADERS)


@router.get("/api/pipelines/<name>/metrics")
def metrics_json(name: str) -> dict[str, Any]:
    require_bearer(console.router.current_event, wiring.api_token())
    return _metrics(name, page=False).as_json()


def _number(title: str, value: str, note: str) -> str:
    return (
        f'<div class="number"><small>{escape(title)}</small><b>{escape(value)}</b><small>{escape(note)}</small></div>'
    )


def chart(days: list[Day]) -> str:
    """Each day a bar: deployments in green, failures stacked on them in red; a title per bar."""
    if not days:
        return ""
    tallest = max([d.succeeded + d.failed for d in days] + [1])
    width, height = 10, 60
    bars = []
    for index, day in enumerate(days):
        x = index * width + 1
        ok = day.succeeded / tallest * (height - 2)
        bad = day.failed / tallest * (height - 2)
        title = f"<title>{escape(day.day)}: {day.succeeded} succeeded, {day.failed} failed</title>"
        bars.append(
            f'<g>{title}<rect x="{x}" y="{height - ok:.1f}" width="{width - 2}" height="{ok:.1f}" fill="#1a7f37"/>'
            f'<rect x="{x}" y="{height - ok - bad:.1f}" width="{width - 2}" height="{bad:.1f}" fill="#cf222e"/></g>'
        )
    first, last = escape(days[0].day), escape(days[-1].day)
    return (
        f'<div class="chart"><svg viewBox="0 0 {len(days) * width} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="deployments (green) and failures (red) per day, {first} to {last}">{"".join(bars)}</svg>'
        f'<p class="meta">{first} – {last} · green: deployments, red: failures</p></div>'
    )


def render(metrics: Metrics, base: str) -> str:
    name = metrics.pipeline
    windows = " ".join(
        f'<a href="{escape(base)}/pipelines/{path(name)}/metrics?since={window}">last {window}</a>'
        for window in WINDOWS
    )
    body = (
        f'<a class="back" href="{escape(base)}/pipelines/{path(name)}">← Back to {escape(name)}</a>'
        f"<h1>{escape(name)} · delivery metrics</h1>"
        f'<p class="meta">{escape(when(metrics.since))} to {escape(when(metrics.until))}</p>'
        f'<p class="windows">{windows}</p>'
        f'<div class="numbers">{"".join(_number(*n) for n in numbers(metrics))}</div>{chart(metrics.days)}'
    )
    return document(f"{name} metrics", body, base, extra_style=_STYLE)
