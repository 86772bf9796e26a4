"""The writes of the transaction in progress, gathered while steps run and written at its end.

A group of steps (see ``scheduler``) shares one transaction; each history event is appended
to ``events`` and each frame it moved is remembered once in ``frames``, so a frame moved by
several steps of the group is written once, in its last state.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from stepline.engine.model import Frame
from stepline.engine.store import dumps


@dataclass(slots=True)
class Batch:
    events: list[tuple[Any, ...]] = field(default_factory=list)
    frames: dict[int, Frame] = field(default_factory=dict)


def flush(db: sqlite3.Connection, batch: Batch) -> None:
    if batch.events:
        db.executemany(
            "INSERT INTO events (execution_arn, id, type, timestamp, previous, details, payload_field, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            batch.events,
        )
    for frame in batch.frames.values():
        if frame.input_text is None:
            frame.input_text = dumps(frame.input)
        db.execute(
            "UPDATE frames SET state = ?, phase = ?, input = ?, data = ?, token = ?, active = ? WHERE id = ?",
            (
                frame.state,
                frame.phase,
                frame.input_text,
                dumps(frame.data),
                frame.token,
                int(frame.active),
                frame.id,
            ),
        )
