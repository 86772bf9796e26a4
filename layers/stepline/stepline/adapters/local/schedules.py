"""Schedules on one machine: one expression per pipeline, and how far its due times have been
started (``schedules.sqlite`` in the data directory; `stepline apply --schedule` writes it)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from stepline.adapters.local import private_file
from stepline.triggers.schedules import parse_schedule

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    pipeline TEXT PRIMARY KEY,
    expression TEXT NOT NULL,
    checked_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class LocalSchedule:
    pipeline: str
    expression: str
    checked_at: float  # due times up to here have been started


class SqliteSchedules:
    def __init__(self, path: Path) -> None:
        self.path = path
        private_file(path)
        with closing(self._connect()) as connection, connection:
            connection.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def put(self, pipeline: str, expression: str | None, now: float) -> None:
        """Schedule ``pipeline`` from now on (None: no schedule)."""
        with closing(self._connect()) as connection, connection:
            if expression is None:
                connection.execute("DELETE FROM schedules WHERE pipeline = ?", (pipeline,))
            else:
                connection.execute(
                    "INSERT OR REPLACE INTO schedules (pipeline, expression, checked_at) VALUES (?, ?, ?)",
                    (pipeline, parse_schedule(expression).expression, now),
                )

    def all(self) -> list[LocalSchedule]:
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT pipeline, expression, checked_at FROM schedules ORDER BY pipeline")
            return [LocalSchedule(*row) for row in rows]

    def checked(self, pipeline: str, until: float) -> None:
        with closing(self._connect()) as connection, connection:
            connection.execute("UPDATE schedules SET checked_at = ? WHERE pipeline = ?", (until, pipeline))
