"""Loading a function's handler the way Lambda does: functions/<name>/app.py, by file path."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.helpers import REPO


def load_handler(function: str) -> ModuleType:
    path = REPO / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"stepline_function_{function}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
