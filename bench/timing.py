"""Best-of-N wall-clock timing, the one clock every benchmark here uses."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(work: Callable[[], object], *, repeat: int = 7, number: int = 1) -> float:
    """The fastest of ``repeat`` runs of ``number`` calls, per call: the least disturbed figure."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            work()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def report(title: str, ours: tuple[str, float], peer: tuple[str, float], unit: str = "ms") -> None:
    scale = 1000.0 if unit == "ms" else 1.0
    width = max(len(ours[0]), len(peer[0]))
    print(title)
    print(f"  {ours[0]:<{width}}  {ours[1] * scale:10.2f} {unit}")
    print(f"  {peer[0]:<{width}}  {peer[1] * scale:10.2f} {unit}")
    print(f"  {'ratio (ours / peer)':<{width}}  {ours[1] / peer[1]:10.1f}x")
