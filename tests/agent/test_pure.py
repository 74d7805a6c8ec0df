from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zswaplab.agent.backoff import Backoff
from zswaplab.agent.budget import Budget
from zswaplab.agent.engine import glob_match
from zswaplab.agent.guardrails import Sample, evaluate
from zswaplab.agent.policy import Guardrails, OnTrip
from zswaplab.agent.stats import parse_memory_stat, parse_pressure


def psi(a10: float, a60: float = 0.0):
    return parse_pressure(f"some avg10={a10} avg60={a60} avg300=0.00 total=5\nfull avg10=0 avg60=0 avg300=0 total=0")


def test_psi_guardrails() -> None:
    g = Guardrails(psi_some_avg10=5.0, psi_some_avg60=2.0)
    assert evaluate(g, None, Sample(0, {}, psi(4.0, 1.0))).trips == []
    trips = evaluate(g, None, Sample(0, {}, psi(6.0, 3.0))).trips
    assert [t.reason for t in trips] == ["psi_some_avg10", "psi_some_avg60"]
    ev = evaluate(g, None, Sample(0, {}, None))
    # issue 12 item 8: missing/garbled PSI fails closed (it used to fail open: no trip)
    assert [t.reason for t in ev.trips] == ["psi_unavailable"] and ev.unavailable == ["memory.pressure"]


def test_rate_guardrails_and_refault_key_choice() -> None:
    g = Guardrails(zswpin_rate=4096 * 10, refault_rate=4096 * 10, zswpwb_rate=4096 * 100)
    a = Sample(0.0, {"zswpin": 0, "pswpin": 0, "zswpwb": 0, "workingset_refault_anon": 0}, None)
    b = Sample(2.0, {"zswpin": 30, "pswpin": 10, "zswpwb": 300, "workingset_refault_anon": 1000}, None)
    ev = evaluate(g, a, b)
    assert {t.reason for t in ev.trips} == {"zswpin_rate", "zswpwb_rate"}  # pswpin (first key) is 5 pages/s
    assert ev.rates["refault_rate"] == 5 * 4096
    g2 = Guardrails(refault_rate=4096 * 10, refault_keys=("workingset_refault_anon",))
    assert [t.reason for t in evaluate(g2, a, b).trips] == ["refault_rate"]


def test_rates_need_time_and_monotonic_counters() -> None:
    g = Guardrails(zswpin_rate=1.0)
    a = Sample(1.0, {"zswpin": 100}, None)
    assert evaluate(g, a, Sample(1.0, {"zswpin": 200}, None)).trips == []  # no time passed
    assert evaluate(g, a, Sample(5.0, {"zswpin": 50}, None)).trips == []  # counter reset (new cgroup)
    ev = evaluate(g, a, Sample(5.0, {}, None))
    assert ev.trips == [] and ev.unavailable == ["memory.stat:zswpin"]


def test_stat_parser_tolerates_garbage() -> None:
    ms = parse_memory_stat("anon 5\nzswap 7\nweird\nnew_key_2030 9\nbad x\n\n")
    assert ms.values == {"anon": 5, "zswap": 7, "new_key_2030": 9} and ms.bad_lines == ["weird", "bad x"]
    assert parse_pressure("full avg10=1 avg60=2 avg300=3 total=4\n") is None
    assert parse_pressure("some avg10=x avg60=1\n") is None


def test_budget_cycle_and_hour() -> None:
    b = Budget(per_cycle=100, per_hour=250)
    b.start_cycle()
    assert b.allowance(0) == 100
    b.charge(0, 60, 60)
    b.charge(1, 60, -1)  # not measurable: requested is charged
    assert b.allowance(1) == 0 and b.exhausted_by(1) == "cycle"
    b.start_cycle()
    b.charge(10, 100, 100)
    b.start_cycle()
    assert b.allowance(20) == 30 and b.used_hour(20) == 220
    # charges within BUCKET_S share one window entry stamped with the latest (t=10): it leaves the window late,
    # never early (bounded memory; the hourly quota is never exceeded)
    assert b.allowance(3601) == 30 and b.allowance(3611) == 100
    assert (b.nr_tried, b.nr_applied, b.bytes_applied) == (3, 2, 160)


def test_budget_window_is_bounded() -> None:
    from zswaplab.agent.budget import BUCKET_S, HOUR_S

    b = Budget(per_cycle=10**18, per_hour=10**18)
    for i in range(100_000):  # a step every 0.1 s for almost three hours
        b.charge(i * 0.1, 1, 1)
        b.allowance(i * 0.1)
    assert len(b._window) <= HOUR_S / BUCKET_S + 2


@given(st.lists(st.tuples(st.floats(0, 10), st.integers(0, 50)), max_size=40))
def test_budget_never_exceeds_hourly_quota(steps) -> None:
    b = Budget(per_cycle=10**9, per_hour=200)
    t = 0.0
    for dt, want in steps:
        t += dt
        req = min(want, b.allowance(t))
        b.charge(t, req, req)
        assert b.used_hour(t) <= 200


def test_backoff_exponential_capped_and_resume() -> None:
    bo = Backoff(OnTrip(action="backoff", backoff_initial=10, backoff_max=35, backoff_factor=2, resume_after=2))
    assert bo.on_trip(0) == 10 and not bo.may_run(5) and bo.may_run(10)
    assert bo.on_trip(10) == 20 and bo.on_trip(30) == 35 and bo.on_trip(65) == 35
    bo.on_clean_cycle()
    assert bo.level == 4
    bo.on_clean_cycle()
    assert bo.level == 0 and bo.delay() == 10
    stop = Backoff(OnTrip(action="stop-cycle"))
    assert stop.on_trip(0) == 0 and stop.may_run(0)


def test_glob_match() -> None:
    assert glob_match("/a/*", "/a/b") and not glob_match("/a/*", "/a/b/c") and not glob_match("/a/*", "/a")
    assert glob_match("/a/**", "/a") and glob_match("/a/**", "/a/b/c") and glob_match("/", "/")
    assert glob_match("/*.slice/x", "/web.slice/x") and not glob_match("/*.slice", "/web.scope")
    assert glob_match("/a?c", "/abc") and not glob_match("/a?c", "/a/c") and glob_match("/[!x]b", "/ab")
    assert glob_match("/a.b", "/a.b") and not glob_match("/a.b", "/axb") and glob_match("/**", "/")
    assert glob_match("/**", "/x/y") and glob_match("/a/**/z", "/a/z") and glob_match("/a/**/z", "/a/b/c/z")
