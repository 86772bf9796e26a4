"""Adapters for one machine: no AWS account needed.

Everything Stepline keeps on one machine is its user's alone: the data directory and the
folders in it are 0700, the files 0600 (SQLite databases, whose -wal and -shm files SQLite
gives the database's mode; tokens, keys, approvals, artifacts, records, kept pushes). Modes are
set on each file as it is made, not by a process umask: the user's builds run as children of
this process, and a umask would be theirs too (CodeBuild builds under 0022).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from stepline.engine.store import database_error

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner may enter; missing parents are made the same way
    (inside the data directory, where each folder Stepline makes is private)."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        folder.chmod(PRIVATE_FOLDER)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner may read: made empty if missing, tightened if not."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)
    return path


def private_copy(source: Path, destination: Path) -> None:
    """Copy ``source`` to ``destination`` as a private file, never readable by others on the way."""
    descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as target, source.open("rb") as origin:
        shutil.copyfileobj(origin, target)


def private_data_directory(data: Path, files: Iterable[str] = ()) -> Path:
    """The data directory made private: 0700, and what an earlier version left in it tightened
    (its folders 0700, its files 0600); ``files`` are made now (0600) so that whoever opens
    them later (SQLite, a lock) finds them private. Missing parents are the user's, made as
    mkdir -p makes them."""
    data.parent.mkdir(parents=True, exist_ok=True)
    private_folder(data)
    data.chmod(PRIVATE_FOLDER)
    for entry in data.iterdir():
        if entry.is_symlink():
            continue
        entry.chmod(PRIVATE_FOLDER if entry.is_dir() else PRIVATE_FILE)
    for name in files:
        private_file(data / name)
    return data


def open_database(path: Path, schema: str) -> sqlite3.Connection:
    """A SQLite file shared by threads (callers hold their own lock) and by processes (WAL),
    in autocommit mode, with ``schema`` applied; 0600, as SQLite then makes its -wal and -shm.
    StoreError names a file that is not a database."""
    private_file(private_folder(path.parent) / path.name)
    try:
        database = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        database.execute("PRAGMA journal_mode=WAL")
        database.executescript(schema)
    except sqlite3.Error as error:
        raise database_error(error, path, "open") from None
    return database
