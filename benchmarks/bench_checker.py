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


def main() -> None:
    cfgs = {
        "python checker (symmetry + partial-order)": CheckConfig("global_lock", threads=3, memcgs=5, rounds=ROUNDS),
        "python checker (no reductions)": CheckConfig("global_lock", threads=3, memcgs=5, rounds=ROUNDS,
                                                      symmetry=False, por=False),
    }
    per_state: dict[str, float] = {}
    for label, cfg in cfgs.items():
        st, n = _py(cfg)
        per_state[label] = st.median / n
        print(f"   {label:44s} states {n:>9,}  {st.fmt(unit='wall s')}  {st.median / n * 1e6:6.1f} µs/state  "
              f"{_py_bytes(cfg):7.0f} B/state (tracemalloc peak)")
    try:
        spins = {lab: [run_spin("global_lock", rounds=ROUNDS, reduce=red) for _ in range(REPEATS)]
                 for lab, red in (("SPIN pan -DSAFETY (POR on)", True), ("SPIN pan -DSAFETY -DNOREDUCE", False))}
    except SpinMissing as e:
        print(f"   baseline unavailable: {e}")
        return
    spin_cost = {}
    for label, runs in spins.items():
        assert all(r.ok for r in runs), runs[0].message
        st = Stats(tuple(r.pan_seconds for r in runs))
        n = runs[0].states
        spin_cost[label] = st.median / n
        print(f"   {label:44s} states {n:>9,}  {st.fmt(unit='wall s')}  {st.median / n * 1e6:6.2f} µs/state  "
              f"{runs[0].memory_mb * 1e6 / n:7.0f} B/state (pan total, incl. its fixed hash table)")
    base = spin_cost["SPIN pan -DSAFETY -DNOREDUCE"]
    print(f"   per-state cost ratio python (no reductions) / SPIN (no POR) = "
          f"{per_state['python checker (no reductions)'] / base:.0f}x  [goal <= 3x]")
    for alg in ("global_lock", "memcg_lock", "memcg_global_lock"):
        res = check(CheckConfig(alg, threads=4, memcgs=6, rounds=3))
        print(f"   4x6x3 {alg:20s} (reductions on): {'verified' if res.ok else 'FAILS: ' + str(res.violation)}, "
              f"{res.states:,} states in {res.seconds:.1f} s")
