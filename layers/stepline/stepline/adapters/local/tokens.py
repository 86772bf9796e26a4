"""Task tokens on one machine: a file per key; claiming renames it, so only one claim wins."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from stepline.adapters.local.records import FileRecords


class FileTaskTokens:
    """Remembered as records are (one atomically written file per key); claimed by rename."""

    def __init__(self, folder: Path) -> None:
        self.records = FileRecords(folder)

    def remember(self, key: str, record: Mapping[str, object]) -> None:
        self.records.put(key, record)

    def claim(self, key: str) -> dict[str, object] | None:
        path = self.records.path_of(key)
        claimed = path.with_suffix(".claimed")
        try:
            os.rename(path, claimed)  # atomic: a second claim finds nothing to rename
        except FileNotFoundError:
            return None
        loaded: dict[str, object] = json.loads(claimed.read_text(encoding="utf-8"))
        return loaded
