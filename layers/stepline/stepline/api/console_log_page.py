"""The console's page for one action's build log, as CodeBuild's console shows a build: a table
of phases (status, duration), then each phase's lines under a header that says the same, each
command echoed in bold, each stamped line's time in a column of its own. While the action runs
the page tails the log (``console.js`` asks for what was appended every second) and a link
leads back to the execution. Every value is escaped; the lines are shown as text."""

from __future__ import annotations

from html import escape

from stepline.api.console_pages import badge, document, when
from stepline.buildlog import LogLine, Phase, phase_header, phases
from stepline.status import format_duration

LOG_STYLE = """
.log{background:#0d1117;color:#e6edf3;border-radius:6px;padding:.5rem .7rem;font:12.5px/1.5 ui-monospace,monospace;
overflow-wrap:anywhere;white-space:pre-wrap;margin:0}.log .t{color:#7d8590;margin-right:.6rem}
.log .c{color:#79c0ff;font-weight:600}.log .x{color:#ff7b72;font-weight:600}.log .p{color:#d2a8ff}
details.phase{margin:.5rem 0}details.phase>summary{cursor:pointer;font-weight:600;padding:.3rem 0}
.back{display:inline-block;margin:.2rem 0 .6rem}.phases td,.phases th{font-size:.9em}
.phase-FAILED>summary{color:#cf222e}.phase-SUCCEEDED>summary{color:#1a7f37}.phase-IN_PROGRESS>summary{color:#9a6700}
"""
_KIND_CLASS = {"command": "c", "command-failed": "x", "enter": "p", "complete": "p"}


def _line(line: LogLine) -> str:
    stamp = f'<span class="t">{escape(when(line.at)[11:19])}</span>' if line.at is not None else ""
    kind = _KIND_CLASS.get(line.kind)
    text = escape(line.message if line.at is not None else line.text)
    return stamp + (f'<span class="{kind}">{text}</span>' if kind else text)


def _phase(phase: Phase, last: bool) -> str:
    body = "\n".join(_line(line) for line in phase.lines)
    opened = " open" if last or phase.status != "SUCCEEDED" else ""
    title = escape(phase_header(phase)) if phase.name else "Before the first phase"
    return (
        f'<details class="phase phase-{escape(phase.status)}"{opened}><summary>{title}</summary>'
        f'<pre class="log">{body}</pre></details>'
    )


def _table(read: list[Phase]) -> str:
    rows = "".join(
        f"<tr><td>{escape(p.name)}</td><td>{escape(p.status)}</td><td>{escape(format_duration(p.duration))}</td>"
        f"<td>{escape(when(p.started))}</td></tr>"
        for p in read
        if p.name
    )
    if not rows:
        return ""
    return (
        f'<table class="phases"><tr><th>Phase</th><th>Status</th><th>Duration</th><th>Started</th></tr>{rows}</table>'
    )


def log_page(
    *,
    title: str,
    status: str,
    text: str,
    offset: int,
    base: str,
    back: str,
    tail_url: str,
    raw_url: str,
    cut: bool,
) -> str:
    """``text`` is the log (its last part when ``cut``); ``offset`` is where it ends in the file,
    from where the live tail goes on while ``status`` is InProgress."""
    read = phases(text.splitlines())
    running = status == "InProgress"
    note = '<p class="meta">The log is long: this is its end. The raw log has all of it.</p>' if cut else ""
    sections = "".join(_phase(phase, index == len(read) - 1) for index, phase in enumerate(read))
    live = (
        f'<p class="meta" id="live">Following the log as it grows…</p><pre class="log" id="tail" '
        f'data-tail="{escape(tail_url)}" data-offset="{offset}"></pre><script src="{escape(base)}/console.js"></script>'
        if running
        else ""
    )
    body = (
        f'<a class="back" href="{escape(back)}">← Back to the execution</a>'
        f"<h1>{escape(title)} {badge(status)}</h1>"
        f'<p class="meta"><a href="{escape(raw_url)}">Raw log</a></p>{note}{_table(read)}'
        f"{sections or '<p>Nothing logged yet.</p>'}{live}"
    )
    return document(title, body, base, extra_style=LOG_STYLE)
