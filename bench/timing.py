"""The one clock every benchmark here uses: medians of interleaved rounds, CPU beside wall time.

A skeptic's rules, kept by every figure printed:

- the sides of a comparison run in interleaved rounds (ours, peer, ours, peer, …), so a
  load that comes and goes on this shared machine falls on both alike;
- each figure is the median of its rounds, printed with its spread (min–max);
- CPU time beside wall time, since other work on the machine stretches wall time far more
  than CPU time: the process's (every thread of it) and its finished children's (a git or
  bash the work ran);
- a warm-up run of each side before the rounds, outside them.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Samples:
    """One side's rounds: seconds of CPU and of wall time per unit (an execution, an action…)."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure(work: Callable[[], object], units: int = 1) -> tuple[float, float]:
    """CPU and wall seconds per unit of one call of ``work`` (which does ``units`` units)."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    work()
    return (cpu_seconds() - cpu) / units, (time.perf_counter() - wall) / units


def interleaved(sides: dict[str, tuple[Callable[[], object], int]], rounds: int) -> dict[str, Samples]:
    """Each side is ``(work, units)``; after one warm-up call each, ``rounds`` rounds taking turns."""
    for work, _ in sides.values():
        work()
    samples = {name: Samples() for name in sides}
    for _ in range(rounds):
        for name, (work, units) in sides.items():
            cpu, wall = measure(work, units)
            samples[name].cpu.append(cpu)
            samples[name].wall.append(wall)
    return samples


def spread(values: list[float], scale: float = 1000.0, digits: int = 3) -> str:
    """The median with its spread, e.g. ``1.234 (1.200–1.300)``."""
    middle, low, high = (statistics.median(values) * scale, min(values) * scale, max(values) * scale)
    return f"{middle:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def row(label: str, samples: Samples, unit: str = "ms", width: int = 58, digits: int = 3) -> str:
    """One side's line: CPU and wall medians with their spreads."""
    scale = 1000.0 if unit == "ms" else 1.0
    cpu, wall = spread(samples.cpu, scale, digits), spread(samples.wall, scale, digits)
    return f"  {label:<{width}} cpu {cpu} {unit}   wall {wall} {unit}"


def ratio(peer: Samples, ours: Samples) -> str:
    """How many times the peer's median time ours is, on CPU and on wall time."""
    return f"{peer.cpu_median / ours.cpu_median:,.1f}x cpu, {peer.wall_median / ours.wall_median:,.1f}x wall"


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


Side = tuple[str, Callable[[], object]]


def compare(title: str, ours: Side, peer: Side, rounds: int = 7) -> None:
    """Two sides, one unit each call, in interleaved rounds: both figures and their ratio."""
    samples = interleaved({ours[0]: (ours[1], 1), peer[0]: (peer[1], 1)}, rounds)
    mine, theirs = samples[ours[0]], samples[peer[0]]
    width = max(len(ours[0]), len(peer[0]))
    print(f"{title} (median (min–max) of {rounds} interleaved rounds)")
    print(row(ours[0], mine, width=width))
    print(row(peer[0], theirs, width=width))
    if mine.wall_median <= theirs.wall_median:
        print(f"  ratio: the peer takes {ratio(theirs, mine)} ours")
    else:
        print(f"  ratio: ours takes {ratio(mine, theirs)} the peer's")
