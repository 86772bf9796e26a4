"""Secrets on one machine: environment variables, or a JSON file of name → value."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path


class EnvironmentSecretStore:
    """``name`` is read from STEPLINE_SECRET_<NAME> (upper-cased, other characters as _)."""

    def get(self, name: str) -> str:
        variable = "STEPLINE_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
        value = os.environ.get(variable)
        if value is None:
            raise LookupError(f"secret {name!r} is not set: export {variable}")
        return value


class FileSecretStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, name: str) -> str:
        try:
            secrets = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LookupError(f"secret {name!r}: the secrets file {self.path} does not exist") from None
        except json.JSONDecodeError as error:
            raise LookupError(f"secret {name!r}: {self.path} is not JSON ({error.msg}, line {error.lineno})") from None
        value = secrets.get(name) if isinstance(secrets, dict) else None
        if not isinstance(value, str):
            raise LookupError(f"secret {name!r} is not in {self.path}")
        return value
