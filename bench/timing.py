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
    """Both figures from the same run, and their ratio said in words."""
    scale = 1000.0 if unit == "ms" else 1.0
    width = max(len(ours[0]), len(peer[0]))
    print(title)
    print(f"  {ours[0]:<{width}}  {ours[1] * scale:10.3f} {unit}")
    print(f"  {peer[0]:<{width}}  {peer[1] * scale:10.3f} {unit}")
    if ours[1] <= peer[1]:
        print(f"  ratio: ours is {peer[1] / ours[1]:,.1f}x faster than the peer")
    else:
        print(f"  ratio: ours takes {ours[1] / peer[1]:,.1f}x the peer's time")
