"""Problems found in a pipeline definition, each with the path to what is wrong."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from stepline.errors import InvalidInput


class Severity(StrEnum):
    ERROR = "error"
    # Accepted, but Stepline does not act on it yet: the run will differ from CodePipeline's.
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``path`` locates it in the document, ``message`` says what is wrong."""

    path: str
    message: str
    severity: Severity = Severity.ERROR
    # Where a person finds it in the file: "stage Build, action Image, line 17" (definition.locate).
    where: str = ""

    def __str__(self) -> str:
        path = self.path or "(document)"
        return f"{path}: {self.message}"

    @property
    def described(self) -> str:
        """What a person reads: the path and message, then where it is in the file, if known."""
        return f"{self}  [{self.where}]" if self.where else str(self)

    def under(self, prefix: str) -> Problem:
        """The same problem seen from a document that nests the declaration under ``prefix``."""
        path = f"{prefix}.{self.path}" if self.path else prefix
        return Problem(path, self.message, self.severity, self.where)

    def placed(self, where: str) -> Problem:
        return Problem(self.path, self.message, self.severity, where)

    def to_dict(self) -> dict[str, str]:
        found = {"path": self.path, "message": self.message, "severity": self.severity.value}
        return found | ({"where": self.where} if self.where else {})


def format_path(location: Iterable[str | int]) -> str:
    """``("stages", 1, "actions", 0, "name")`` → ``stages[1].actions[0].name``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def warning(path: str, message: str) -> Problem:
    return Problem(path, message, Severity.WARNING)


def did_you_mean(name: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` when one candidate is close to ``name``; else nothing."""
    guesses = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {guesses[0]!r}?)" if guesses else ""


def errors_in(problems: Iterable[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity is Severity.ERROR]


class DefinitionError(InvalidInput):
    """A pipeline definition that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {problem.described}" for problem in self.problems)
        super().__init__(f"{source}: the pipeline definition is not valid:\n{lines}")
