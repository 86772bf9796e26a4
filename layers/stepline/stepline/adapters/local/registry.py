"""The pipeline registry on one machine: a SQLite table beside the engine's state."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from stepline.adapters.local import open_database
from stepline.ports.pipelines import RegisteredPipeline

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pipelines (
    name TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    declaration TEXT NOT NULL,
    registered_at REAL NOT NULL
);
"""


class SqliteRegistry:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA)

    def put(self, entry: RegisteredPipeline) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO pipelines (name, state_machine_arn, declaration, registered_at) "
                "VALUES (?, ?, ?, ?)",
                (
                    entry.name,
                    entry.state_machine_arn,
                    json.dumps(entry.declaration, sort_keys=True),
                    entry.registered_at,
                ),
            )

    def get(self, name: str) -> RegisteredPipeline | None:
        with self._lock:
            row = self._db.execute(
                "SELECT name, state_machine_arn, declaration, registered_at FROM pipelines WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else _entry(row)

    def all(self) -> list[RegisteredPipeline]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, state_machine_arn, declaration, registered_at FROM pipelines ORDER BY name"
            ).fetchall()
        return [_entry(row) for row in rows]

    def close(self) -> None:
        self._db.close()


def _entry(row: tuple[str, str, str, float]) -> RegisteredPipeline:
    return RegisteredPipeline(
        name=row[0], state_machine_arn=row[1], declaration=json.loads(row[2]), registered_at=row[3]
    )
