"""Secrets on one machine: environment variables."""

from __future__ import annotations

import os
import re


class EnvironmentSecretStore:
    """``name`` is read from STEPLINE_SECRET_<NAME> (upper-cased, other characters as _)."""

    def get(self, name: str) -> str:
        variable = "STEPLINE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
        value = os.environ.get(variable)
        if value is None:
            raise LookupError(f"secret {name!r} is not set: export {variable}")
        return value
