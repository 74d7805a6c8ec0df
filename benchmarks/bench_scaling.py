"""Scaling: cost of one proactive writeback call vs number of memcgs (1 … 10,000) and entries (10^3 … 10^7),
per cursor strategy, on the fast core (profile v3, budget 64K = 16 pages per call, second chance bypassed;
the memcg axis keeps 200 entries per memcg, the entry axis uses 10 memcgs). Plotted to
``out/bench/scaling.png``. Each point is the CPU time of the first call on a freshly built pool, over REPEATS
pools built alike (min / median / max printed; the plot shows the median with a min–max bar); the 10,000-memcg
point, whose pool takes about 20 CPU s to build (10,000 mkdir + alloc + memory.reclaim through the cgroupfs
facade), is built once (n=1 printed); the 10^7-entry point (about 1 s per pool) is repeated. Strategies that
need not scan the subtree (per-memcg, restart) should stay flat; batch-each-then-check visits every memcg per
pass. The numba code is compiled/loaded in a printed phase first. Baseline, same run: the oracle ``Kernel`` at
the 100-memcg point (same repeats; ratio of medians printed).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from benchmarks._measure import Stats, compile_phase, timed
from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.scale.fastkernel import FastKernel

STRATEGIES = ("per-memcg", "restart", "batch-each-then-check")
MEMCGS = (1, 10, 100, 1000, 10_000)
ENTRIES = (10**3, 10**4, 10**5, 10**6, 10**7)
BUDGET = "64K"
PER_MEMCG = 200
REPEATS = 3


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


def first_call(k: object) -> float:
    """Wall time of the first proactive call on a freshly built pool (later calls of batch-each-then-check find
    a drained pool, as it takes a whole batch from every memcg)."""

    def call() -> None:
        try:
            k.fs.write("/p", "memory.reclaim", f"{BUDGET} zswap_writeback_only")  # type: ignore[attr-defined]
        except OSError:
            pass

    return timed(call)[0]


def point(cls: type, strategy: str, n_memcgs: int, n_entries: int) -> Stats:
    n = 1 if n_memcgs >= 10_000 else REPEATS
    return Stats(tuple(first_call(build(cls, strategy, n_memcgs, n_entries)) for _ in range(n)))


def _ms(st: Stats) -> str:
    if len(st.samples) == 1:
        return f"{st.median * 1e3:.2f}(n=1)"
    return f"{st.median * 1e3:.2f}[{st.min * 1e3:.2f}-{max(st.samples) * 1e3:.2f}]"


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compile_phase("fast core proactive walk, all strategies",
                  lambda: [first_call(build(FastKernel, s, 2, 400)) for s in STRATEGIES])
    print(f"   ms per call, median[min-max] over {REPEATS} freshly built pools")
    res: dict[str, dict[str, list[Stats]]] = {"memcgs": {}, "entries": {}}
    for s in STRATEGIES:
        res["memcgs"][s] = [point(FastKernel, s, m, m * PER_MEMCG) for m in MEMCGS]
        res["entries"][s] = [point(FastKernel, s, 10, e) for e in ENTRIES]
        print(f"   {s:22s} vs memcgs {MEMCGS}: " + " ".join(_ms(t) for t in res["memcgs"][s]))
        print(f"   {s:22s} vs entries {ENTRIES}: " + " ".join(_ms(t) for t in res["entries"][s]))
    for s in STRATEGIES:
        o = point(Kernel, s, 100, 100 * PER_MEMCG)
        f = res["memcgs"][s][MEMCGS.index(100)]
        print(f"   baseline oracle Kernel {s} at 100 memcgs x {PER_MEMCG} entries: {_ms(o)} ms per call; "
              f"ratio oracle/fast (medians) = {o.median / f.median:.1f}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, xs in ((axes[0], "memcgs", MEMCGS), (axes[1], "entries", ENTRIES)):
        for s in STRATEGIES:
            med = np.array([t.median * 1e3 for t in res[key][s]])
            lo = med - np.array([t.min * 1e3 for t in res[key][s]])
            hi = np.array([max(t.samples) * 1e3 for t in res[key][s]]) - med
            line = ax.errorbar(xs, med, yerr=[lo, hi], marker="o", capsize=3, label=f"{s} (median, min-max)")
            single = [i for i, t in enumerate(res[key][s]) if len(t.samples) == 1]  # no repeats: no bar
            ax.plot([xs[i] for i in single], med[single], linestyle="none", marker="o", markersize=9,
                    markerfacecolor="white", color=line.lines[0].get_color())
        if any(len(t.samples) == 1 for s in STRATEGIES for t in res[key][s]):
            ax.plot([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="white", color="black",
                    label="hollow: one sample (n=1), no bar")
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
