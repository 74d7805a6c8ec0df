"""Scenario (e) of kernel-semantics §2.6 at full size on the fast core: 10 children × 1600 MB in zswap, 200 proactive calls
of ``"<size> zswap_writeback_only"`` on the parent at 2 s intervals (v3, second chance bypassed).

Figure: wall time of one full-size variant (target < 10 s), split into building the pool (allocating and
storing 4M entries) and the 200 calls, min / median over REPEATS; and of all 8 variants (size 1M/6M × batch
32/128 × per-memcg/restart, one run each). Baseline, measured in the same run: the oracle
``zswaplab.kernel.Kernel`` and the fast core on the scenario's reduced size (10 × 16 MB, 20 calls) — identical
results, ratio of medians printed. The oracle is never run at full size (it would take tens of minutes); the
full-size oracle figure printed is an estimate, labelled as such.
Compressed lengths: Normal(0.35, 0.08) × 4096 drawn with numpy from the seed (the lab draws with the model's rng).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._measure import Stats, compile_phase
from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.scale.fastkernel import FastKernel

MB = 1 << 20
REPEATS = 3


def run(kernel_cls: type, child_mb: int, calls: int, size: str, batch: int, strategy: str,
        seed: int = 6) -> tuple[float, float, list[int]]:
    """Build and run one variant; return (build seconds, calls seconds, proactive pages written back per
    child)."""
    t0 = time.process_time()
    cfg = KernelConfig(profile="v3", totalram_pages=(32 << 30) // 4096, swap_pages=(32 << 30) // 4096,
                       wb_batch=batch, strategy=strategy, bypass_second_chance=True)
    kw = {"keep_log": False} if kernel_cls is FastKernel else {}
    k = kernel_cls(cfg, seed=seed, **kw)
    k.fs.mkdir("/parent")
    rng = np.random.default_rng(seed)
    n = child_mb * MB // 4096
    for i in range(10):
        k.fs.mkdir(f"/parent/c{i}")
        lens = np.clip(rng.normal(0.35, 0.08, n) * 4096, 1, 4096).astype(np.int64)
        if kernel_cls is FastKernel:
            k.alloc(f"/parent/c{i}", n, clen=lens, tag="data")
        else:
            it = iter(lens.tolist())
            k.alloc(f"/parent/c{i}", n, clen=lambda _r, it=it: next(it), tag="data")
        k.fs.write(f"/parent/c{i}", "memory.reclaim", str(n * 4096))
    k.advance(60)
    t1 = time.process_time()
    for _ in range(calls):
        try:
            k.fs.write("/parent", "memory.reclaim", f"{size} zswap_writeback_only")
        except OSError:
            pass
        k.advance(2.0)
    t2 = time.process_time()
    per_child = []
    for i in range(10):
        st = dict(line.split() for line in k.fs.read(f"/parent/c{i}", "memory.stat").splitlines())
        per_child.append(int(st["zswpwb_proactive"]))
    return t1 - t0, t2 - t1, per_child


def run_lab_on_fast() -> float:
    """The lab's own runner (``zswaplab.lab``) on scenario (e) full size, one variant, with the kernel class it
    imports swapped for ``FastKernel`` (what a kernel-factory hook in the lab would do)."""
    from pathlib import Path

    import zswaplab.kernel as kernel_pkg
    from zswaplab.lab.runner import run_variant
    from zswaplab.lab.schema import load_scenario

    sf = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "e_fairness_full.toml")
    v = next(v for v in sf.variants() if v.name == "size=1M,wb_batch=128,strategy=per-memcg")
    orig = kernel_pkg.Kernel
    kernel_pkg.Kernel = FastKernel  # type: ignore[misc]
    try:
        t0 = time.process_time()
        run_variant(v, scenario_name=sf.name, snapshots=False)
        return time.process_time() - t0
    finally:
        kernel_pkg.Kernel = orig  # type: ignore[misc]


def repeated(kernel_cls: type, child_mb: int, calls: int) -> tuple[Stats, Stats, list[int]]:
    runs = [run(kernel_cls, child_mb, calls, "1M", 128, "per-memcg") for _ in range(REPEATS)]
    assert all(r[2] == runs[0][2] for r in runs)  # deterministic
    return Stats(tuple(r[0] for r in runs)), Stats(tuple(r[1] for r in runs)), runs[0][2]


def main() -> None:
    compile_phase("fast core alloc/reclaim/proactive walk", lambda: run(FastKernel, 1, 2, "1M", 128, "per-memcg"))
    run(Kernel, 1, 2, "1M", 128, "per-memcg")  # warm-up of the oracle's imports
    ob, oc, r_or = repeated(Kernel, 16, 20)
    fb, fc, r_fr = repeated(FastKernel, 16, 20)
    assert r_or == r_fr, (r_or, r_fr)
    print(f"   reduced (10 x 16 MB, 20 calls), median of {REPEATS}: oracle Kernel build {ob.median:.2f} s + calls "
          f"{oc.median:.2f} s; FastKernel build {fb.median:.3f} s + calls {fc.median:.3f} s; speed-up "
          f"{(ob.median + oc.median) / (fb.median + fc.median):.0f}x (calls alone {oc.median / fc.median:.0f}x); "
          f"identical per-child writeback {r_fr}")
    b, c, per = repeated(FastKernel, 1600, 200)
    tot = Stats(tuple(x + y for x, y in zip(b.samples, c.samples, strict=True)))
    print(f"   FULL (10 x 1600 MB = {10 * 1600 * MB // 4096:,} entries, 200 calls, 1M, batch 128, per-memcg): "
          f"{tot.fmt()}  (target < 10 s)")
    print(f"     of which building the pool (alloc + store {10 * 1600 * MB // 4096:,} entries): {b.fmt()}; "
          f"the 200 calls: {c.fmt()}; per-child pages {per}")
    print(f"   the lab's own runner on the same variant (FastKernel; per-page rng draws and page views in the "
          f"lab): {run_lab_on_fast():.2f} CPU s (one run)")
    total = 0.0
    for size in ("1M", "6M"):
        for batch in (32, 128):
            for strategy in ("per-memcg", "restart"):
                tb, tc, per = run(FastKernel, 1600, 200, size, batch, strategy)
                total += tb + tc
                print(f"     variant size={size} batch={batch} {strategy:9s}: build {tb:5.2f} s + calls {tc:5.2f} s  "
                      f"per-child {per}")
    print(f"   all 8 full-size variants (one run each): {total:.1f} s")
    print(f"   ESTIMATE, not measured: the oracle on one full variant would take about "
          f"{ob.median * 100 + oc.median * 100 * 10:.0f} s (build x100 entries, calls x100 entries x10 calls of the "
          f"reduced run; linear, a lower bound)")


if __name__ == "__main__":
    main()
