"""Custom action types and their jobs on one machine: SQLite beside the engine's state.

A job's row keeps the job (JSON) with its status, nonce and dispatch time in columns, so
dispatching and acknowledging are single conditional updates."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from stepline.adapters.local import open_database
from stepline.ports.jobs import Job, JobStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS action_types (key TEXT PRIMARY KEY, declaration TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    type_key TEXT NOT NULL,
    status TEXT NOT NULL,
    nonce TEXT NOT NULL DEFAULT '',
    dispatched_at REAL,
    job TEXT NOT NULL,
    token TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (type_key, status, seq);
"""


class SqliteJobs:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path, _SCHEMA)

    def _job(self, row: tuple[str, str, str, float | None]) -> Job:
        job, status, nonce, dispatched_at = row
        return Job.model_validate_json(job).model_copy(
            update={"status": status, "nonce": nonce, "dispatched_at": dispatched_at}
        )

    def add(self, job: Job, token: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO jobs (id, type_key, status, job, token, seq) "
                "VALUES (?, ?, 'Queued', ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs))",
                (job.id, job.type_key, job.model_dump_json(), token),
            )

    def get(self, job_id: str) -> tuple[Job, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT job, status, nonce, dispatched_at, token FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return None if row is None else (self._job(row[:4]), row[4])

    def claim(
        self,
        type_key: str,
        limit: int,
        now: float,
        unacknowledged_before: float,
        nonce: Callable[[], str],
        matches: Callable[[Job], bool],
    ) -> list[Job]:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            waiting = self._db.execute(
                "SELECT id, job FROM jobs WHERE type_key = ? AND (status = 'Queued' OR (status = 'Dispatched' "
                "AND dispatched_at < ?)) ORDER BY seq",
                (type_key, unacknowledged_before),
            ).fetchall()
            ids = [job_id for job_id, job in waiting if matches(Job.model_validate_json(job))][:limit]
            for job_id in ids:
                self._db.execute(
                    "UPDATE jobs SET status = 'Dispatched', nonce = ?, dispatched_at = ? WHERE id = ?",
                    (nonce(), now, job_id),
                )
            rows = [
                self._db.execute("SELECT job, status, nonce, dispatched_at FROM jobs WHERE id = ?", (i,)).fetchone()
                for i in ids
            ]
            self._db.execute("COMMIT")
        return [self._job(row) for row in rows]

    def acknowledge(self, job_id: str, nonce: str) -> Job | None:
        with self._lock:
            changed = self._db.execute(
                "UPDATE jobs SET status = 'InProgress' WHERE id = ? AND nonce = ? "
                "AND status IN ('Dispatched', 'InProgress')",
                (job_id, nonce),
            ).rowcount
        found = self.get(job_id) if changed else None
        return None if found is None else found[0]

    def record_output(self, job_id: str, name: str, reference: Mapping[str, str]) -> None:
        found = self.get(job_id)
        if found is None:
            return
        produced = {**found[0].produced, name: dict(reference)}
        stored = found[0].model_copy(update={"produced": produced})
        with self._lock:
            self._db.execute("UPDATE jobs SET job = ? WHERE id = ?", (stored.model_dump_json(), job_id))

    def finish(self, job_id: str, status: JobStatus) -> bool:
        with self._lock:
            changed: int = self._db.execute(
                "UPDATE jobs SET status = ? WHERE id = ? AND status IN ('Queued', 'Dispatched', 'InProgress')",
                (status, job_id),
            ).rowcount
        return changed == 1

    def put_type(self, key: str, declaration: Mapping[str, object]) -> bool:
        with self._lock:
            changed: int = self._db.execute(
                "INSERT OR IGNORE INTO action_types (key, declaration) VALUES (?, ?)",
                (key, json.dumps(declaration, sort_keys=True)),
            ).rowcount
        return changed == 1

    def delete_type(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM action_types WHERE key = ?", (key,))

    def types(self) -> dict[str, dict[str, object]]:
        with self._lock:
            rows = self._db.execute("SELECT key, declaration FROM action_types ORDER BY key").fetchall()
        return {key: json.loads(declaration) for key, declaration in rows}
