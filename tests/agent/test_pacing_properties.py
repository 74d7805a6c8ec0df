"""Properties of the stock-kernel reclaim law (``pacing.ReclaimPacer``, ``paced_reclaim_bytes``), for any input."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from zswaplab.agent.pacing import BRAKE, PacerConfig, ReclaimPacer, paced_reclaim_bytes
from zswaplab.kernel.constants import PAGE_SIZE

psi = st.floats(0.0, 100.0)
target = st.floats(0.001, 100.0)
size = st.integers(0, 1 << 34)
pages = st.integers(0, 1 << 22)
configs = st.builds(PacerConfig, psi_target=target, probe=st.integers(PAGE_SIZE, 1 << 30),
                    max_window=st.integers(PAGE_SIZE, 1 << 34), refault_tolerance=st.floats(0.0, 100.0),
                    backoff=st.floats(0.05, 0.95), max_hold=st.integers(1, 1000), smoothing=st.floats(0.0, 0.95))
cycle = st.tuples(psi, pages, pages, size, st.booleans(), st.booleans())  # + completed?, refaults mid-cycle?


@given(psi, target, size, size)
def test_the_amount_is_whole_pages_bounded_and_zero_at_the_target(p, t, window, allowance) -> None:
    n = paced_reclaim_bytes(p, t, window, allowance)
    assert 0 <= n <= min(window, allowance) and n % PAGE_SIZE == 0
    if p >= t:
        assert n == 0


@given(psi, psi, target, size, size)
def test_the_amount_falls_as_pressure_rises(p1, p2, t, window, allowance) -> None:
    lo, hi = sorted((p1, p2))
    assert paced_reclaim_bytes(hi, t, window, allowance) <= paced_reclaim_bytes(lo, t, window, allowance)


def _drive(pacer: ReclaimPacer, history: list[tuple[float, int, int, int, bool, bool]]) -> None:
    for p, refaulted, reclaimed, allowance, completed, mid in history:
        n, _ = pacer.plan(p, refaulted, reclaimed, allowance)
        if n and mid:
            pacer.in_cycle_congested(refaulted + 1, 0)
        pacer.cycle_done(n if completed else n // 2, n)


@settings(max_examples=120)
@given(configs, st.lists(cycle, max_size=12), psi, pages, pages, size)
def test_never_above_the_budget_nothing_under_pressure(cfg, history, p, refaulted, reclaimed, allowance) -> None:
    pacer = ReclaimPacer(cfg)
    _drive(pacer, history)
    assert PAGE_SIZE <= pacer.window <= max(PAGE_SIZE, cfg.probe, cfg.max_window)
    assert 0 <= pacer.hold < cfg.max_hold and 1 <= pacer.next_hold <= cfg.max_hold
    n, why = pacer.plan(p, refaulted, reclaimed, allowance)
    assert 0 <= n <= allowance and n % PAGE_SIZE == 0
    if p >= BRAKE * cfg.psi_target:
        assert n == 0 and why == "psi_above_target"
    assert (n > 0) == (why == "reclaimed")


@settings(max_examples=120)
@given(configs, st.lists(cycle, max_size=12), psi, pages, pages, pages, size)
def test_more_refaults_never_mean_more_reclaim(cfg, history, p, r1, r2, reclaimed, allowance) -> None:
    pacer = ReclaimPacer(cfg)
    _drive(pacer, history)
    twin = copy.deepcopy(pacer)
    lo, hi = sorted((r1, r2))
    assert pacer.plan(p, hi, reclaimed, allowance)[0] <= twin.plan(p, lo, reclaimed, allowance)[0]
    # ... and not later either: the same quiet cycles follow both
    for _ in range(3):
        assert pacer.plan(p, 0, 0, allowance)[0] <= twin.plan(p, 0, 0, allowance)[0]


@settings(max_examples=80)
@given(configs, st.lists(cycle, max_size=12), st.integers(1, 1 << 20), size)
def test_reclaim_that_all_comes_back_stops(cfg, history, reclaimed, allowance) -> None:
    pacer = ReclaimPacer(cfg)
    _drive(pacer, history)
    r_avg = cfg.smoothing * pacer.reclaimed_avg + reclaimed
    refaulted = int(cfg.refault_tolerance * max(r_avg, 1.0)) + 1  # above the tolerance
    assert pacer.plan(0.0, refaulted, reclaimed, allowance) == (0, "refaulting")
