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
-- Each pipeline's local repositories for its CodeCommit, connection and GitHub sources (a JSON
-- object of name → path): a table of its own, so a registry written before it needs no migration.
CREATE TABLE IF NOT EXISTS pipeline_sources (
    name TEXT PRIMARY KEY,
    sources TEXT NOT NULL
);
"""
# Added after the first release: registries made before it gain the column when opened.
_COLUMNS = {"report_status": "ALTER TABLE pipelines ADD COLUMN report_status INTEGER NOT NULL DEFAULT 0"}
_INSERT = (
    "INSERT OR REPLACE INTO pipelines (name, state_machine_arn, declaration, registered_at, report_status) "
    "VALUES (?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT p.name, p.state_machine_arn, p.declaration, p.registered_at, p.report_status, s.sources "
    "FROM pipelines p LEFT JOIN pipeline_sources s ON s.name = p.name"
)


class SqliteRegistry:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(pipelines)")}
        for column, statement in _COLUMNS.items():
            if column not in present:
                self._db.execute(statement)

    def put(self, entry: RegisteredPipeline) -> None:
        with self._lock:
            self._db.execute(
                _INSERT,
                (
                    entry.name,
                    entry.state_machine_arn,
                    json.dumps(entry.declaration, sort_keys=True),
                    entry.registered_at,
                    int(entry.report_status),
                ),
            )
            self._db.execute(
                "INSERT OR REPLACE INTO pipeline_sources (name, sources) VALUES (?, ?)",
                (entry.name, json.dumps(entry.sources, sort_keys=True)),
            )

    def get(self, name: str) -> RegisteredPipeline | None:
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE p.name = ?", (name,)).fetchone()
        return None if row is None else _entry(row)

    def all(self) -> list[RegisteredPipeline]:
        with self._lock:
            rows = self._db.execute(f"{_SELECT} ORDER BY p.name").fetchall()
        return [_entry(row) for row in rows]

    def delete(self, name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM pipelines WHERE name = ?", (name,))

    def close(self) -> None:
        self._db.close()


def _entry(row: tuple[str, str, str, float, int, str | None]) -> RegisteredPipeline:
    return RegisteredPipeline(
        name=row[0],
        state_machine_arn=row[1],
        declaration=json.loads(row[2]),
        registered_at=row[3],
        report_status=bool(row[4]),
        sources=json.loads(row[5] or "{}"),
    )
