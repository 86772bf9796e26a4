"""moto's JSONata bridge, served by jsonatapy.

moto's Step Functions interpreter (LocalStack's) evaluates JSONata — and reads workflow
variables, which it declares into a JSONata expression — through a bridge to a JVM that moto
ships stubbed out: every JSONata state and every ``$name`` read fails with "'NoneType' object
is not callable". ``plug`` serves the bridge with jsonatapy, the engine's own JSONata, so
moto can run definitions that use variables or JSONata.
"""

from __future__ import annotations

from typing import Any

import jsonatapy
import pytest
from moto.stepfunctions.parser.asl.jsonata import jsonata as bridge


def evaluate(expression: str) -> Any:
    """The bridge's one call: an expression with its variables declared in it; undefined is None.

    A compiled expression must be dropped on the thread that compiled it (jsonatapy), so no
    error raised here keeps it alive in a traceback that another thread drops.
    """
    compiled = jsonatapy.compile(expression)
    try:
        return compiled.evaluate(None)
    except ValueError as error:
        message = str(error)
    finally:
        del compiled
    raise ValueError(message)


def plug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge, "_eval_jsonata", evaluate)
