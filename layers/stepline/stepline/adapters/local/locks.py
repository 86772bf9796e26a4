"""The run-control lock records on one machine: a SQLite table, written over a version."""

from __future__ import annotations

import threading
from pathlib import Path

from stepline.adapters.local import open_database
from stepline.ports.control import LockRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS locks (
    pipeline TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    record TEXT NOT NULL
);
"""


class SqliteLocks:
    """Serves the LockStore port; safe across threads and processes (WAL, conditional updates)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA)

    def read(self, pipeline: str) -> tuple[LockRecord, int]:
        with self._lock:
            row = self._db.execute("SELECT record, version FROM locks WHERE pipeline = ?", (pipeline,)).fetchone()
        if row is None:
            return LockRecord(pipeline=pipeline), 0
        return LockRecord.model_validate_json(row[0]), int(row[1])

    def write(self, record: LockRecord, version: int) -> bool:
        with self._lock:
            changed = self._db.execute(
                "INSERT INTO locks (pipeline, version, record) VALUES (?, ?, ?) "
                "ON CONFLICT(pipeline) DO UPDATE SET version = excluded.version, record = excluded.record "
                "WHERE locks.version = ?",
                (record.pipeline, version + 1, record.model_dump_json(), version),
            ).rowcount
        return changed == 1
