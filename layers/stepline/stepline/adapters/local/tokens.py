"""Task tokens on one machine: a file per key; claiming renames it, so only one claim wins."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path


class FileTaskTokens:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def remember(self, key: str, record: Mapping[str, object]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(record), encoding="utf-8")
        os.replace(partial, path)

    def claim(self, key: str) -> dict[str, object] | None:
        path = self._path(key)
        claimed = path.with_suffix(".claimed")
        try:
            os.rename(path, claimed)  # atomic: a second claim finds nothing to rename
        except FileNotFoundError:
            return None
        loaded: dict[str, object] = json.loads(claimed.read_text(encoding="utf-8"))
        return loaded
