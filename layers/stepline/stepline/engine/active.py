"""What the engine holds in memory about unfinished executions (as Dagster's ActiveExecution does).

Every part of the engine works on one ``Active``: the frames and executions in flight, the
frames ready to step, the timers, task tokens, the writes of the commit in progress, and the
table of what each state type does. It is guarded by the store's lock. Memory may be ahead of
the database between two commits, but only by steps nothing outside has seen: every commit
comes before the lock is let go with something to show (a task's call, an API call's
answer, a wait).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from stepline.engine.batch import Batch, flush
from stepline.engine.clock import Clock
from stepline.engine.definition import StateMachineDefinition, StateType
from stepline.engine.integrations import Functions
from stepline.engine.model import Execution, Frame, StateKind
from stepline.engine.store import Store
from stepline.engine.timers import Timers
from stepline.ports.objects import NoObjectStore, ObjectStore

Machine = tuple[str, StateMachineDefinition, str]  # name, definition, role ARN
Listener = Callable[[dict[str, Any]], None]


class Active:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        functions: Functions,
        kinds: Mapping[StateType, StateKind[Any]],
        *,
        region: str,
        account: str,
        jitter: random.Random,
        objects: ObjectStore | None = None,
    ) -> None:
        self.store, self.clock, self.functions, self.kinds = store, clock, functions, kinds
        self.objects: ObjectStore = objects or NoObjectStore()  # S3, for distributed maps' ItemReader/ResultWriter
        self.region, self.account, self.jitter = region, account, jitter
        self.lock = store.lock
        self.changed = threading.Condition(self.lock)  # notified when anything may be able to move
        self.ready: deque[int] = deque()  # ids of frames in a READY_PHASES phase, in order
        self.returned: deque[int] = deque()  # frames whose call came back: stepped before any other
        self.timers = Timers()
        self.frames: dict[int, Frame] = {}  # active frames of running executions
        self.tokens: dict[str, int] = {}  # task token -> the frame waiting for it
        self.executions: dict[str, Execution] = {}  # running executions
        self.machines: dict[str, Machine] = {}
        self.pending: Batch | None = None
        self.listeners: list[Listener] = []
        self.finished: list[str] = []  # ended executions the listeners have not all heard of yet
        self.transitions = 0
        self.next_frame = 1  # frame ids are never reused: a nested execution names its parent's
        self.frame_seq = 0  # the highest frame id the database knows of (meta 'frame_seq')

    def batch(self) -> _Batching:
        """Gather the writes of what runs inside into one batch, written when the outermost ends."""
        return _Batching(self)

    def touch(self, frame: Frame) -> None:
        """``frame`` moved: write it with the batch."""
        assert self.pending is not None
        self.pending.frames[frame.id] = frame

    def new_frame_id(self) -> int:
        frame_id = self.next_frame
        self.next_frame += 1
        return frame_id

    def written(self, execution: Execution) -> None:
        """``execution`` started inside a step or ended: write it with the batch."""
        assert self.pending is not None
        self.pending.executions[execution.arn] = execution

    def result(self, frame: Frame, slot: int, text: str) -> None:
        """A branch or iteration of ``frame`` (a Parallel or Map) ended with ``text``."""
        assert self.pending is not None
        self.pending.results.setdefault(frame.id, []).append((frame.id, slot, text))
        self.pending.frames[frame.id] = frame

    def drop_lists(self, frame: Frame) -> None:
        """``frame``'s Parallel or Map is over: its items and results are not kept."""
        assert self.pending is not None
        frame.progress = None
        self.pending.results.pop(frame.id, None)
        if frame.saved:
            self.pending.dropped.add(frame.id)
        self.pending.frames[frame.id] = frame

    def forget_token(self, frame: Frame) -> None:
        if frame.token:
            self.tokens.pop(frame.token, None)

    def notify(self) -> None:
        with self.lock:
            self.changed.notify_all()

    def forget_everything(self) -> None:
        """Drop what memory holds about executions, before reading it again from the database."""
        self.frames.clear()
        self.tokens.clear()
        self.executions.clear()
        self.ready.clear()
        self.returned.clear()
        self.timers.clear()
        self.finished.clear()  # the database's ``unannounced`` says which ends are owed


class _Batching:
    __slots__ = ("active", "outer")

    def __init__(self, active: Active) -> None:
        self.active = active
        self.outer = False

    def __enter__(self) -> None:
        if self.active.pending is None:
            self.active.pending = Batch()
            self.outer = True

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        if not self.outer:
            return
        active = self.active
        pending, active.pending = active.pending, None
        if kind is None and pending is not None:
            top = flush(active.store.db, pending)
            if top > active.frame_seq:
                active.frame_seq = top
                active.store.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('frame_seq', ?)", (str(top),))
