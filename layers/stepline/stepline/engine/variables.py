"""Workflow variables: what a state can read (``$name``), and ``Assign`` applied when it leaves.

Scopes follow Step Functions' developer guide ("Passing data between states with
variables"): the top-level states share one scope; each Parallel branch and Map iteration
runs in a scope of its own that reads the scopes around it but cannot assign their
variables (LocalStack's recordings: "Cannot bind value … as it belongs to an outer scope",
``States.Runtime``); what a branch or iteration assigns is gone when it ends. A Distributed
Map's child executions see no outer variables at all (they are separate executions).

A frame keeps its scope's variables in ``data["vars"]``, so they are written with the frame
in the same transaction as the state that assigned them. Every expression of a state reads
the values from when it entered: assignments take effect as it leaves, together.

Limits (same guide, "Variable size limits"): a variable's value is at most 256 KiB, one
Assign at most 256 KiB, all of an execution's variables at most 10 MiB; beyond that the
state fails with ``States.DataLimitExceeded``.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stepline.engine.bindings import NO_VARIABLES
from stepline.engine.errors import DATA_LIMIT_EXCEEDED, RUNTIME, StatesError
from stepline.engine.model import Frame
from stepline.engine.store import dumps

if TYPE_CHECKING:
    from stepline.engine.active import Active

MAX_VARIABLE_BYTES = 256 * 1024
MAX_ASSIGN_BYTES = 256 * 1024
MAX_EXECUTION_VARIABLES_BYTES = 10 * 1024 * 1024
SCOPE = "vars"  # the frame's data holding its scope's variables
SIZE = "vars_bytes"  # and their size as JSON


def visible(active: Active, frame: Frame) -> Mapping[str, Any]:
    """The variables ``frame``'s state can read: its own scope's, then each enclosing scope's."""
    scopes: list[dict[str, Any]] = []
    current: Frame | None = frame
    while current is not None:
        own = current.data.get(SCOPE)
        if own:
            scopes.append(own)
        current = active.frames.get(current.parent) if current.parent is not None else None
    if not scopes:
        return NO_VARIABLES
    return scopes[0] if len(scopes) == 1 else ChainMap(*scopes)


def assign(active: Active, frame: Frame, state_name: str, values: Any) -> dict[str, str]:
    """Bind ``values`` (the evaluated Assign) in ``frame``'s scope; what to show in StateExited."""
    if not isinstance(values, dict) or not values:
        return {}
    shown = {name: dumps(value) for name, value in values.items()}
    total = sum(len(text.encode()) for text in shown.values())
    for name, text in shown.items():
        if len(text.encode()) > MAX_VARIABLE_BYTES:
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The variable '{name}' assigned by state '{state_name}' exceeds the maximum size of "
                f"{MAX_VARIABLE_BYTES} bytes",
            )
    if total > MAX_ASSIGN_BYTES:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The variables assigned by state '{state_name}' exceed the maximum size of {MAX_ASSIGN_BYTES} bytes "
            "for one Assign",
        )
    outer = _outer(active, frame)
    for name in values:
        if name in outer:
            raise StatesError(
                RUNTIME,
                f"Cannot bind value '{shown[name]}' to variable '{name}' as it belongs to an outer scope.",
            )
    scope = dict(frame.data.get(SCOPE) or {})
    scope.update(values)
    size = len(dumps(scope))  # ASCII: characters are bytes
    if size + _others(active, frame) > MAX_EXECUTION_VARIABLES_BYTES:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The variables of the execution exceed the maximum total size of {MAX_EXECUTION_VARIABLES_BYTES} "
            f"bytes after state '{state_name}'",
        )
    frame.data[SCOPE] = scope
    frame.data[SIZE] = size
    return shown


def _outer(active: Active, frame: Frame) -> Mapping[str, Any]:
    parent = active.frames.get(frame.parent) if frame.parent is not None else None
    return visible(active, parent) if parent is not None else NO_VARIABLES


def _others(active: Active, frame: Frame) -> int:
    """The bytes the execution's other scopes hold (each frame keeps its scope's size)."""
    execution = active.executions.get(frame.execution)  # gone: it ended in this very step
    frames = execution.frames.values() if execution is not None else ()
    return sum(other.data.get(SIZE, 0) for other in frames if other.id != frame.id)
