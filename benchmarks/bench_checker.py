"""Checker cost per state against SPIN on the matching Promela model (models/global_lock.pml), same run.

Python checker: 3 threads × 5 memcgs × ROUNDS rounds of ``global_lock`` with its reductions (symmetry +
partial-order) and without; memory per state from ``tracemalloc`` (peak over the search, divided by the states
stored). SPIN: ``pan`` compiled with ``-DSAFETY`` (partial-order reduction on, as SPIN's default) and with
``-DNOREDUCE`` (off); search time only, and SPIN's own memory figure. The state *counts* differ (SPIN counts
Promela control points between the atomic steps, and the Python state carries ghost walk positions), so the
comparison is per state: µs/state and bytes/state. Also printed: the 4 × 6 × 3 configurations the issue asks
for, with reductions (one run each).
"""

from __future__ import annotations

import tracemalloc

from benchmarks._measure import Stats
from zswaplab.concurrency.checker import CheckConfig, check
from zswaplab.concurrency.spin import SpinMissing, run_spin

ROUNDS = 3
REPEATS = 3


def _py(cfg: CheckConfig) -> tuple[Stats, int]:
    runs = [check(cfg) for _ in range(REPEATS)]
    assert all(r.ok for r in runs), runs[0].violation
    return Stats(tuple(r.seconds for r in runs)), runs[0].states


def _py_bytes(cfg: CheckConfig) -> float:
    tracemalloc.start()
    res = check(cfg)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / res.states


def _marginal(t: tuple[float, float], n: tuple[int, int]) -> float:
    """Seconds per additional state between two sizes: fixed start-up costs (SPIN allocates its hash table,
    Python imports and builds programs) cancel out."""
    return (t[1] - t[0]) / max(1, n[1] - n[0])


def main() -> None:
    small, big = ROUNDS - 1, ROUNDS
    cfgs = {
        "python checker (symmetry + partial-order)": dict(),
        "python checker (no reductions)": dict(symmetry=False, por=False),
    }
    marg: dict[str, float] = {}
    for label, kw in cfgs.items():
        st_s, n_s = _py(CheckConfig("global_lock", threads=3, memcgs=5, rounds=small, **kw))
        st, n = _py(CheckConfig("global_lock", threads=3, memcgs=5, rounds=big, **kw))
        marg[label] = _marginal((st_s.median, st.median), (n_s, n))
        print(f"   {label:44s} 3x5x{big}: states {n:>9,}  {st.fmt(unit='wall s')}  marginal "
              f"{marg[label] * 1e6:6.1f} µs/state  "
              f"{_py_bytes(CheckConfig('global_lock', threads=3, memcgs=5, rounds=big, **kw)):6.0f} B/state "
              f"(tracemalloc peak / states)")
    try:
        spins = {lab: ([run_spin("global_lock", rounds=small, reduce=red) for _ in range(REPEATS)],
                       [run_spin("global_lock", rounds=big, reduce=red) for _ in range(REPEATS)])
                 for lab, red in (("SPIN pan -DSAFETY (POR on)", True), ("SPIN pan -DSAFETY -DNOREDUCE", False))}
    except SpinMissing as e:
        print(f"   baseline unavailable: {e}")
        return
    for label, (rs, rb) in spins.items():
        assert all(r.ok for r in rs + rb), rb[0].message
        ss, sb = Stats(tuple(r.pan_seconds for r in rs)), Stats(tuple(r.pan_seconds for r in rb))
        n_s, n = rs[0].states, rb[0].states
        marg[label] = _marginal((ss.median, sb.median), (n_s, n))
        mem = (rb[0].memory_mb - rs[0].memory_mb) * 1e6 / max(1, n - n_s)
        print(f"   {label:44s} 3x5x{big}: states {n:>9,}  {sb.fmt(unit='wall s')}  marginal "
              f"{marg[label] * 1e6:6.2f} µs/state  {mem:6.0f} B/state (marginal, pan's memory figure)")
    ratio = marg["python checker (no reductions)"] / max(marg["SPIN pan -DSAFETY -DNOREDUCE"], 1e-12)
    print(f"   per-state cost ratio python (no reductions) / SPIN (no POR), marginal = {ratio:.0f}x  [goal <= 3x]")
    print("   (state counts differ: SPIN's include Promela control points between atomic steps; Python's carry "
          "ghost walk positions)")
    for alg in ("global_lock", "memcg_lock", "memcg_global_lock"):
        res = check(CheckConfig(alg, threads=4, memcgs=6, rounds=3))
        print(f"   4x6x3 {alg:20s} (reductions on): {'verified' if res.ok else 'FAILS: ' + str(res.violation)}, "
              f"{res.states:,} states in {res.seconds:.1f} s wall  [goal < 600 s]")
