"""Approvals and webhook deliveries on one machine: one SQLite file, conditional updates."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from stepline.adapters.local import open_database
from stepline.ports.approvals import Approval

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    token TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY);
"""


class SqliteApprovals:
    """Serves the Approvals and Deliveries ports; safe across threads and processes (WAL)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA)

    def put(self, approval: Approval, token: str) -> None:
        with self._lock:
            # A retried request replaces a pending approval's token; a decided one stays decided.
            self._db.execute(
                "INSERT INTO approvals (id, status, token, record) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET token = excluded.token, record = excluded.record "
                "WHERE approvals.status = 'Pending'",
                (approval.id, approval.status, token, approval.model_dump_json()),
            )

    def get(self, approval_id: str) -> tuple[Approval, str] | None:
        with self._lock:
            row = self._db.execute("SELECT record, token FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        if row is None:
            return None
        return Approval.model_validate(json.loads(row[0])), row[1]

    def settle(self, decided: Approval) -> bool:
        with self._lock:
            changed = self._db.execute(
                "UPDATE approvals SET status = ?, record = ? WHERE id = ? AND status = 'Pending'",
                (decided.status, decided.model_dump_json(), decided.id),
            ).rowcount
        return changed == 1

    def mark_answered(self, answered: Approval) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE approvals SET record = ? WHERE id = ? AND status = ?",
                (answered.model_dump_json(), answered.id, answered.status),
            )

    def unanswered(self) -> list[tuple[Approval, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT record, token FROM approvals WHERE status != 'Pending' ORDER BY rowid"
            ).fetchall()
        decided = [(Approval.model_validate(json.loads(row[0])), row[1]) for row in rows]
        return [(approval, token) for approval, token in decided if not approval.answered]

    def pending(self) -> list[Approval]:
        with self._lock:
            rows = self._db.execute("SELECT record FROM approvals WHERE status = 'Pending' ORDER BY rowid").fetchall()
        return [Approval.model_validate(json.loads(row[0])) for row in rows]

    def first_time(self, delivery: str) -> bool:
        with self._lock:
            return self._db.execute("INSERT OR IGNORE INTO deliveries (id) VALUES (?)", (delivery,)).rowcount == 1

    def forget(self, delivery: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM deliveries WHERE id = ?", (delivery,))

    def close(self) -> None:
        self._db.close()
