"""Scaling: cost of one proactive writeback call vs number of memcgs (1 … 10,000) and entries (10^3 … 10^7),
per cursor strategy, on the fast core (profile v3, budget 64K = 16 pages per call, second chance bypassed;
the memcg axis keeps 200 entries per memcg, the entry axis uses 10 memcgs). Plotted to
``out/bench/scaling.png``. Each point is the wall time of the first call on a freshly built pool. Strategies that need not scan the subtree (per-memcg, restart) should stay flat;
batch-each-then-check visits every memcg per pass. Baseline, same run: the oracle ``Kernel`` at the small points
(ratio printed).
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import numpy as np

from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.scale.fastkernel import FastKernel

STRATEGIES = ("per-memcg", "restart", "batch-each-then-check")
MEMCGS = (1, 10, 100, 1000, 10_000)
ENTRIES = (10**3, 10**4, 10**5, 10**6, 10**7)
CALLS = 10
BUDGET = "64K"
PER_MEMCG = 200


def build(cls: type, strategy: str, n_memcgs: int, n_entries: int) -> object:
    cfg = KernelConfig(profile="v3", totalram_pages=1 << 26, swap_pages=1 << 26, strategy=strategy,
                       bypass_second_chance=True)
    kw = {"keep_log": False, "pages_hint": n_entries + 1} if cls is FastKernel else {}
    k = cls(cfg, seed=0, **kw)
    k.fs.mkdir("/p")
    per = max(1, n_entries // n_memcgs)
    rng = np.random.default_rng(0)
    for i in range(n_memcgs):
        k.fs.mkdir(f"/p/c{i}")
        lens = rng.integers(800, 2000, per)
        if cls is FastKernel:
            k.alloc(f"/p/c{i}", per, clen=lens)
        else:
            it = iter(lens.tolist())
            k.alloc(f"/p/c{i}", per, clen=lambda _r, it=it: next(it))
        k.fs.write(f"/p/c{i}", "memory.reclaim", str(per * 4096))
    return k


def per_call(k: object) -> float:
    """Wall time of the first call on the freshly built pool (the cost of one call; later calls of
    batch-each-then-check find a drained pool, as it takes a whole batch from every memcg), then the median of
    CALLS - 1 more calls, which is ignored for the figure but keeps the kernel state honest."""
    times = []
    gc.collect()  # no cyclic-GC pause inside the timed calls
    gc.disable()
    for _ in range(CALLS):
        t0 = time.perf_counter()
        try:
            k.fs.write("/p", "memory.reclaim", f"{BUDGET} zswap_writeback_only")  # type: ignore[attr-defined]
        except OSError:
            pass
        times.append(time.perf_counter() - t0)
    gc.enable()
    return times[0]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for s in STRATEGIES:  # warm-up: load the compiled code
        per_call(build(FastKernel, s, 2, 400))
    res: dict[str, dict[str, list[float]]] = {"memcgs": {}, "entries": {}}
    for s in STRATEGIES:
        res["memcgs"][s] = [per_call(build(FastKernel, s, m, m * PER_MEMCG)) for m in MEMCGS]
        res["entries"][s] = [per_call(build(FastKernel, s, 10, e)) for e in ENTRIES]
        print(f"   {s:22s} per call vs memcgs {MEMCGS}: " + " ".join(f"{t * 1e3:.2f}ms" for t in res["memcgs"][s]))
        print(f"   {s:22s} per call vs entries {ENTRIES}: " + " ".join(f"{t * 1e3:.2f}ms" for t in res["entries"][s]))
    for s in STRATEGIES:
        o = per_call(build(Kernel, s, 100, 100 * PER_MEMCG))
        f = res["memcgs"][s][MEMCGS.index(100)]
        print(f"   baseline oracle Kernel {s} at 100 memcgs x {PER_MEMCG} entries: {o * 1e3:.2f} ms per call; "
              f"ratio oracle/fast = {o / f:.1f}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, xs in ((axes[0], "memcgs", MEMCGS), (axes[1], "entries", ENTRIES)):
        for s in STRATEGIES:
            ax.plot(xs, [t * 1e3 for t in res[key][s]], marker="o", label=s)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"number of {key}" + (f" ({PER_MEMCG} entries each)" if key == "memcgs" else " (10 memcgs)"))
        ax.set_ylabel(f"ms per proactive call ({BUDGET}, v3)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    out = Path(os.environ.get("ZSWAPLAB_BENCH_OUT", "out/bench"))
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=100)
    print(f"   plot: {out / 'scaling.png'}")


if __name__ == "__main__":
    main()
