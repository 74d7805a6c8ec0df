"""The pure decisions of the writeback loop (decide.py) and of discovery (discovery.assign)."""

from __future__ import annotations

from zswaplab.agent.decide import Outcome, Step, gate, judge, max_steps, plan
from zswaplab.agent.discovery import assign
from zswaplab.agent.policy import loads


def test_gate() -> None:
    assert gate(action="writeback", writes=True, zswap=10, min_zswap=100) is Outcome.BELOW_MIN_ZSWAP
    assert gate(action="writeback", writes=False, zswap=None, min_zswap=100) is Outcome.OBSERVE_ONLY
    assert gate(action="observe", writes=True, zswap=None, min_zswap=0) is Outcome.OBSERVE_ONLY
    assert gate(action="reclaim", writes=False, zswap=0, min_zswap=100) is Outcome.DONE  # min_zswap: writeback only
    assert gate(action="writeback", writes=True, zswap=100, min_zswap=100) is Outcome.DONE


def test_plan() -> None:
    kw = dict(exhausted_by=None, step=64 << 10, page_granular=False, steps=0, step_cap=10)
    assert plan(allowance=1 << 20, **kw) == 64 << 10
    assert plan(allowance=6000, **kw) == 6000
    assert plan(allowance=6000, **{**kw, "page_granular": True}) == 4096
    assert plan(allowance=100, **kw) is Outcome.QUOTA_CYCLE
    assert plan(allowance=0, **{**kw, "exhausted_by": "hour"}) is Outcome.QUOTA_HOUR
    assert plan(allowance=1 << 20, **{**kw, "steps": 10}) is Outcome.STEP_CAP
    assert max_steps(256 << 10, 64 << 10, 2) == 4 * 4 + 2 + 4


def test_judge() -> None:
    j = dict(abandoned=False, eagain=False, error=False, retries=1)
    assert judge(written=4096, zero_progress=1, **j) == (Step.OK, 0, Outcome.DONE)
    assert judge(written=0, zero_progress=0, **j) == (Step.NO_PROGRESS, 1, Outcome.DONE)
    assert judge(written=0, zero_progress=1, **j) == (Step.NO_PROGRESS, 2, Outcome.EXHAUSTED)
    assert judge(written=0, zero_progress=1, **{**j, "eagain": True}) == (Step.EAGAIN, 2, Outcome.EXHAUSTED)
    assert judge(written=5, zero_progress=1, **{**j, "eagain": True}) == (Step.EAGAIN, 0, Outcome.DONE)
    assert judge(written=-1, zero_progress=0, **{**j, "error": True}) == (Step.ERROR, 0, Outcome.DONE)
    assert judge(written=0, zero_progress=0, **{**j, "abandoned": True})[2] is Outcome.ABANDONED


def test_assign_first_entry_wins_and_reports() -> None:
    pol = loads('[[target]]\npath = "/a/*"\n[[target]]\npath = "/a/x"\n[[target]]\npath = "/zz"\n'
                '[[target]]\npath = "/s"\ndescendants = true\n')
    got = assign(pol.targets, ["/", "/a", "/a/x", "/a/y", "/s", "/s/l1", "/s/m", "/s/m/l2"])
    assert got.wanted == [("/a/x", 0), ("/a/y", 0), ("/s/l1", 3), ("/s/m/l2", 3)]
    assert got.unmatched == [2] and got.duplicates == [("/a/x", 0, 1)]
