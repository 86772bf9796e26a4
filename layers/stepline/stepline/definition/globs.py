"""Glob patterns as CodePipeline's trigger filters read them (Java's "glob" syntax).

``*`` matches within one path component, ``**`` across components, ``?`` one character
(not ``/``), ``[abc]``/``[!abc]``/``[a-z]`` one character of a set, ``{a,b}`` either
alternative, and ``\\`` escapes the next character. A pattern matches the whole name:
``src/*.py`` matches ``src/app.py`` but not ``src/lib/app.py``; ``src/**`` matches both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


class GlobError(ValueError):
    """A pattern that cannot be read: an unclosed ``[`` or ``{``, or a trailing ``\\``."""


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(_translate(pattern, 0, in_group=False)[0] + r"\Z", re.DOTALL)


def glob_match(pattern: str, name: str) -> bool:
    return compile_glob(pattern).match(name) is not None


def any_match(patterns: Iterable[str], name: str) -> bool:
    return any(glob_match(pattern, name) for pattern in patterns)


def _translate(pattern: str, start: int, *, in_group: bool) -> tuple[str, int]:
    """Regex for ``pattern[start:]``; inside ``{…}`` stops at the closing brace (returned index)."""
    out: list[str] = []
    i = start
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 == len(pattern):
                raise GlobError(f"{pattern!r}: a backslash at the end escapes nothing")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif char == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
            else:
                out.append("[^/]*")
                i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern.startswith(("[!", "[^"), i) else i + 1)
            if end == -1:
                raise GlobError(f"{pattern!r}: '[' at {i} is never closed")
            body = pattern[i + 1 : end]
            negate = body[:1] in {"!", "^"}
            body = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\^]" else c for c in body)
            out.append(f"[^/{escaped}]" if negate else f"[{escaped}]")
            i = end + 1
        elif char == "{":
            if in_group:
                raise GlobError(f"{pattern!r}: groups cannot nest ('{{' at {i})")
            alternatives, i = _group(pattern, i + 1)
            out.append("(?:" + "|".join(alternatives) + ")")
        elif in_group and char in ",}":
            return "".join(out), i
        else:
            out.append(re.escape(char))
            i += 1
    if in_group:
        raise GlobError(f"{pattern!r}: '{{' is never closed")
    return "".join(out), i


def _group(pattern: str, start: int) -> tuple[list[str], int]:
    alternatives = []
    i = start
    while True:
        part, i = _translate(pattern, i, in_group=True)
        alternatives.append(part)
        if pattern[i] == "}":
            return alternatives, i + 1
        i += 1  # past the comma
