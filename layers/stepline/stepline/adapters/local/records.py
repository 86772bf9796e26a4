"""Idempotency records on one machine: one small JSON file per key."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from stepline.adapters.local import private_file, private_folder


class FileRecords:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def get(self, key: str) -> dict[str, object] | None:
        try:
            loaded: dict[str, object] = json.loads(self.path_of(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return loaded

    def put(self, key: str, record: Mapping[str, object]) -> None:
        private_folder(self.folder)
        path = self.path_of(key)
        partial = private_file(path.with_suffix(".partial"))  # 0600 before a byte is written
        partial.write_text(json.dumps(record), encoding="utf-8")
        os.replace(partial, path)
