"""The one way the CLI speaks: results on stdout, for people (``say``) or programs (``emit``);
warnings and refusals on stderr as ``stepline: …`` lines; tables and colours through one rich
console, loaded only by the commands that draw (``stepline run``, ``executions``, ``show``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

PROGRAM = "stepline"
# A pipeline's and an action's status, as the tables colour it.
COLOURS = {
    "Succeeded": "green",
    "Failed": "red",
    "InProgress": "yellow",
    "Pending": "dim",
    "Abandoned": "magenta",
    "Stopped": "magenta",
}


def say(text: str = "", *, flush: bool = False) -> None:
    """A line of a result, for a person."""
    print(text, flush=flush)


def emit(document: Any) -> None:
    """A result for a program: JSON, indented, on stdout."""
    print(json.dumps(document, indent=2))


def aside(text: str) -> None:
    """A remark beside a result written elsewhere (``compile -o``), on stderr: stdout stays the result."""
    print(text, file=sys.stderr)


def note(text: str, *, flush: bool = False) -> None:
    """What the command is doing (``stepline: serving on …``), on stdout beside its results."""
    print(f"{PROGRAM}: {text}", flush=flush)


def warn(text: str) -> None:
    """Accepted, but worth knowing: said on stdout with the result it concerns."""
    print(f"{PROGRAM}: warning: {text}")


def refuse(text: str) -> None:
    """Why the command stopped, in one line on stderr."""
    print(f"{PROGRAM}: {text}", file=sys.stderr)


def problems(source: str, found: Sequence[Any], stream: TextIO | None = None) -> None:
    """A definition's problems: a heading naming the file and the count, then one per line."""
    out = stream or sys.stdout
    errors = [p for p in found if getattr(p, "severity", "error") == "error"]
    print(f"{source}: invalid — {len(errors)} error{'s' if len(errors) != 1 else ''}", file=out)
    for problem in found:
        print(f"  {problem.severity.value}: {getattr(problem, 'described', problem)}", file=out)


def console() -> Console:
    """The console tables and live views draw on: plain text, nothing read as markup."""
    from rich.console import Console

    return Console(highlight=False, markup=False)


def status(text: str) -> Text:
    """A status in its colour."""
    from rich.text import Text

    return Text(text, style=COLOURS.get(text, ""))
