"""The one place Stepline sets up logging: JSON lines with a correlation id, secrets never logged.

Lambda handlers, the CLI and the local runtime all log through ``logger``; the correlation id
(an execution ARN, a webhook delivery id) is set once per event with ``correlate``.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from typing import Any

from stepline.settings import log_level

_correlation: ContextVar[str | None] = ContextVar("stepline_correlation", default=None)
_SECRET_KEYS = ("token", "secret", "password", "authorization", "credentials")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"level": record.levelname, "message": record.getMessage(), "logger": record.name}
        correlation = _correlation.get()
        if correlation:
            entry["correlation_id"] = correlation
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = "***" if any(word in key.lower() for word in _SECRET_KEYS) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _build() -> logging.Logger:
    built = logging.getLogger("stepline")
    if not built.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonFormatter())
        built.addHandler(handler)
        built.setLevel(log_level())
        built.propagate = False
    return built


logger = _build()


def correlate(correlation_id: str | None) -> None:
    _correlation.set(correlation_id)
