"""Waiters on one machine: one SQLite file, the same once-only steps as DynamoDB's conditional
writes (each a single statement, or a transaction taken with BEGIN IMMEDIATE)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stepline.adapters.local import open_database
from stepline.ports.waiters import Completion, Waiter

_SCHEMA = """
CREATE TABLE IF NOT EXISTS waiters (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    token TEXT NOT NULL,
    action TEXT NOT NULL,
    context TEXT NOT NULL,
    work TEXT NOT NULL DEFAULT '{}',
    since REAL NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS links (ref TEXT PRIMARY KEY, waiter TEXT, early TEXT);
"""
_COLUMNS = "key, kind, token, action, context, work, since, state, outcome"


class SqliteWaiters:
    """Serves the Waiters port; safe across threads and processes (WAL)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA)

    def register(self, waiter: Waiter, now: float) -> Waiter:
        with self._lock:
            self._db.execute(
                "INSERT INTO waiters (key, kind, token, action, context, since, state) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET token = excluded.token, action = excluded.action, "
                "context = excluded.context, "
                "state = CASE WHEN waiters.token = excluded.token THEN waiters.state ELSE 'WAITING' END",
                (waiter.key, waiter.kind, waiter.token, waiter.action, json.dumps(waiter.context), now, "WAITING"),
            )
        stored = self.get(waiter.key)
        assert stored is not None  # written just above
        return stored

    def attach(self, key: str, ref: str, work: Mapping[str, str]) -> Completion | None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("UPDATE waiters SET work = ? WHERE key = ?", (json.dumps(dict(work)), key))
                row = self._db.execute("SELECT waiter, early FROM links WHERE ref = ?", (ref,)).fetchone()
                if row is None:
                    self._db.execute("INSERT INTO links (ref, waiter) VALUES (?, ?)", (ref, key))
                    early = None
                elif row[0] is None and row[1] is not None:
                    self._db.execute("UPDATE links SET waiter = ? WHERE ref = ?", (key, ref))
                    early = Completion.model_validate_json(row[1])
                else:
                    early = None
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return early

    def find(self, ref: str) -> Waiter | None:
        with self._lock:
            row = self._db.execute("SELECT waiter FROM links WHERE ref = ?", (ref,)).fetchone()
        if row is None or row[0] is None:
            return None
        return self.get(row[0])

    def get(self, key: str) -> Waiter | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM waiters WHERE key = ?", (key,)).fetchone()  # noqa: S608
        return _waiter(row) if row is not None else None

    def keep_early(self, ref: str, completion: Completion) -> bool:
        with self._lock:
            changed = self._db.execute(
                "INSERT OR IGNORE INTO links (ref, early) VALUES (?, ?)", (ref, completion.model_dump_json())
            ).rowcount
        return changed == 1

    def answered(self, key: str, token: str, completion: Completion) -> bool:
        with self._lock:
            changed = self._db.execute(
                "UPDATE waiters SET state = 'ANSWERED', outcome = ? WHERE key = ? AND state = 'WAITING' AND token = ?",
                (completion.model_dump_json(), key, token),
            ).rowcount
        return changed == 1

    def stale(self, registered_before: float) -> list[Waiter]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM waiters WHERE state = 'WAITING' AND since < ? ORDER BY since",  # noqa: S608
                (registered_before,),
            ).fetchall()
        return [_waiter(row) for row in rows]

    def close(self) -> None:
        self._db.close()


def _waiter(row: tuple[Any, ...]) -> Waiter:
    key, kind, token, action, context, work, since, state, outcome = row
    return Waiter(
        key=key,
        kind=kind,
        token=token,
        action=action,
        context=json.loads(context),
        work=json.loads(work),
        since=since,
        state=state,
        outcome=Completion.model_validate_json(outcome) if outcome else None,
    )
