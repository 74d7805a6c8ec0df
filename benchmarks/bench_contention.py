"""Does a global cursor lock regress reclaim? Where does each cursor design start to regress?

The timed contention model (``zswaplab.concurrency.timed``) with its CPU costs calibrated on this machine by
the C microbenchmark (``zswaplab/concurrency/csrc/atomics_bench.c``; the measured figures are printed) and
the other costs at their labelled defaults (published or assumption, printed). One reclaim thread and M agents
("1M" every 2 s each) writing children of one shared parent, 8 CPUs, 0.5 s measured after a warm-up.
Regression of the reclaim thread's pages/s against the same configuration without agents, along four
dimensions: agents M, batch size, memcgs under the parent, zombies under the parent; the onset (first point
over 5 %) is printed per design. Then the cursor lock alone (no device limit, no CPU sharing) at a stress point
(300 zombies, 1-entry batches, agents every 0.2 s): the difference between the global-lock and the
per-memcg-lock design there is what the global lock itself costs.
"""

from __future__ import annotations

from dataclasses import replace
from statistics import median

from zswaplab.concurrency.calibrate import CalibrationUnavailable, calibrate
from zswaplab.concurrency.timed import Costs, SimConfig, onset, regression_curve

DESIGNS = ("global_lock", "memcg_global_lock", "memcg_lock", "xchg_fixed")
AXES = {
    "agents": (10, 100, 1000, 3000),
    "batch": (16, 64, 256),
    "children": (10, 100, 1000),
    "zombies": (0, 100, 300),
}
M_FIXED = 300  # agents while another dimension varies
LIMIT = 0.05
SPREAD_M, SPREAD_SEEDS = 3000, (0, 1, 2, 3, 4, 5)  # where the designs first differ: is it more than seed noise?
# the cursor lock alone, where it can matter: 300 zombies skipped under the lock, 1-entry batches, agents
# calling every 0.2 s (a stress point, not the series' configuration)
STRESS = dict(batch=1, agent_interval_s=0.2)


def main() -> None:
    costs = Costs()
    try:
        cal = calibrate()
        print(f"   calibration: {cal.describe()}")
        costs = costs.override(cal.overrides())
    except CalibrationUnavailable as e:
        print(f"   calibration unavailable ({e}); using the labelled defaults")
    print(f"   costs: atomic {costs.atomic_ns:.1f} ns, lock {costs.lock_ns:.1f} ns, hand-off {costs.handoff_ns:.1f} ns "
          f"(measured); swap device {costs.swap_bw_mb_s:.0f} MB/s, queue {costs.swap_queue_pages} pages "
          f"(published); entry writeback {costs.entry_wb_ns:.0f} ns, list_lru hold {costs.lru_hold_ns:.0f} ns, "
          f"swap-cache hold {costs.swapcache_hold_ns:.0f} ns (assumptions)")
    base = SimConfig(pattern="same", duration_s=0.5, agents=M_FIXED, costs=costs)
    print("   -- full model: reclaim regression (%) vs the same configuration without agents")
    for dim, values in AXES.items():
        for alg in DESIGNS:
            _line(base, alg, dim, values)
    print(f"   -- the same at M={SPREAD_M} over seeds {SPREAD_SEEDS[0]}..{SPREAD_SEEDS[-1]} (agents' phases, swap-cache "
          "choice)")
    spread = {}
    for alg in DESIGNS:
        regs = [regression_curve(replace(base, seed=s), alg, "agents", (SPREAD_M,))[0][1] for s in SPREAD_SEEDS]
        spread[alg] = (min(regs), max(regs))
        print(f"   agents={SPREAD_M} {alg:18s} min {100 * min(regs):.1f} / median {100 * median(regs):.1f} "
              f"/ max {100 * max(regs):.1f} %", flush=True)
    overlap = max(lo for lo, _ in spread.values()) <= min(hi for _, hi in spread.values())
    print(f"   the designs' ranges {'overlap: their differences at one seed are seed noise' if overlap else 'do not all overlap'}")
    alone = replace(costs, swap_bw_mb_s=0.0, preempt=False, **STRESS)
    print("   -- cursor lock alone (no device limit, no CPU sharing), 300 zombies, batch 1, agents every 0.2 s")
    base = SimConfig(pattern="same", duration_s=0.2, zombies=300, costs=alone)
    for alg in ("memcg_global_lock", "memcg_lock"):
        _line(base, alg, "agents", (1, 12, 100))


def _line(base: SimConfig, alg: str, dim: str, values: tuple) -> None:
    curve = regression_curve(base, alg, dim, values)
    first = onset(curve, LIMIT)
    pts = " ".join(f"{v}:{100 * reg:.1f}" for v, reg in curve)
    where = f"onset (>5%) at {dim}={first}" if first is not None else "no onset in range"
    fixed = "" if dim == "agents" else f" (M={base.agents})"
    print(f"   {dim:8s}{fixed:8s} {alg:18s} {pts}   {where}", flush=True)


if __name__ == "__main__":
    main()
