"""Shared measuring helpers of the benchmarks: repeats with min/median/spread, interleaving, compile phases.

Every figure a benchmark prints is measured in the same run as its baseline; repeats are interleaved (the
machine is shared, so a slow patch hits both sides) and reported as min / median / spread (max - min, relative
to the median). Times are CPU seconds of this process (``time.process_time``: less disturbed by the other
users of a shared machine than wall time; every timed code path here is single-threaded). Compilation of the numba code is done in a phase of its own, printed as such, never timed as
run time."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stats:
    """CPU seconds over repeats."""

    samples: tuple[float, ...]

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """(max - min) / median."""
        return (max(self.samples) - min(self.samples)) / self.median if self.median else 0.0

    def fmt(self, scale: float = 1.0, unit: str = "CPU s", digits: int = 3) -> str:
        return (f"min {self.min * scale:.{digits}f} / median {self.median * scale:.{digits}f} {unit} "
                f"(spread {self.spread:.0%}, n={len(self.samples)})")

    def rate(self, count: float) -> tuple[float, float]:
        """(best, median) rate of ``count`` items per second."""
        return count / self.min, count / self.median


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of one call (cyclic GC collected before and paused during the call) and its result."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.process_time()
        out = fn()
        return time.process_time() - t0, out
    finally:
        gc.enable()


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int,
                less: dict[str, Callable[[], float]] | None = None) -> tuple[dict[str, Stats], dict[str, Any]]:
    """Run each function ``repeats`` times, round-robin; return their Stats and last results.

    ``less[k]()``, called after each timed call of ``k``, returns CPU seconds spent inside it that are not its
    own (e.g. a stand-in for the kernel answering a write) and are subtracted from that sample."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    last: dict[str, Any] = {}
    for _ in range(repeats):
        for k, fn in fns.items():
            dt, last[k] = timed(fn)
            samples[k].append(dt - (less[k]() if less and k in less else 0.0))
    return {k: Stats(tuple(v)) for k, v in samples.items()}, last


def compile_phase(what: str, fn: Callable[[], Any]) -> float:
    """Run ``fn`` once to compile (or load from numba's cache) the code a benchmark uses; print how long it took.

    Not counted in any figure: after ``zswaplab warmup`` this only loads the cached machine code."""
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"   [compile/load phase, not timed as run time] {what}: {dt:.2f} s", flush=True)
    return dt


def ratio_line(label: str, ours: Stats, base: Stats, goal: str) -> str:
    """``label = best/median`` ratio (base time / our time: > 1 means we are faster)."""
    return (f"   ratio {label} = {base.min / ours.min:.2f} (best) / {base.median / ours.median:.2f} (median)  "
            f"[goal {goal}]")
