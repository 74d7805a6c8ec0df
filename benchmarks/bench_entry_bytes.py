"""Bytes per zswap entry at 4M entries (target <= 48 B).

4,194,304 pages are allocated in one memcg and pushed into zswap with memory.reclaim on the fast core; the
figure is the memory the model holds (``tracemalloc``: numpy arrays and Python objects) divided by the number of
entries. Baseline, same run: the oracle ``Kernel`` (a ``Page`` + a ``ZswapEntry`` object per stored page),
measured at 50,000 entries (its per-entry cost does not shrink with size).
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.scale.fastkernel import FastKernel

N_FAST = 4 << 20
N_ORACLE = 50_000


def measure(cls: type, n: int, **kw: object) -> tuple[float, int]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    k = cls(KernelConfig(profile="mainline", totalram_pages=64 << 20, swap_pages=64 << 20), seed=0, **kw)
    k.fs.mkdir("/a")
    lens = np.random.default_rng(0).integers(500, 3000, n)
    if cls is FastKernel:
        k.alloc("/a", n, clen=lens)
    else:
        it = iter(lens.tolist())
        k.alloc("/a", n, clen=lambda _r: next(it))
    k.fs.write("/a", "memory.reclaim", str(n * 4096))
    entries = k.debugfs()["stored_pages"]
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del k
    gc.collect()
    return used / entries, entries


def main() -> None:
    fast, n = measure(FastKernel, N_FAST, pages_hint=N_FAST + 1, keep_log=False)
    fast_log, _ = measure(FastKernel, N_FAST // 4, pages_hint=N_FAST // 4 + 1, keep_log=True)
    oracle, m = measure(Kernel, N_ORACLE)
    print(f"   FastKernel: {fast:.1f} B/entry at {n:,} entries (target <= 48 B; writeback log off)")
    print(f"   FastKernel with the writeback log reserved: {fast_log:.1f} B/entry at {N_FAST // 4:,} entries")
    print(f"   baseline oracle Kernel: {oracle:.1f} B/entry at {m:,} entries")
    print(f"   ratio oracle/fast = {oracle / fast:.1f}x smaller")


if __name__ == "__main__":
    main()
