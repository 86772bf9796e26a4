"""Where the engine keeps everything that must survive a crash: SQLite, one writer.

Tables: state machines, executions, their history events (Step Functions' shapes), and
*frames* — one per live thread of control (the execution itself, each Parallel branch, each
Map iteration) holding the state it is at, its input and what it is waiting for. A Parallel's
or Map's items are written once (``map_items``) and each branch's or iteration's result as it
ends (``results``), so a frame's row stays small however many items it has. The engine writes
at each *pause* (see ``batch``): a killed process resumes from its last commit.

``path=None`` keeps the database in memory: the same code with durability off.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from types import TracebackType
from typing import Any

import orjson

from stepline.errors import InvalidInput, SteplineError

SCHEMA = """
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT PRIMARY KEY, name TEXT NOT NULL, definition TEXT NOT NULL, role_arn TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY, state_machine_arn TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT, started REAL NOT NULL, stopped REAL,
    parent_frame INTEGER, parent_slot INTEGER
);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions (state_machine_arn, started);
CREATE TABLE IF NOT EXISTS events (
    execution_arn TEXT NOT NULL, id INTEGER NOT NULL, type TEXT NOT NULL, timestamp REAL NOT NULL,
    previous INTEGER NOT NULL, details TEXT,
    -- An event's input/output/parameters JSON, kept as it is rather than escaped inside details.
    payload_field TEXT, payload TEXT,
    PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, execution_arn TEXT NOT NULL, parent INTEGER, slot INTEGER NOT NULL,
    scope TEXT NOT NULL, state TEXT NOT NULL, phase TEXT NOT NULL, input TEXT NOT NULL,
    data TEXT NOT NULL, token TEXT UNIQUE, active INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS active_frames ON frames (active) WHERE active = 1;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Executions that ended and whose end the on_finished listeners have not all heard yet.
CREATE TABLE IF NOT EXISTS unannounced (execution_arn TEXT PRIMARY KEY);
-- A running Parallel's or Map's lists: its items and their inputs, written once as it starts,
-- and each branch's or iteration's result (JSON), written as that one ends.
CREATE TABLE IF NOT EXISTS map_items (frame INTEGER PRIMARY KEY, items TEXT NOT NULL, inputs TEXT);
CREATE TABLE IF NOT EXISTS results (
    frame INTEGER NOT NULL, slot INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (frame, slot)
) WITHOUT ROWID;
-- Every task token ever handed out: an answer to one that no task waits for any more is
-- TaskTimedOut (the task was closed), to one never issued TaskDoesNotExist.
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY) WITHOUT ROWID;
"""
# Databases written by an older engine are brought up to this version when opened.
SCHEMA_VERSION = 1


class StoreError(SteplineError):
    """The engine's database cannot be opened or used."""


class StoreFull(StoreError):
    """A write found the disk full: it was rolled back, and nothing more is written."""


class UnusableDatabase(StoreError, InvalidInput):
    """The file is not a database the engine can open or use (a user named it: ``--data``)."""


class Store:
    def __init__(self, path: str | None = None, *, synchronous: str = "NORMAL") -> None:
        self.path = path
        self.lock = threading.RLock()
        try:
            self.db = sqlite3.connect(path or ":memory:", isolation_level=None, check_same_thread=False)
            if path:
                # WAL with synchronous=NORMAL: a commit survives the process being killed; FULL also
                # survives power loss, at an fsync per transition.
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute(f"PRAGMA synchronous={synchronous}")
                # A checkpoint syncs the disk: every 10,000 pages (40 MB of WAL) rather than SQLite's
                # 1,000, so small commits do not pay for one every few hundred.
                self.db.execute("PRAGMA wal_autocheckpoint=10000")
            self.db.executescript(SCHEMA)
            _upgrade(self.db)
        except sqlite3.Error as error:
            raise database_error(error, path or "memory", "open") from None
        self._depth = 0
        # Set when a write fails (a full disk): what the engine holds in memory is then ahead of
        # what was committed, so every later write is refused until the database is opened
        # again, and recovery resumes from the last commit. Reads still answer.
        self.failure: StoreError | None = None

    def transaction(self) -> _Transaction:
        """One atomic unit of change; nested uses join the outer transaction."""
        return _Transaction(self)

    def _rollback(self) -> None:
        # A failed COMMIT (SQLITE_FULL) leaves the transaction open; a failed statement may
        # already have ended it, in which case there is nothing to roll back.
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _failed(self, error: sqlite3.Error) -> StoreError:
        self.failure = database_error(error, self.path or "memory", "write")
        return self.failure

    def query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.execute(sql, parameters).fetchall()

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        with self.lock:
            self.db.close()


class _Transaction:
    """``Store.transaction()``: BEGIN IMMEDIATE … COMMIT under the store's lock, or a share of the
    transaction already open; a rollback on any exception, and a refused write (a full disk)
    makes the store refuse every later one."""

    __slots__ = ("outer", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        store = self.store
        store.lock.acquire()
        if store._depth:
            store._depth += 1
            return store.db
        try:
            if store.failure is not None:
                raise store.failure
            try:
                store.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise store._failed(error) from error
        except BaseException:
            store.lock.release()
            raise
        store._depth = 1
        self.outer = True
        return store.db

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        store = self.store
        try:
            if not self.outer:
                store._depth -= 1
                return
            store._depth = 0
            if kind is None:
                try:
                    store.db.execute("COMMIT")
                except sqlite3.Error as error:
                    store._rollback()
                    raise store._failed(error) from error
                return
            store._rollback()
            if isinstance(value, sqlite3.Error):
                raise store._failed(value) from value
        finally:
            store.lock.release()


def database_error(error: sqlite3.Error, path: object, doing: str) -> StoreError:
    """SQLite's error as one line naming the file: StoreFull when the disk is full."""
    if getattr(error, "sqlite_errorname", "") == "SQLITE_FULL":
        what = "the last step was not written and nothing more will be" if doing == "write" else "it cannot be opened"
        return StoreFull(
            f"the disk holding the database {path} is full: {what}; free some space and start again, "
            "and unfinished executions resume from their last saved step"
        )
    return UnusableDatabase(f"cannot {doing} the database {path}: {error}")


def _upgrade(db: sqlite3.Connection) -> None:
    """Version 1: distributed children know their index; ended frames are no longer kept, so the
    tokens they held move to ``tokens``."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if "parent_slot" not in {row[1] for row in db.execute("PRAGMA table_info(executions)")}:
            db.execute("ALTER TABLE executions ADD COLUMN parent_slot INTEGER")
        db.execute("INSERT OR IGNORE INTO tokens (token) SELECT token FROM frames WHERE token IS NOT NULL")
        db.execute("DELETE FROM frames WHERE active = 0")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def dumps(value: Any) -> str:
    """Compact JSON, ASCII only (as ``json.dumps`` writes it): orjson, or json for what orjson
    writes differently (non-ASCII text, integers beyond 64 bits)."""
    try:
        encoded = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a key that is not a string
        return json.dumps(value, separators=(",", ":"))
    if encoded.isascii():
        return encoded.decode()
    return json.dumps(value, separators=(",", ":"))
