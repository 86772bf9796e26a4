"""The console's build logs: a page per action (phases, commands, times; tailing while the action
runs), the raw text for scripts (``?format=text``), what was appended after an offset (the page's
script asks every second), and that script. Signed in as every console page is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from stepline.api import console
from stepline.api.console_log_page import log_page
from stepline.api.console_pages import log_link
from stepline.api.pages import SECURITY_HEADERS
from stepline.api.problems import ApiProblem
from stepline.status import ActionRun

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
PAGE_BYTES = 512 * 1024  # a page shows a log's last half megabyte; the raw log has all of it
TAIL_BYTES = 256 * 1024  # one answer to the live tail carries at most this much
SCRIPT = (Path(__file__).parent / "static" / "console.js").read_text(encoding="utf-8")
# The log page runs one script, ours, and asks only us for more of the log.
SCRIPTED_HEADERS = SECURITY_HEADERS | {
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';"
    )
}


def _action_and_log(name: str, execution: str, action: str, *, page: bool = True) -> tuple[str, ActionRun, Path]:
    """The action's console link, its run and its log file; 404 when any is missing."""
    console._signed_in()
    run = console._run(console._pipeline(name, page=page), execution, page=page)
    found = next((a for a in run.actions if a.key == action), None)
    if found is None:
        raise ApiProblem(404, "No such action", f"{name} has no action {action!r}", page=page)
    log = console._log_file(name, execution, action)
    if log is None:
        raise ApiProblem(
            404, "No log", f"{action} has no log here (on AWS, CodeBuild keeps it in CloudWatch)", page=page
        )
    return log_link(console._base(), run, action), found, log


def _read(log: Path, offset: int, limit: int, *, whole_lines: bool) -> tuple[str, int]:
    """The log from ``offset`` (at most ``limit`` bytes), and where what was read ends. With
    ``whole_lines`` a line still being written is left for the next read."""
    with log.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read(limit)
    if whole_lines and b"\n" in chunk:
        chunk = chunk[: chunk.rfind(b"\n") + 1]
    elif whole_lines and len(chunk) < limit:
        chunk = b""  # a line begun, not finished
    return chunk.decode("utf-8", errors="replace"), offset + len(chunk)


@router.get("/pipelines/<name>/executions/<execution>/logs/<action>")
def action_log(name: str, execution: str, action: str) -> Response[str]:
    link, found, log = _action_and_log(name, execution, action)
    if console.router.current_event.get_query_string_value("format", "") == "text":
        raw = log.read_text(encoding="utf-8", errors="replace")
        return Response(200, "text/plain; charset=utf-8", raw, SECURITY_HEADERS)
    start = max(0, os.path.getsize(log) - PAGE_BYTES)
    text, end = _read(log, start, PAGE_BYTES, whole_lines=found.status == "InProgress")
    if start:
        text = text.split("\n", 1)[-1]  # the first line read is probably cut
    html = log_page(
        title=f"{action} log",
        status=found.status,
        text=text,
        offset=end,
        base=console._base(),
        back=link.rsplit("/logs/", 1)[0],
        tail_url=f"{link}/tail",
        raw_url=f"{link}?format=text",
        cut=start > 0,
    )
    return Response(200, content_types.TEXT_HTML, html, SCRIPTED_HEADERS)


@router.get("/pipelines/<name>/executions/<execution>/logs/<action>/tail")
def action_log_tail(name: str, execution: str, action: str) -> dict[str, Any]:
    """What the log holds after ``offset``; ``running`` says whether to ask again."""
    _, found, log = _action_and_log(name, execution, action, page=False)
    given = console.router.current_event.get_query_string_value("offset", "0") or "0"
    if not given.isdigit():
        raise ApiProblem(400, "Bad offset", f"offset must be a byte count, not {given!r}")
    offset = min(int(given), os.path.getsize(log))
    text, end = _read(log, offset, TAIL_BYTES, whole_lines=True)
    return {"text": text, "offset": end, "running": found.status == "InProgress"}


@router.get("/console.js")
def script() -> Response[str]:
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(200, "text/javascript; charset=utf-8", SCRIPT, headers)
