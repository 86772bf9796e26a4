"""A build's log read as CodeBuild's console reads it: phases with status and duration, commands."""

from __future__ import annotations

from pathlib import Path

from stepline.buildlog import PhaseClock, parse_line, phase_header, phases
from tests.unit.test_buildspec_runner import build

LOG = [
    "[Container] 2026/05/01 12:00:00.000000 Entering phase INSTALL",
    "[Container] 2026/05/01 12:00:00.100000 Running command pip install -q .",
    "[Container] 2026/05/01 12:00:02.500000 Phase complete: INSTALL State: SUCCEEDED",
    "[Container] 2026/05/01 12:00:02.600000 Entering phase BUILD",
    "[Container] 2026/05/01 12:00:02.700000 Running command pytest -q",
    "F.",
    "1 failed, 1 passed",
    "[Container] 2026/05/01 12:00:07 Command did not exit successfully pytest -q exit status 1",
    "[Container] 2026/05/01 12:01:17.600000 Phase complete: BUILD State: FAILED",
]


def test_a_log_is_read_as_phases_with_status_duration_and_commands() -> None:
    # Given a log as the runner writes it (one stamp without microseconds, as on a BSD date)
    # When it is read as phases
    read = phases(LOG)
    # Then each phase has its status, its duration from its stamps, its commands and its output
    assert [(p.name, p.status, p.duration) for p in read] == [
        ("INSTALL", "SUCCEEDED", 2.5),
        ("BUILD", "FAILED", 75.0),
    ]
    assert read[1].commands == ["pytest -q"]
    assert [line.kind for line in read[1].lines] == [
        "enter",
        "command",
        "output",
        "output",
        "command-failed",
        "complete",
    ]
    assert [phase_header(p) for p in read] == ["INSTALL · SUCCEEDED · 2.5s", "BUILD · FAILED · 1m15s"]


def test_a_running_phase_has_no_duration_and_lines_before_any_phase_keep_their_own_group() -> None:
    # Given a log cut while BUILD runs, with a line before the first phase
    # When it is read
    read = phases(["setting up", *LOG[3:6]])
    # Then the early line is kept apart and the running phase says so, with no duration yet
    assert [(p.name, p.status, p.duration) for p in read] == [("", "IN_PROGRESS", None), ("BUILD", "IN_PROGRESS", None)]
    assert phase_header(read[1]) == "BUILD · IN_PROGRESS"


def test_a_stream_learns_each_phase_duration_as_it_completes() -> None:
    # Given lines arriving one at a time
    clock = PhaseClock()
    completed = [done for _, done in (clock.add(line) for line in LOG)]
    # Then only the completion lines hand back their phase, with its duration
    assert [(p.name, p.duration) for p in completed if p] == [("INSTALL", 2.5), ("BUILD", 75.0)]
    # And a line that only looks stamped is output
    assert parse_line("[Container] soon").kind == "output"


def test_the_runner_writes_microsecond_stamps_the_reader_understands(tmp_path: Path) -> None:
    # Given a real build of two phases, run by the local runner in bash
    spec = 'version: 0.2\nphases:\n  install:\n    commands: ["true"]\n  build:\n    commands: ["sleep 0.2"]\n'
    result = build(tmp_path, spec)
    # When its log is read
    read = phases(result.log.read_text().splitlines())
    # Then both phases are there, succeeded, BUILD lasting at least the sleep; the stamps carry microseconds
    assert [(p.name, p.status) for p in read] == [("INSTALL", "SUCCEEDED"), ("BUILD", "SUCCEEDED")]
    assert read[1].duration is not None
    assert read[1].duration >= 0.2
    assert all(line.at is not None for line in read[1].lines)
    assert read[1].lines[0].text.split(" ")[2].count(".") == 1
