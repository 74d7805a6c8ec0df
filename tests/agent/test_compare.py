"""The agent's reclaim pacing against the Senpai baseline on the kernel model (issue 12, docs/agent.md §8).

A reduced run of the comparison (2 MiB, 1800 simulated s, three seeds: seconds, not minutes) asserting the
goal where it is met — more memory offloaded (mean) than Senpai at PSI some ≤ Senpai's on the same seed —
and that the pacing no longer churns (it moved ~3x the workload into zswap before: the old law). Reverting
the pacer to the old law (``budget × (1 − psi/target) × (1 − refaults/reclaimed)`` of one cycle) fails both.
"""

from __future__ import annotations

import pytest

from zswaplab.agent.compare import compare, goal_met, table

MB, DURATION, SEEDS = 2, 1800, (0, 1, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_agent_offloads_more_than_senpai_at_no_more_pressure_steady(seed) -> None:
    a = compare("steady", "agent", mb=MB, duration_s=DURATION, seed=seed)
    s = compare("steady", "senpai", mb=MB, duration_s=DURATION, seed=seed)
    assert goal_met(a, s), (a, s)
    # no churn: what went into zswap is at most the workload's size (the old law: ~3x), few refaults
    assert a["to_zswap_mib"] <= MB
    assert a["refaults_zswap"] + a["refaults_disk"] <= 0.1 * MB * 256


def test_agent_does_not_churn_when_the_hot_set_moves() -> None:
    a = compare("phase", "agent", mb=MB, duration_s=600, seed=0)
    assert a["to_zswap_mib"] <= 1.5 * MB  # the old law: 45 MiB for 16 MiB
    assert a["offloaded_mean_mib"] > compare("phase", "senpai", mb=MB, duration_s=600, seed=0)["offloaded_mean_mib"]


def test_table_reports_min_median_and_the_goal_per_seed() -> None:
    def fake(shape, c, seed):
        return {"to_zswap_mib": 1.0 + seed, "to_disk_mib": 0.0, "offloaded_mean_mib": (3.0 if c == "agent" else 2.0),
                "psi_some_s": 0.001 * (seed + (0 if c == "agent" else 1)), "psi_some_pct": 0.0,
                "refaults_zswap": seed, "refaults_disk": -1}
    res = {(sh, c): [fake(sh, c, s) for s in (0, 1, 4)] for sh in ("steady", "phase", "growth")
           for c in ("senpai", "agent")}
    t = table(results=res).splitlines()
    assert t[2] == "| steady | senpai | 1.0 / 2.0 | 0.0 | 2.00 | 1.00 / 2.00 | 0 / 1 | n/a |  |"
    assert t[3] == "| steady | agent | 1.0 / 2.0 | 0.0 | 3.00 | 0.00 / 1.00 | 0 / 1 | n/a | 3/3 seeds |"


def test_real_comparison_measures_the_workloads_own_mapping() -> None:
    """realcompare's "offloaded" is the workload mapping's own residency (pagemap), not the cgroup's counters
    (which also hold the worker's interpreter: the earlier metric read negative)."""
    import struct
    import subprocess
    import sys

    from zswaplab.agent.realcompare import PM_PRESENT, mapping_resident_kib, resident_pages

    proc = subprocess.Popen([sys.executable, "-m", "zswaplab.agent.realcompare", "--worker", "steady", "--mb", "2",
                             "--duration", "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        word, _, addr = proc.stdout.readline().strip().partition(" ")
        assert word == "ready"
        assert mapping_resident_kib(proc.pid, int(addr, 16), 2 << 20) == 2048  # all of it, nothing else
    finally:
        proc.kill()
        proc.wait()
    swapped = 1 << 62  # PM_SWAP: not present
    assert resident_pages(struct.pack("<4Q", PM_PRESENT | 5, swapped | 7, 0, PM_PRESENT)) == 2


def test_the_old_law_fails_these_checks(monkeypatch) -> None:
    """The mutation, kept: the law before issue 12's pacing work (the budget scaled by the distance to the PSI
    target and by one cycle's refault ratio, no pause, no mid-cycle stop) churns and misses the goal."""
    from zswaplab.agent import pacing
    from zswaplab.kernel.constants import PAGE_SIZE

    def old_plan(self, psi_pct, refaulted, reclaimed, allowance):
        ratio = min(1.0, refaulted / reclaimed) if reclaimed > 0 else 0.0
        n = pacing.paced_reclaim_bytes(psi_pct, self.cfg.psi_target, allowance, allowance)
        n = int(n * (1.0 - ratio))
        n -= n % PAGE_SIZE
        return n, ("reclaimed" if n else "refaulting")

    monkeypatch.setattr(pacing.ReclaimPacer, "plan", old_plan)
    monkeypatch.setattr(pacing.ReclaimPacer, "in_cycle_congested", lambda self, refaulted, reclaimed: False)
    a = compare("steady", "agent", mb=MB, duration_s=DURATION, seed=0)
    s = compare("steady", "senpai", mb=MB, duration_s=DURATION, seed=0)
    assert not goal_met(a, s) and a["to_zswap_mib"] > 3 * MB
