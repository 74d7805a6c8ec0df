"""One name per cursor strategy (zswaplab.kernel.strategies), tied to the checker's algorithm that implements it.

Each strategy that shares a cursor between calls names a checker algorithm; run sequentially on the same tree
(one proactive caller, an rmdir in the middle), the kernel model's proactive driver and the checker's algorithm
visit the same memcgs in the same order, so the per-child split of a small fairness run is the checker's
sequential outcome.
"""

from __future__ import annotations

import pytest

from zswaplab.concurrency.algorithms import (
    ALGORITHMS,
    NOT_A_STRATEGY,
    Ctx,
    offliner,
    resolve_algorithm,
    strategy_of,
)
from zswaplab.concurrency.state import ROOT, Model, Op, Snapshot, State, apply
from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.kernel.constants import PAGE_SIZE
from zswaplab.kernel.profiles import PROFILES, STRATEGIES
from zswaplab.kernel.strategies import CURSOR_STRATEGIES

CHILDREN = ("/p/c0", "/p/c1", "/p/c1/g", "/p/c2", "/p/c3")
CALLS, RMDIR_AFTER, GONE = 14, 4, "/p/c2"  # the cursor rests on GONE when it is removed
SHARED = [s for s in CURSOR_STRATEGIES.values() if s.checker]


def test_every_strategy_names_a_checker_algorithm_and_every_algorithm_is_accounted_for():
    assert STRATEGIES == tuple(CURSOR_STRATEGIES)
    assert {p.cursor_default for p in PROFILES.values()} - {None} <= set(STRATEGIES)
    for s in CURSOR_STRATEGIES.values():
        assert s.checker is None or s.checker in ALGORITHMS, s
        assert s.checker is None or not s.persistent or ALGORITHMS[s.checker].scope == "memcg"
    for name in ALGORITHMS:  # a strategy's algorithm, or checker-only with the reason written down
        assert (strategy_of(name) is None) == (name in NOT_A_STRATEGY), name
    assert set(NOT_A_STRATEGY) <= set(ALGORITHMS)
    assert len({s.checker for s in SHARED}) == len(SHARED)  # one algorithm per strategy


def test_strategy_names_are_accepted_where_algorithms_are():
    for s in SHARED:
        assert resolve_algorithm(s.name) == s.checker and resolve_algorithm(s.checker) == s.checker
    with pytest.raises(ValueError, match="shares no cursor"):
        resolve_algorithm("restart")
    with pytest.raises(ValueError, match="unknown algorithm"):
        resolve_algorithm("per_memcg")


def _kernel(strategy: str) -> Kernel:
    k = Kernel(KernelConfig(profile="v3", strategy=strategy, bypass_second_chance=True), seed=0)
    k.fs.mkdir("/p")
    for c in CHILDREN:
        k.fs.mkdir(c)
        k.alloc(c, 64, clen=1000)
        k.fs.write(c, "memory.reclaim", str(64 * PAGE_SIZE))
    return k


def _lab_calls(k: Kernel, calls: int = CALLS, rmdir_after: int | None = RMDIR_AFTER) -> tuple[list[list[str]], int]:
    """The memcgs the proactive driver shrinks in each of ``calls`` one-page requests on /p, GONE removed before
    request ``rmdir_after``; and how many visits preceded the removal."""
    per_call: list[list[str]] = []
    shrink = k.steps.proactive_shrink_memcg

    def logged(m, want, cutoff):  # type: ignore[no-untyped-def]
        per_call[-1].append(m.path)
        return shrink(m, want, cutoff)

    k.steps.proactive_shrink_memcg = logged  # type: ignore[method-assign]
    at = -1
    for i in range(calls):
        if i == rmdir_after:
            k.fs.rmdir(GONE)
            at = sum(map(len, per_call))
        per_call.append([])
        try:
            k.fs.write("/p", "memory.reclaim", f"{PAGE_SIZE} zswap_writeback_only")
        except OSError:
            pass
    return per_call, at


def _lab_visits(k: Kernel) -> tuple[list[str], int]:
    per_call, at = _lab_calls(k)
    return [m for call in per_call for m in call], at


def _checker_visits(k: Kernel, algorithm: str, n: int, rmdir_at: int) -> list[str]:
    """The checker's algorithm run sequentially on the same tree: ``n`` cursor advances from /p (None = end of
    a pass, not a visit), the offliner of GONE run after ``rmdir_at`` visits."""
    snap = Snapshot.from_memcg_tree(k.tree)
    alg = ALGORITHMS[algorithm]
    model = Model(snap.shape, alg.var_specs(snap.shape))
    st = State.initial(snap, model.specs, 2)
    ctx = Ctx(alg, model)
    path = {i: m.path for i, m in enumerate(k.tree.root.subtree())}
    index = {p: i for i, p in path.items()}

    def run(tid: int, gen) -> object:  # type: ignore[no-untyped-def]
        try:
            op = next(gen)
            while True:
                op = gen.send(apply(model, st, tid, op)[0])
        except StopIteration as stop:
            return stop.value

    out: list[str] = []
    while len(out) < n:
        if len(out) == rmdir_at:
            run(1, offliner(ctx, index[GONE]))
            rmdir_at = -1
        m = run(0, alg.advance(ctx, index["/p"]))
        if m is not None:
            out.append(path[m])
            if m != ROOT:
                apply(model, st, 0, Op("put", m))
    return out


@pytest.mark.parametrize("algorithm", [s.checker for s in SHARED])
def test_lab_strategy_and_its_checker_algorithm_visit_alike(algorithm):
    strategy = strategy_of(algorithm)
    assert strategy is not None
    lab, rmdir_at = _lab_visits(_kernel(strategy))
    checker = _checker_visits(_kernel(strategy), algorithm, len(lab), rmdir_at)
    assert lab == checker
    # the sequential split of the run: every child visited, round-robin, the removed one not after its rmdir
    assert set(CHILDREN) <= set(lab) and GONE not in lab[rmdir_at:] and lab[rmdir_at - 1] == GONE
    assert {c: lab.count(c) for c in CHILDREN} == {c: checker.count(c) for c in CHILDREN}


def test_the_two_lock_strategies_differ_only_under_concurrency():
    """Sequentially per-memcg and per-memcg-global-lock are one cursor (kernel model and checker alike)."""
    runs = [_lab_visits(_kernel(s.name))[0] for s in SHARED]
    assert all(r == runs[0] for r in runs)


@pytest.mark.parametrize("strategy", [s.name for s in CURSOR_STRATEGIES.values() if not s.checker])
def test_strategies_without_a_checker_algorithm_share_nothing_between_calls(strategy):
    """A fresh walk per call: every request starts at the target, so there is no cursor to interleave."""
    per_call, _ = _lab_calls(_kernel(strategy), calls=6, rmdir_after=None)
    starts = [call[0] for call in per_call]
    assert starts == ["/p"] * 6
    assert not CURSOR_STRATEGIES[strategy].persistent
