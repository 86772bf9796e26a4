"""The web console's pages: plain HTML and CSS, every value escaped, readable on a phone.

Stages run left to right (wrapping on a narrow screen); within a stage, actions that share a
runOrder sit side by side in one lane, lanes in run order. A page of a running execution
refreshes itself every two seconds (a meta refresh: no script needed). A failed execution
says what failed in one line above its stages (``Failure.line``), and the failed action's box
holds the error, its cause and the last lines of its log, wrapped to the box's width: long
words (paths, hashes, minified lines) break anywhere rather than push the box past its stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from stepline.status import PipelineRun

_STYLE = """
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.6rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:1rem;max-width:80rem;margin:auto}h1{font-size:1.4rem;margin:.2rem 0 .6rem}
h2{font-size:1rem;margin:0 0 .5rem}a{color:#0969da}code{font-size:.9em}
table{border-collapse:collapse;width:100%;background:#fff}td,th{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid #d0d7de}.meta{color:#57606a;margin:.2rem 0}
.stages{display:flex;flex-wrap:wrap;gap:.8rem;align-items:flex-start;margin:1rem 0}
.stage{background:#fff;border:1px solid #d0d7de;border-top:4px solid #8c959f;border-radius:6px;padding:.6rem;
min-width:14rem;flex:1 1 14rem}.lane{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:.5rem}
.action{border:1px solid #8c959f;border-left:6px solid #8c959f;border-radius:4px;padding:.4rem .5rem;
flex:1 1 11rem;min-width:0;background:#f6f8fa}.action strong{display:block}
.action small{color:#57606a;display:block}.stage,.action,.meta,.failure{overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:.85em;font-weight:600;
background:#eaeef2}.error{color:#cf222e;white-space:pre-wrap;font-size:.85em;margin:.3rem 0 0}
.failure{color:#cf222e;font-weight:600;margin:.4rem 0}
.tail{font-size:.8em;background:#fff;border:1px solid #d0d7de;border-radius:4px;padding:.3rem .4rem;
margin:.3rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%}
.s-Succeeded{border-color:#1a7f37;background:#dafbe1}.s-Failed{border-color:#cf222e;background:#ffebe9}
.s-InProgress{border-color:#9a6700;background:#fff8c5}.s-Abandoned,.s-Stopped{border-color:#8250df;
background:#fbefff}.stage.s-Succeeded,.stage.s-Failed,.stage.s-InProgress,.stage.s-Abandoned{background:#fff}
"""


def document(title: str, body: str, base: str, *, refresh: bool = False, extra_style: str = "") -> str:
    reload = '<meta http-equiv="refresh" content="2">' if refresh else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Stepline</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{reload}'
        f"<style>{_STYLE}{extra_style}</style>"
        f'</head><body><header><a href="{escape(base)}/">Stepline</a></header><main>{body}</main></body></html>'
    )


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def badge(status: str) -> str:
    return f'<span class="badge s-{escape(status)}">{escape(status)}</span>'


def path(*parts: str) -> str:
    return "/".join(quote(part, safe="") for part in parts)


def pipelines_page(rows: Sequence[tuple[str, PipelineRun | None]], base: str) -> str:
    lines = []
    for name, latest in rows:
        link = f'<a href="{escape(base)}/pipelines/{path(name)}">{escape(name)}</a>'
        if latest is None:
            lines.append(f"<tr><td>{link}</td><td>never run</td><td></td><td></td></tr>")
            continue
        commit, message = latest.commit()
        lines.append(
            f"<tr><td>{link}</td><td>{badge(latest.status)}</td><td>{escape(when(latest.started))}</td>"
            f"<td><code>{escape(commit[:8])}</code> {escape(message)}</td></tr>"
        )
    table = (
        "<table><tr><th>Pipeline</th><th>Latest</th><th>Started</th><th>Commit</th></tr>" + "".join(lines) + "</table>"
        if lines
        else "<p>No pipelines yet: <code>stepline apply PIPELINE</code> registers one.</p>"
    )
    refresh = any(latest is not None and latest.status == "InProgress" for _, latest in rows)
    return document("Pipelines", f"<h1>Pipelines</h1>{table}", base, refresh=refresh)


def execution_path(base: str, run: PipelineRun) -> str:
    return f"{base}/pipelines/{path(run.pipeline)}/executions/{path(run.execution_name)}"


def log_link(base: str, run: PipelineRun, action: str) -> str:
    """The console's link to an action's log (a build on this machine)."""
    return f"{execution_path(base, run)}/logs/{path(action)}"


def login_page(base: str, problem: str = "") -> str:
    note = f'<p class="error">{escape(problem)}</p>' if problem else ""
    form = (
        f'<form method="post" action="{escape(base)}/login"><label>API token '
        '<input name="token" type="password" required autocomplete="current-password"></label> '
        "<button>Sign in</button></form>"
    )
    how = (
        "<p>Open a sign-in link: <code>stepline serve</code> prints one when it starts, and "
        "<code>stepline console</code> prints a new one (each works once). Or enter the API token.</p>"
    )
    return document("Sign in", f"<h1>Sign in</h1>{how}{note}{form}", base)
