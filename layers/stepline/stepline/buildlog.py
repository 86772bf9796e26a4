"""A build's log read the way CodeBuild's console reads it: phases with their status and
duration, each command that ran, and the time of every line the runner stamped.

The runner (``actions/build/runner.py``) writes CodeBuild's own lines, so a log reads the same
on both runtimes::

    [Container] 2026/05/01 12:00:00.123456 Entering phase BUILD
    [Container] 2026/05/01 12:00:00.124000 Running command pytest -q
    ...the command's output...
    [Container] 2026/05/01 12:00:03.500000 Phase complete: BUILD State: SUCCEEDED

``phases`` groups a whole log; ``PhaseClock`` does the same a line at a time for a stream (the
terminal's ``stepline run``), saying how long each phase took as it completes. Pure: no files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from stepline.status import format_duration

LineKind = Literal["output", "enter", "command", "command-failed", "complete", "stamp"]

_STAMPED = re.compile(r"^\[Container\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?) (.*)$")
_ENTER = re.compile(r"^Entering phase (\w+)$")
_COMPLETE = re.compile(r"^Phase complete: (\w+) State: (\w+)$")


@dataclass(frozen=True)
class LogLine:
    text: str  # the line as written
    kind: LineKind
    message: str  # the line without its "[Container] <time>" stamp
    at: float | None = None  # the stamp's time (UTC), for stamped lines
    phase: str = ""  # the phase a "enter" or "complete" line names
    state: str = ""  # a "complete" line's state: SUCCEEDED, FAILED


@dataclass
class Phase:
    """One phase of a build as its log tells it; ``name`` is "" for lines before any phase."""

    name: str
    started: float | None = None
    ended: float | None = None
    status: str = "IN_PROGRESS"  # SUCCEEDED, FAILED, or IN_PROGRESS until its completion line
    lines: list[LogLine] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def commands(self) -> list[str]:
        return [line.message.removeprefix("Running command ") for line in self.lines if line.kind == "command"]


def _time(stamp: str) -> float:
    layout = "%Y/%m/%d %H:%M:%S.%f" if "." in stamp else "%Y/%m/%d %H:%M:%S"
    return datetime.strptime(stamp, layout).replace(tzinfo=UTC).timestamp()


def parse_line(text: str) -> LogLine:
    """One line of a build's log, told apart: a phase entered or completed, a command, output."""
    stamped = _STAMPED.match(text)
    if stamped is None:
        return LogLine(text, "output", text)
    at, message = _time(stamped[1]), stamped[2]
    if entered := _ENTER.match(message):
        return LogLine(text, "enter", message, at, phase=entered[1])
    if completed := _COMPLETE.match(message):
        return LogLine(text, "complete", message, at, phase=completed[1], state=completed[2])
    if message.startswith("Running command "):
        return LogLine(text, "command", message, at)
    if message.startswith("Command did not exit successfully "):
        return LogLine(text, "command-failed", message, at)
    return LogLine(text, "stamp", message, at)


class PhaseClock:
    """Reads a log a line at a time and keeps its phases: what a stream needs to say how long
    each phase took when it completes."""

    def __init__(self) -> None:
        self.phases: list[Phase] = []

    def add(self, text: str) -> tuple[LogLine, Phase | None]:
        """The line told apart, and the phase it completed (None for any other line)."""
        line = parse_line(text)
        if line.kind == "enter" or not self.phases:
            self.phases.append(Phase(line.phase, started=line.at) if line.kind == "enter" else Phase(""))
        current = self.phases[-1]
        current.lines.append(line)
        if line.kind == "complete" and line.phase == current.name:
            current.status, current.ended = line.state, line.at
            return line, current
        return line, None


def phases(lines: Iterable[str]) -> list[Phase]:
    """A whole log's phases in the order they ran (lines before the first phase in one named "")."""
    clock = PhaseClock()
    for text in lines:
        clock.add(text)
    return clock.phases


def phase_header(phase: Phase) -> str:
    """``BUILD · SUCCEEDED · 3.4s``: what a phase's header says."""
    took = phase.duration
    return " · ".join(part for part in (phase.name, phase.status, format_duration(took)) if part)
