"""The engine's sense of time, injectable so tests drive Wait states and timeouts without sleeping."""

from __future__ import annotations

import functools
import math
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """Time that moves only when told to: ``advance``, ``set``, or the engine skipping idle waits."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = max(self._now, when)


def iso(seconds: float) -> str:
    """Step Functions' timestamp format in the context object: ISO 8601 with milliseconds, UTC."""
    whole = math.floor(seconds)
    micro = round((seconds - whole) * 1_000_000)  # as datetime rounds: to the nearest microsecond
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    return f"{_second(whole)}.{micro // 1000:03d}Z"


@functools.lru_cache(maxsize=256)
def _second(whole: int) -> str:
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
