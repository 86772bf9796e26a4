"""Test/Custom/WordCount/1: the words of the input artifact's files matching ``Pattern``
(default ``*.md``), written as ``counts.txt`` to the output artifact and returned as the
variable ``Words``; more than ``MaximumWords`` fails the action.

A Stepline action plugin is any object with these attributes and a ``run`` method, named by an
entry point in the ``stepline.actions`` group (see pyproject.toml). ``run`` gets a ``PluginRun``:
the resolved configuration, each input artifact unpacked in a folder, an empty folder per
output artifact, and the variables in scope; it returns the action's output variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepline.actions.errors import ActionError


class WordCount:
    category = "Test"
    provider = "WordCount"
    version = "1"
    required: frozenset[str] = frozenset()
    optional = frozenset({"Pattern", "MaximumWords"})
    inputs = (1, 1)
    outputs = (0, 1)

    def run(self, run: Any) -> Mapping[str, str]:
        [source] = run.inputs.values()
        pattern = run.configuration.get("Pattern", "*.md")
        counts = {
            str(path.relative_to(source)): len(path.read_text(encoding="utf-8", errors="replace").split())
            for path in sorted(source.rglob(pattern))
            if path.is_file()
        }
        total = sum(counts.values())
        for folder in run.outputs.values():
            lines = [f"{count}\t{name}" for name, count in counts.items()]
            (folder / "counts.txt").write_text("\n".join([*lines, f"{total}\ttotal"]) + "\n", encoding="utf-8")
        maximum = run.configuration.get("MaximumWords", "")
        if maximum.isdigit() and total > int(maximum):
            raise ActionError(f"{total} words in {pattern} files; the most allowed is {maximum}")
        return {"Words": str(total), "Files": str(len(counts))}


plugin = WordCount()
