"""The exhaustive checker: verdicts for every algorithm, counterexamples, reductions, observations."""

from __future__ import annotations

import pytest

from zswaplab.concurrency.algorithms import ALGORITHMS, Ctx
from zswaplab.concurrency.checker import CheckConfig, check, frame_key
from zswaplab.concurrency.state import Op

LOCKED = ("global_lock", "memcg_lock", "memcg_global_lock")


def test_sketch_leak_found_with_the_race_from_the_thread() -> None:
    res = check(CheckConfig("xchg_sketch", threads=3, memcgs=5, rounds=3))
    assert not res.ok
    assert res.violation.startswith("reference leak")
    texts = [s.text for s in res.trace]
    # Hao's diagram: one CPU's publish fails after another CPU restarted from the root
    fail = next(i for i, s in enumerate(res.trace) if "FAILS" in s.text)
    loser = res.trace[fail].tid
    assert any(s.tid != loser and "mem_cgroup_iter(root, NULL) -> root" in s.text for s in res.trace[:fail])
    assert any(s.tid == loser and "(+ref)" in s.text for s in res.trace[:fail])
    assert "xchg" in texts[0]
    assert len({s.tid for s in res.trace if s.tid >= 0}) == 2
    assert res.observations.get("restarted from the root", 0) > 0


def test_sketch_leak_is_found_without_the_offliner_too() -> None:
    res = check(CheckConfig("xchg_sketch", threads=2, memcgs=3, rounds=2, offline=False))
    assert res.violation and "reference leak" in res.violation


def test_the_literal_suggestion_alone_still_leaks() -> None:
    res = check(CheckConfig("xchg_ref_only", threads=3, memcgs=5, rounds=3))
    assert res.violation and res.violation.startswith("reference leak")


def test_fixed_protocol_removes_the_leak() -> None:
    res = check(CheckConfig("xchg_fixed", threads=3, memcgs=4, rounds=2))
    assert res.ok, res.violation
    assert res.states > 1000
    assert not res.livelock
    # the NULL window is still there: restarts are observations, not failures ("should be fine")
    assert res.observations.get("restarted from the root", 0) > 0


def test_online_recheck_is_optimistic_under_the_kernel_offline_order() -> None:
    """With kill_css before the cleanup and CSS_ONLINE cleared after it, re-checking mem_cgroup_online() after
    the publish lets a cursor rest on a memcg whose cleanup already ran (it reads "online" while the cleanup
    runs); css_is_dying() closes the window (test_fixed_protocol_removes_the_leak)."""
    res = check(CheckConfig("xchg_fixed_online", threads=3, memcgs=4, rounds=2))
    assert res.violation and res.violation.startswith("cursor on offline memcg")
    texts = [s.text for s in res.trace]
    kill = next(i for i, t in enumerate(texts) if t.startswith("kill_css("))
    cleared = next(i for i, t in enumerate(texts) if t.startswith("offline_css("))
    recheck = [i for i, t in enumerate(texts) if t.startswith("mem_cgroup_online(") and t.endswith("True")]
    assert any(kill < i < cleared for i in recheck)  # the re-check ran while the cleanup was under way


@pytest.mark.parametrize("name", LOCKED)
def test_lock_variants_verify_at_3x5x3(name: str) -> None:
    res = check(CheckConfig(name, threads=3, memcgs=5, rounds=3))
    assert res.ok, res.violation
    assert not res.cycles  # no retry loops at all: bounded retries
    assert res.states_per_second > 0


def test_lock_variants_with_distinct_targets() -> None:
    res = check(CheckConfig("memcg_lock", threads=4, memcgs=5, rounds=2, targets="different"))
    assert res.ok, res.violation


def test_global_lock_shows_the_negligibly_rare_skip() -> None:
    res = check(CheckConfig("global_lock", threads=3, memcgs=5, rounds=3))
    assert res.observations.get("skipped a memcg", 0) > 0
    steps = res.observation_traces["skipped a memcg"]
    assert any("kill_css" in s.text for s in steps)  # the cleaner moved the cursor


def test_cmpxchg_iter_as_written_is_broken_and_completed_version_verifies() -> None:
    bad = check(CheckConfig("cmpxchg_iter", threads=3, memcgs=4, rounds=2))
    assert bad.violation is not None
    good = check(CheckConfig("cmpxchg_iter_completed", threads=3, memcgs=4, rounds=2))
    assert good.ok, good.violation


def test_cookie_style_verifies() -> None:
    res = check(CheckConfig("cookie", threads=3, memcgs=5, rounds=3))
    assert res.ok, res.violation


@pytest.mark.parametrize("name,memcgs,rounds", [
    ("global_lock", 3, 2), ("memcg_lock", 3, 2), ("cookie", 3, 2), ("xchg_sketch", 3, 2),
    ("xchg_fixed", 3, 1), ("xchg_fixed", 4, 1), ("cmpxchg_iter_completed", 3, 1),
])
def test_reductions_preserve_verdicts_and_observations(name: str, memcgs: int, rounds: int) -> None:
    full = check(CheckConfig(name, threads=3, memcgs=memcgs, rounds=rounds, symmetry=False, por=False))
    red = check(CheckConfig(name, threads=3, memcgs=memcgs, rounds=rounds))
    assert (full.violation is None) == (red.violation is None)
    if full.violation:
        assert full.violation.split(":")[0] == red.violation.split(":")[0]
    else:
        assert set(full.observations) == set(red.observations)
        assert red.states < full.states


def test_every_algorithm_is_registered_with_a_source() -> None:
    for alg in ALGORITHMS.values():
        assert alg.source and alg.title
        assert alg.advance.__doc__


def test_frame_key_rejects_unhashable_locals() -> None:
    def bad(ctx: Ctx):
        it = iter((1, 2))
        yield Op("load", next(it))

    g = bad(None)  # type: ignore[arg-type]
    next(g)
    with pytest.raises(TypeError, match="cannot be hashed"):
        frame_key(g)


@pytest.mark.parametrize("kw", [dict(threads=1), dict(memcgs=1), dict(rounds=0), dict(targets="x"),
                                dict(targets="different", memcgs=2)])
def test_bad_configs_are_rejected(kw) -> None:
    with pytest.raises(ValueError):
        CheckConfig("global_lock", **kw).validate()
    with pytest.raises(KeyError):
        CheckConfig("nope").validate()


def test_observations_can_be_switched_off_without_changing_verdicts() -> None:
    on = check(CheckConfig("global_lock", threads=3, memcgs=5, rounds=3))
    off = check(CheckConfig("global_lock", threads=3, memcgs=5, rounds=3, observe=False))
    assert on.ok and off.ok
    assert on.observations and not off.observations
    assert off.states <= on.states
    leak = check(CheckConfig("xchg_sketch", threads=3, memcgs=5, rounds=3, observe=False))
    assert leak.violation and leak.violation.startswith("reference leak")


@pytest.mark.parametrize("name", ["xchg_sketch", "cmpxchg_iter"])
def test_exploring_past_violations_keeps_the_verdict(name: str) -> None:
    """stop_at_violation=False (the space SPIN's pan -c0 explores): same first violation, breadth-first, and
    its counterexample; more states and more violations."""
    kw = dict(threads=3, memcgs=4, rounds=2, symmetry=False, por=False)
    first = check(CheckConfig(name, **kw))
    full = check(CheckConfig(name, stop_at_violation=False, **kw))
    assert first.violation and full.violation == first.violation
    assert [s.text for s in full.trace] == [s.text for s in first.trace]
    assert full.violations > first.violations == 1
    assert full.states > first.states and not full.truncated


def test_exploring_past_violations_of_a_verified_design_changes_nothing() -> None:
    kw = dict(threads=3, memcgs=5, rounds=2)
    a, b = check(CheckConfig("global_lock", **kw)), check(CheckConfig("global_lock", stop_at_violation=False, **kw))
    assert a.ok and b.ok and a.states == b.states and b.violations == 0


@pytest.mark.parametrize("name", ["xchg_sketch", "xchg_ref_only"])
def test_leak_message_names_the_thread_of_the_trace_column(name: str) -> None:
    """Under symmetry reduction the violating thread's canonical slot may be another interchangeable thread:
    the message names the concrete thread whose column takes the leaking step."""
    res = check(CheckConfig(name, threads=3, memcgs=5, rounds=3))
    leaker = res.trace[-2].tid
    assert res.violation.startswith(f"reference leak: {res.thread_names[leaker].split(' ', 1)[1]} ")
