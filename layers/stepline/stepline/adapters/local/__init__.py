"""Adapters for one machine: no AWS account needed."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_database(path: Path, schema: str) -> sqlite3.Connection:
    """A SQLite file shared by threads (callers hold their own lock) and by processes (WAL),
    in autocommit mode, with ``schema`` applied."""
    path.parent.mkdir(parents=True, exist_ok=True)
    database = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    database.execute("PRAGMA journal_mode=WAL")
    database.executescript(schema)
    return database
