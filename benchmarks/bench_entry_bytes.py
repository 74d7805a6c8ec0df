"""Bytes per zswap entry at 4M entries (target <= 48 B), and the time to fill the pool.

4,194,304 pages are allocated in one memcg and pushed into zswap with memory.reclaim on the fast core. Memory
figure: what the model holds (``tracemalloc``: numpy arrays and Python objects) divided by the number of
entries, measured after a compile/warm-up phase (so numba's own allocations are not counted) and with the
benchmark's input array of compressed lengths allocated before tracing starts (it is the benchmark's, not the
model's). Memory is deterministic: one measurement. Baseline, same run: the oracle ``Kernel`` (a ``Page`` + a
``ZswapEntry`` object per stored page), measured at 50,000 entries (its per-entry cost does not shrink with size).

Time figure: alloc + memory.reclaim of the 4M entries without tracemalloc (the kernel's construction included:
its arrays are first touched there and in the fill), min / median over REPEATS interleaved with a plain compiled
loop doing the same per-entry memory writes (``benchmarks/_baselines.fill_lists``: the same six per-entry arrays,
allocated inside the timed call too; link at the resident list's tail, one second-chance rotation, unlink and
link into the pool list, state/length/flag writes and 8 counters per entry; no limit checks, no hierarchy, no
knobs). Goal: within 10×.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

from benchmarks import _baselines
from benchmarks._measure import compile_phase, interleaved
from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.scale.fastkernel import FastKernel

N_FAST = 4 << 20
N_ORACLE = 50_000
REPEATS = 5


def fill(cls: type, n: int, lens: np.ndarray, **kw: object) -> tuple[object, int]:
    k = cls(KernelConfig(profile="mainline", totalram_pages=64 << 20, swap_pages=64 << 20), seed=0, **kw)
    k.fs.mkdir("/a")
    if cls is FastKernel:
        k.alloc("/a", n, clen=lens)
    else:
        it = iter(lens.tolist())
        k.alloc("/a", n, clen=lambda _r: next(it))
    k.fs.write("/a", "memory.reclaim", str(n * 4096))
    return k, k.debugfs()["stored_pages"]


def measure(cls: type, n: int, **kw: object) -> tuple[float, int, object]:
    lens = np.random.default_rng(0).integers(500, 3000, n)  # the benchmark's input: allocated before tracing
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    k, entries = fill(cls, n, lens, **kw)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    per_page = getattr(k, "bytes_per_entry", lambda: float("nan"))()
    del k
    gc.collect()
    return used / entries, entries, per_page


def main() -> None:
    compile_phase("fast core alloc/reclaim + plain fill loop", lambda: (
        measure(FastKernel, 10_000, pages_hint=10_001, keep_log=False), _baselines.warm()))
    measure(Kernel, 1000)  # warm-up of the oracle's imports and caches
    fast, n, per_page = measure(FastKernel, N_FAST, pages_hint=N_FAST + 1, keep_log=False)
    fast_log, _, _ = measure(FastKernel, N_FAST // 4, pages_hint=N_FAST // 4 + 1, keep_log=True)
    oracle, m, _ = measure(Kernel, N_ORACLE)
    print(f"   FastKernel: {fast:.1f} B/entry at {n:,} entries (target <= 48 B; writeback log off; everything the "
          f"model allocates, over the entries)")
    print(f"     of which per-page arrays: {per_page:.1f} B/page (FastKernel.bytes_per_entry); the rest is fixed "
          f"overhead spread over the entries")
    print(f"   FastKernel with the writeback log reserved: {fast_log:.1f} B/entry at {N_FAST // 4:,} entries")
    print(f"   baseline oracle Kernel: {oracle:.1f} B/entry at {m:,} entries")
    print(f"   ratio oracle/fast = {oracle / fast:.1f}x smaller")
    lens = np.random.default_rng(0).integers(500, 3000, N_FAST)
    st, last = interleaved({
        "fill": lambda: fill(FastKernel, N_FAST, lens, pages_hint=N_FAST + 1, keep_log=False)[1],
        "plain": lambda: _baselines.fill_lists(lens),
    }, REPEATS)
    plain = _baselines.counters(last["plain"])
    if last["fill"] != plain["stored"]:
        raise RuntimeError(f"the model stored {last['fill']:,} entries, the plain loop {plain['stored']:,}")
    ns = 1e9 / N_FAST
    print(f"   pool fill (FastKernel construction + alloc + memory.reclaim of {N_FAST:,} pages): {st['fill'].fmt()}; "
          f"{st['fill'].min * ns:.1f} ns/entry best")
    print(f"   baseline plain loop doing the same per-entry writes (benchmarks/_baselines.fill_lists: {N_FAST:,} "
          f"entries; arrays owner int32, clen uint16, state uint8, flags uint8, prev/next int32 allocated in the "
          f"call; per entry a link, {plain['rotated'] / N_FAST:.0f} second-chance rotation, an unlink and a link "
          f"into the pool list, counters {', '.join(_baselines.COUNTERS[:8])}): {st['plain'].fmt(1e3, 'CPU ms')}; "
          f"{st['plain'].min * ns:.1f} ns/entry best")
    print(f"   ratio fill/plain = {st['fill'].min / st['plain'].min:.1f}x (best) / "
          f"{st['fill'].median / st['plain'].median:.1f}x (median)  [goal <= 10x]")


if __name__ == "__main__":
    main()
