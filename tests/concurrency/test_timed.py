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
    base = SimConfig(agents=200, pattern="same", zombies=200, duration_s=0.2,
                     costs=Costs(agent_interval_s=0.05))
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
