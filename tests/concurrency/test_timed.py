"""The timed contention simulation: determinism, cost model, the lock effects it must show."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zswaplab.concurrency.timed import Costs, SimConfig, simulate, sweep, thresholds


def test_deterministic_for_a_seed() -> None:
    cfg = SimConfig("memcg_global_lock", agents=50, pattern="same", zombies=20, duration_s=0.2, seed=7)
    a, b = simulate(cfg), simulate(cfg)
    assert (a.reclaim_pages, a.agent_pages, a.lock_waits_ns) == (b.reclaim_pages, b.agent_pages, b.lock_waits_ns)
    c = simulate(replace(cfg, seed=8))
    assert c.lock_waits_ns != a.lock_waits_ns


def test_reclaim_alone_runs_at_the_cost_model_rate() -> None:
    costs = Costs()
    r = simulate(SimConfig("memcg_global_lock", agents=0, duration_s=0.1, costs=costs))
    per_batch_s = costs.batch * costs.entry_wb_ns / 1e9
    expected = costs.batch / per_batch_s  # pages/s if the cursor cost nothing
    assert 0.95 * expected < r.reclaim_throughput <= expected
    assert r.lock_waits_ns and max(r.lock_waits_ns) == 0.0


def test_global_lock_makes_reclaim_wait_per_memcg_locks_do_not() -> None:
    """Agents on one parent with many zombies hold the lock long (the skip loop runs under it): with one
    global lock the reclaim thread waits for them; with per-memcg locks it never meets them."""
    # the lock alone: no device limit and no CPU sharing (either would throttle everyone first, see below)
    base = SimConfig(agents=200, pattern="same", zombies=200, duration_s=0.2,
                     costs=Costs(agent_interval_s=0.05, swap_bw_mb_s=0, preempt=False))
    g = simulate(replace(base, algorithm="memcg_global_lock"))
    m = simulate(replace(base, algorithm="memcg_lock"))
    assert max(g.reclaim_lock_waits_ns) > 0
    assert max(m.reclaim_lock_waits_ns) == 0
    assert m.reclaim_pages >= g.reclaim_pages


def test_sweep_regression_and_thresholds() -> None:
    cfg = SimConfig(pattern="different", duration_s=0.2, costs=Costs(agent_interval_s=0.02))
    rows = sweep(cfg, ("memcg_global_lock",), (0, 1, 12))
    assert [r.agents for r in rows] == [0, 1, 12]
    assert rows[0].regression == 0.0
    assert all(r.regression < 0.01 for r in rows)
    assert thresholds(rows, "memcg_global_lock", 0.01) is None
    assert rows[2].result.agent_calls > rows[1].result.agent_calls


def test_cost_overrides_and_errors() -> None:
    c = Costs().override(["batch=1", "spinning=false", "entry_wb_ns=2500"])
    assert (c.batch, c.spinning, c.entry_wb_ns) == (1, False, 2500.0)
    for bad in (["nope=1"], ["batch"], ["batch=x"], ["entry_wb_ns=-1"], ["spinning=maybe"]):
        with pytest.raises(ValueError, match="cost override"):
            Costs().override(bad)
    assert set(Costs.SOURCES) == set(Costs.names())  # every cost says where it comes from


def test_bad_sim_config() -> None:
    for kw in (dict(pattern="x"), dict(cpus=0), dict(agents=-1), dict(duration_s=0)):
        with pytest.raises(ValueError):
            SimConfig(**kw).validate()


def test_swap_device_bandwidth_bounds_reclaim() -> None:
    """Reclaim alone against a slow device writes at the device's rate (plus the queue it may run ahead)."""
    c = Costs(swap_bw_mb_s=100)
    r = simulate(SimConfig("memcg_global_lock", agents=0, duration_s=0.5, costs=c))
    device_pages_s = c.swap_bw_mb_s * 1e6 / 4096
    assert r.reclaim_throughput <= device_pages_s + c.swap_queue_pages / 0.5 + c.batch / 0.5
    assert r.reclaim_throughput >= 0.9 * device_pages_s
    assert r.reclaim_resource_wait_ns["swap_device"] > 0
    fast = simulate(SimConfig("memcg_global_lock", agents=0, duration_s=0.5))
    assert fast.reclaim_resource_wait_ns["swap_device"] == 0 and fast.reclaim_pages > r.reclaim_pages


def test_reclaim_thread_is_preempted_when_agents_outnumber_cpus() -> None:
    base = SimConfig("memcg_lock", cpus=1, agents=4, duration_s=0.2,
                     costs=Costs(agent_interval_s=0.01, swap_bw_mb_s=0))
    on = simulate(base)
    off = simulate(replace(base, costs=replace(base.costs, preempt=False)))
    assert on.reclaim_resource_wait_ns["cpu"] > 0 and off.reclaim_resource_wait_ns["cpu"] == 0
    assert on.reclaim_pages < off.reclaim_pages


def test_agents_call_at_their_rate_even_in_a_short_run() -> None:
    """The measured window starts after a warm-up: a run shorter than the interval sees the steady rate
    (M / interval calls per second), not a start-up transient with no calls at all."""
    r = simulate(SimConfig("memcg_lock", agents=400, duration_s=0.5))  # interval 2 s > duration
    assert 0.7 * 100 <= r.agent_calls <= 1.3 * 100
    one = [simulate(SimConfig("memcg_lock", agents=12, duration_s=2.0, seed=s)).agent_calls for s in range(3)]
    assert all(6 <= n <= 20 for n in one)


def test_shared_list_lru_lock_makes_writers_of_one_memcg_wait() -> None:
    """Agents all writing the parent's children meet the reclaim thread on the same list_lru locks."""
    base = SimConfig("memcg_lock", agents=50, pattern="same", children=1, duration_s=0.2,
                     costs=Costs(agent_interval_s=0.01, swap_bw_mb_s=0, lru_hold_ns=2000))
    r = simulate(base)
    assert r.reclaim_resource_wait_ns["list_lru"] > 0


def test_regression_curve_vary_and_onset() -> None:
    from zswaplab.concurrency.timed import onset, regression_curve, vary

    base = SimConfig("memcg_lock", agents=2, duration_s=0.05, costs=Costs(agent_interval_s=0.01))
    assert vary(base, "batch", 8).costs.batch == 8 and vary(base, "zombies", 3).zombies == 3
    with pytest.raises(ValueError, match="unknown dimension"):
        vary(base, "nope", 1)
    curve = regression_curve(base, "memcg_lock", "agents", (0, 1))
    assert curve[0] == (0, 0.0)
    assert onset([(1, 0.0), (2, 0.06), (3, 0.5)], 0.05) == 2 and onset([(1, 0.01)], 0.05) is None
