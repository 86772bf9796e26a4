"""Task answers for the embedded engine: what SendTaskSuccess/Failure are on AWS. Safe to call
from the HTTP server's thread; the engine serialises them under its own lock."""

from __future__ import annotations

import json
from collections.abc import Mapping

from stepline.engine import Engine


class EngineCallbacks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def succeed(self, token: str, output: Mapping[str, object]) -> None:
        self.engine.send_task_success(token, json.dumps(output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.engine.send_task_failure(token, error, cause)
