"""Where a problem is in the file a person wrote: the stage's and action's names instead of
only ``stages[1].actions[0]``, and the line. Lines come from composing the file's text as YAML
(JSON is YAML too, for this): each node keeps where it started. Pure: text in, names out."""

from __future__ import annotations

import re
from typing import Any

import yaml

from stepline.definition.problems import Problem

COMPOSE_LIMIT = 1024 * 1024  # a larger file's problems get names without lines: composing it is slow
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _PART.findall(path)]


def _names(document: Any, parts: list[str | int]) -> list[str]:
    """``stage Build``, ``action Image``: the named stages and actions the path passes through."""
    found, value = [], document
    for position, part in enumerate(parts):
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
            kind = {"stages": "stage", "actions": "action"}.get(str(parts[position - 1]) if position else "")
            if kind and isinstance(value, dict) and isinstance(value.get("name"), str):
                found.append(f"{kind} {value['name']}")
        else:
            break
    return found


def _line(root: yaml.Node | None, parts: list[str | int]) -> int | None:
    """The line (1-based) of the deepest node the path reaches; None when it reaches none past
    the document itself (a field left out, whose default the problem is about)."""
    node, reached = root, None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        reached = node
    return reached.start_mark.line + 1 if reached is not None else None


def located(problems: list[Problem], document: Any, text: str) -> list[Problem]:
    """The problems, each with the names of its stage and action and its line in ``text``."""
    if not problems:
        return problems
    root = None
    if len(text) <= COMPOSE_LIMIT:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except (yaml.YAMLError, RecursionError):
            root = None  # not readable as YAML (or nested past the stack): names without lines
    placed = []
    for problem in problems:
        parts = _parts(problem.path)
        names = _names(document, parts)
        line = _line(root, parts) if parts else None
        where = ", ".join([*names, *([f"line {line}"] if line else [])])
        placed.append(problem.placed(where) if where else problem)
    return placed
