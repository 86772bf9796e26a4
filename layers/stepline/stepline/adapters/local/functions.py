"""The user's functions on one machine: Python callables named ``module:callable`` or ``file.py:callable``."""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stepline.actions.errors import InvokedFunctionError
from stepline.errors import ConfigurationError

Handler = Callable[[Any, Any], Any]


def load_callable(target: str, label: str) -> Handler:
    """``package.module:name`` or ``path/to/file.py:name`` → the callable."""
    module_name, _, attribute = target.rpartition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{label}: write MODULE:CALLABLE, e.g. app.handlers:notify or hooks.py:notify")
    try:
        if module_name.endswith(".py"):
            location = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            if location is None or location.loader is None:
                raise ImportError(module_name)
            module = importlib.util.module_from_spec(location)
            location.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except (ImportError, OSError, SyntaxError) as error:
        raise ConfigurationError(f"{label}: cannot load {module_name}: {error}") from None
    handler: Handler | None = getattr(module, attribute, None)
    if not callable(handler):
        raise ConfigurationError(f"{label}: {module_name} has no callable {attribute!r}")
    return handler


class LocalFunctionInvoker:
    def __init__(self, functions: Mapping[str, Handler]) -> None:
        self.functions = dict(functions)

    def invoke(self, function: str, payload: Mapping[str, object]) -> object:
        handler = self.functions.get(function)
        if handler is None:
            known = ", ".join(sorted(self.functions)) or "none"
            raise ConfigurationError(
                f"no local function {function!r} (known: {known}; map one with STEPLINE_FUNCTIONS)"
            )
        try:
            result = handler(json.loads(json.dumps(payload)), None)
        except Exception as error:
            raise InvokedFunctionError(f"{function} failed: {type(error).__name__}: {error}") from error
        return json.loads(json.dumps(result))
