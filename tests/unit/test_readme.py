"""README's examples are true: each `$ .venv/bin/stepline …` transcript is run and must print
what README shows (and exit as it says), and every other `stepline …` command README gives is
one the command line accepts."""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from stepline.cli.main import _parser
from tests.helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"^```sh\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def transcripts() -> list[tuple[str, str]]:
    """(command, output) for each `$ ` line in README's sh blocks, continuation lines joined."""
    found = []
    for block in SHELL_BLOCKS:
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            if not lines[index].startswith("$ "):
                index += 1
                continue
            command = lines[index][2:]
            while command.endswith("\\"):
                index += 1
                command = command[:-1] + lines[index].strip()
            output = []
            index += 1
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            found.append((command, "\n".join(output)))
    return found


def commands() -> list[str]:
    """Every other `stepline …` line README gives, without its comment; synopses (with [ ] or …) left out."""
    found = []
    for block in SHELL_BLOCKS:
        for line in block.splitlines():
            text = shlex.join(shlex.split(line, comments=True)) if line.startswith("stepline ") else ""
            if text and "[" not in text and "…" not in text:
                found.append(text)
    return found


def test_readme_has_examples_to_check() -> None:
    assert len(transcripts()) >= 5
    assert len(commands()) >= 10


@pytest.mark.parametrize(
    ("command", "output"), transcripts(), ids=lambda value: value.split()[2] if " " in value else ""
)
def test_a_readme_transcript_prints_what_readme_shows(tmp_path: Path, command: str, output: str) -> None:
    # Given README's command, run from a folder holding the repository's examples
    (tmp_path / "examples").symlink_to(REPO / "examples")
    argv = shlex.split(command)
    assert argv[0] == ".venv/bin/stepline"
    # When it runs
    ran = subprocess.run(
        [sys.executable, "-m", "stepline", *argv[1:]], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    # Then it prints exactly what README shows, and a refusal exits 2 as README says
    printed = (ran.stdout + ran.stderr).rstrip("\n")
    assert printed == output
    assert ran.returncode == (2 if ": invalid —" in output else 0)


@pytest.mark.parametrize("command", commands())
def test_a_readme_command_is_one_the_command_line_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # Given a folder with a data directory holding an engine database (as after stepline run)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STEPLINE_DATA", raising=False)
    (tmp_path / ".stepline").mkdir()
    sqlite3.connect(tmp_path / ".stepline" / "engine.sqlite").close()
    words = {"EXECUTION": "e-1", "STAGE": "Approve", "ACTION": "Release", "PIPELINE": "p.yaml"}
    argv = [words.get(word, word) for word in shlex.split(command)[1:]]
    # When the parser reads it, Then it is accepted as written (argparse exits on anything unknown)
    args = _parser().parse_args(argv)
    assert callable(args.handler)
