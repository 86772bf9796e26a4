"""The writes of the commit in progress: gathered in memory while executions run, written at once.

Executions run in memory until they pause (``scheduler``); what they did since the last
commit is held here and written by ``flush`` in the commit's transaction:

- history events, in one ``executemany``;
- frames: one alive at the commit is inserted the first time and updated after (its input
  only when it changed); one that ended is deleted; one born and ended between two commits is
  never written at all;
- executions: one started since the last commit (a distributed map's child) is inserted as it
  is by then, ended or not; one that ended is updated;
- a running Parallel's or Map's lists: its items once, each branch's or iteration's result
  once, so a Map's cost stays linear in its items; lists of a Parallel or Map that finished
  are dropped;
- task tokens handed out, and ends the ``on_finished`` listeners must hear.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stepline.engine.model import Execution, ExecutionStatus, Frame
from stepline.engine.store import dumps

ResultRow = tuple[int, int, str]  # frame, slot, value as JSON


@dataclass(slots=True)
class Batch:
    events: list[tuple[Any, ...]] = field(default_factory=list)
    frames: dict[int, Frame] = field(default_factory=dict)
    executions: dict[str, Execution] = field(default_factory=dict)
    results: dict[int, list[ResultRow]] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)  # frames whose written lists are obsolete
    tokens: list[tuple[str]] = field(default_factory=list)
    unannounced: list[tuple[str]] = field(default_factory=list)


def flush(db: sqlite3.Connection, batch: Batch) -> int:
    """Write ``batch``; the highest id of a frame written for the first time (0: none)."""
    if batch.dropped:
        _drop_lists(db, [(frame_id,) for frame_id in batch.dropped])
    if batch.executions:
        _write_executions(db, batch.executions.values())
    top = _write_frames(db, batch.frames.values()) if batch.frames else 0
    if batch.results:
        rows = [
            row
            for frame_id, rows in batch.results.items()
            if (frame := batch.frames.get(frame_id)) is not None and frame.active
            for row in rows
        ]
        db.executemany("INSERT OR REPLACE INTO results (frame, slot, value) VALUES (?, ?, ?)", rows)
    if batch.events:
        db.executemany(
            "INSERT INTO events (execution_arn, id, type, timestamp, previous, details, payload_field, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            batch.events,
        )
    if batch.tokens:
        db.executemany("INSERT OR IGNORE INTO tokens (token) VALUES (?)", batch.tokens)
    if batch.unannounced:
        db.executemany("INSERT OR IGNORE INTO unannounced (execution_arn) VALUES (?)", batch.unannounced)
    return top


def _write_executions(db: sqlite3.Connection, executions: Iterable[Execution]) -> None:
    inserted, ended = [], []
    for execution in executions:
        if not execution.saved:
            execution.saved = True
            inserted.append(
                (
                    execution.arn,
                    execution.machine_arn,
                    execution.name,
                    execution.status.value,
                    execution.input_text,
                    execution.output_text,
                    execution.error,
                    execution.cause,
                    execution.started,
                    execution.stopped,
                    execution.parent_frame,
                    execution.parent_slot,
                )
            )
        elif execution.status is not ExecutionStatus.RUNNING:
            ended.append(
                (
                    execution.status.value,
                    execution.output_text,
                    execution.error,
                    execution.cause,
                    execution.stopped,
                    execution.arn,
                )
            )
    if inserted:
        db.executemany(
            "INSERT INTO executions (arn, state_machine_arn, name, status, input, output, error, cause, started, "
            "stopped, parent_frame, parent_slot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            inserted,
        )
    if ended:
        db.executemany(
            "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stopped = ? WHERE arn = ?", ended
        )


def _write_frames(db: sqlite3.Connection, frames: Iterable[Frame]) -> int:
    rows = _FrameRows()
    for frame in frames:
        rows.add(frame)
    return rows.write(db)


@dataclass(slots=True)
class _FrameRows:
    """The statements a commit makes for its frames, gathered to run each as one ``executemany``."""

    inserted: list[tuple[Any, ...]] = field(default_factory=list)
    moved: list[tuple[Any, ...]] = field(default_factory=list)  # its input is the one written already
    entered: list[tuple[Any, ...]] = field(default_factory=list)  # a new input (it moved to another state)
    deleted: list[tuple[int]] = field(default_factory=list)
    listed: list[tuple[Any, ...]] = field(default_factory=list)
    unlisted: list[tuple[int]] = field(default_factory=list)

    def add(self, frame: Frame) -> None:
        if not frame.active:
            if frame.saved:
                frame.saved = False
                self.deleted.append((frame.id,))
                if frame.progress is not None:
                    self.unlisted.append((frame.id,))
            return
        data = dumps(frame.data)
        if frame.saved and frame.input_saved:
            self.moved.append((frame.state, frame.phase.value, data, frame.token, frame.id))
        else:
            if frame.input_text is None:
                frame.input_text = dumps(frame.input)
            if frame.saved:
                self.entered.append((frame.state, frame.phase.value, frame.input_text, data, frame.token, frame.id))
            else:
                where = (frame.id, frame.execution, frame.parent, frame.slot, frame.scope, frame.state)
                self.inserted.append((*where, frame.phase.value, frame.input_text, data, frame.token))
            frame.saved = frame.input_saved = True
        progress = frame.progress
        if progress is not None and not progress.items_saved and progress.items is not None:
            progress.items_saved = True
            inputs = dumps(progress.inputs) if progress.inputs is not None else None
            self.listed.append((frame.id, dumps(progress.items), inputs))

    def write(self, db: sqlite3.Connection) -> int:
        """Run the statements; the highest id of a frame inserted (0: none)."""
        if self.deleted:
            db.executemany("DELETE FROM frames WHERE id = ?", self.deleted)
        if self.unlisted:
            _drop_lists(db, self.unlisted)
        if self.moved:
            db.executemany("UPDATE frames SET state = ?, phase = ?, data = ?, token = ? WHERE id = ?", self.moved)
        if self.entered:
            db.executemany(
                "UPDATE frames SET state = ?, phase = ?, input = ?, data = ?, token = ? WHERE id = ?", self.entered
            )
        if self.inserted:
            db.executemany(
                "INSERT INTO frames (id, execution_arn, parent, slot, scope, state, phase, input, data, token, active) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                self.inserted,
            )
        if self.listed:
            db.executemany("INSERT OR REPLACE INTO map_items (frame, items, inputs) VALUES (?, ?, ?)", self.listed)
        return max((row[0] for row in self.inserted), default=0)


def _drop_lists(db: sqlite3.Connection, frame_ids: list[tuple[int]]) -> None:
    db.executemany("DELETE FROM results WHERE frame = ?", frame_ids)
    db.executemany("DELETE FROM map_items WHERE frame = ?", frame_ids)
