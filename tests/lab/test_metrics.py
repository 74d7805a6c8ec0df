"""Properties and worked examples of the fairness/harm metrics (issue 3 §4)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from zswaplab.lab import metrics as M
from zswaplab.lab.records import CallRecord, RefaultRecord, WritebackRecord

# shares are byte/page counts: 0 or at least a micro-unit (tiny floats would underflow when squared)
nonneg = st.just(0.0) | st.floats(min_value=1e-6, max_value=1e9)


def call(i: int, pages: dict[str, int], per_page: int = 1000, errno: int = 0) -> CallRecord:
    return CallRecord(
        index=i, clock_ns=i * 10**9, target="/p", file="memory.reclaim", text="x", errno=errno,
        pages=pages, bytes={k: v * per_page for k, v in pages.items()},
    )


@given(st.lists(nonneg, min_size=1, max_size=50))
def test_jain_bounds(xs):
    j = M.jain_index(xs)
    if all(x == 0 for x in xs):
        assert j is None
    else:
        assert 1 / len(xs) - 1e-12 <= j <= 1 + 1e-12


@given(st.floats(min_value=1e-6, max_value=1e6), st.integers(1, 40))
def test_jain_equal_is_one_and_cv_zero(x, n):
    assert math.isclose(M.jain_index([x] * n), 1.0)
    assert M.coefficient_of_variation([x] * n) < 1e-9


@given(st.floats(min_value=1e-3, max_value=1e6), st.integers(1, 40))
def test_jain_single_winner_is_one_over_n(x, n):
    xs = [x] + [0.0] * (n - 1)
    assert math.isclose(M.jain_index(xs), 1 / n)
    # CV of one winner among n: sqrt(n - 1)
    assert math.isclose(M.coefficient_of_variation(xs), math.sqrt(n - 1), rel_tol=1e-9)


@given(st.lists(nonneg, min_size=1, max_size=30), st.floats(min_value=1e-3, max_value=1e3))
def test_jain_and_cv_scale_invariant(xs, c):
    a, b = M.jain_index(xs), M.jain_index([c * x for x in xs])
    if a is None:
        assert b is None
    else:
        assert math.isclose(a, b, rel_tol=1e-9)


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 10**6), min_size=1, max_size=20))
def test_shares_sum_to_one(d):
    s = M.shares(d)
    if sum(d.values()):
        assert math.isclose(sum(s.values()), 1.0)
        assert all(0 <= v <= 1 for v in s.values())
    else:
        assert all(v == 0 for v in s.values())


@given(st.lists(st.dictionaries(st.sampled_from("abcd"), st.integers(0, 5)), max_size=30))
def test_cumulative_last_equals_totals_and_calls_until_all(per_call):
    calls = [call(i, p) for i, p in enumerate(per_call)]
    children = list("abcd")
    cum = M.cumulative(calls, children, "pages")
    if calls:
        assert cum[-1] == M.totals(calls, children, "pages")
    eligible = dict.fromkeys(children, 100)
    n = M.calls_until_all(calls, eligible)
    if n is None:
        assert not calls or min(M.totals(calls, children, "pages").values()) == 0
    else:
        assert min(cum[n - 1].values()) > 0
        assert n == 1 or min(cum[n - 2].values()) == 0
    # starved after K is exactly the children with zero cumulative after K calls
    for k in (1, 5, 30):
        got = M.starved_after(calls, eligible, k)
        upto = cum[min(k, len(calls)) - 1] if calls else dict.fromkeys(children, 0)
        assert got == [c for c in children if upto[c] == 0]


def test_normalised_jain_accounts_for_eligible_bytes():
    # child a holds twice b's zswap and gets twice the writeback: perfectly fair once normalised
    written = {"a": 2000, "b": 1000}
    assert M.jain_normalised(written, {"a": 20000, "b": 10000}) == 1.0
    # the raw split would be unfair
    assert M.jain_index([2000, 1000]) < 1.0
    # children without eligible bytes are ignored
    assert M.normalised(written, {"a": 1, "b": 0}) == {"a": 2000.0}


def test_active_share_window_and_order():
    wb = [
        WritebackRecord(clock_ns=0, owner="/p/a", page_id=1, length=100, proactive=True, call=0, group="g"),
        WritebackRecord(clock_ns=0, owner="/p/a", page_id=2, length=100, proactive=True, call=0, group="g"),
        WritebackRecord(clock_ns=0, owner="/p/a", page_id=3, length=100, proactive=True, call=0, group="g"),
        WritebackRecord(clock_ns=0, owner="/p/a", page_id=4, length=100, proactive=False, call=None, group="g"),
        WritebackRecord(clock_ns=5 * 10**9, owner="/p/a", page_id=5, length=100, proactive=True, call=1, group="g"),
    ]
    rf = [
        RefaultRecord(clock_ns=2 * 10**9, owner="/p/a", page_id=1, group="g"),  # within 3 s -> active
        RefaultRecord(clock_ns=9 * 10**9, owner="/p/a", page_id=2, group="g"),  # too late
        RefaultRecord(clock_ns=1 * 10**9, owner="/p/a", page_id=4, group="g"),  # not proactive
        RefaultRecord(clock_ns=1 * 10**9, owner="/p/a", page_id=5, group="g"),  # before its writeback
    ]
    assert M.active_share(wb, rf, 3.0) == 1 / 4
    assert M.active_share(wb, rf, 10.0) == 2 / 4
    assert M.active_share([], rf, 3.0) is None


def test_summarize_worked_example():
    # 3 children, equal eligible bytes; a gets 3 pages, b 1, c none
    calls = [call(0, {"a": 2}), call(1, {"a": 1, "b": 1}), call(2, {}, errno=11)]
    s = M.summarize(calls, {"a": 10**6, "b": 10**6, "c": 10**6}, [], [], starve_k=(1, 3))
    assert s["pages"] == {"a": 3, "b": 1, "c": 0}
    assert s["share_pages"] == {"a": 0.75, "b": 0.25, "c": 0.0}
    assert s["min_share"] == 0.0 and s["max_share"] == 0.75
    # x = (3, 1, 0)*1000/1e6 -> Jain = 16 / (3 * 10) = 0.5333
    assert math.isclose(s["jain"], 16 / 30)
    assert s["starved_after"] == {"1": ["b", "c"], "3": ["c"]}
    assert s["calls_until_all"] is None
    assert s["call_results"] == {"OK": 2, "11": 1}


def test_totals_count_what_a_childless_target_wrote():
    # the selftests target a memcg without children: its own entries are written (issue 14 item 5: the
    # summary said "written 0" while calls.jsonl had 1024 pages)
    m = M.summarize([call(0, {"/t": 1024}, per_page=410)], {}, [], [])
    assert m["total_pages"] == 1024 and m["total_bytes"] == 1024 * 410
    assert m["pages"] == {} and m["jain"] is None
