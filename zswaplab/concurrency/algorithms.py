"""The writeback-cursor algorithms, each written once as a generator of atomic operations.

Every ``yield`` is one atomic operation on shared state (:class:`~zswaplab.concurrency.state.Op`); the
value sent back is its result. The exhaustive checker (:mod:`.checker`) and the timed contention
scheduler (:mod:`.timed`) both drive these same generators.

Rules for algorithm code (the checker hashes a thread's local state from its frames): locals must be
ints, bools, ``None``, strings or tuples (plus the static :class:`Ctx`); no ``for`` loops over iterators.

Memcgs are pre-order indices (root = 0), ``None`` is NULL. A cursor "owns" a css reference on the memcg
it points to unless the algorithm says otherwise (``zswap_next_shrink`` / ``zswap_wb_iter.pos``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from ..kernel.strategies import CURSOR_STRATEGIES
from ..kernel.strategies import (
    strategy_of as strategy_of,  # re-exported: the strategy an algorithm implements
)
from .state import ROOT, Model, Op, TreeShape, VarSpec

Gen = Generator[Op, Any, Any]


class Ctx:
    """Static per-run context handed to algorithm code: variable indices and the tree shape."""

    def __init__(self, alg: Algorithm, model: Model) -> None:
        self.alg = alg
        self.model = model
        self.shape = model.shape

    def cursor(self, root: int) -> int:
        if self.alg.scope == "global":
            return self.model.var("zswap_next_shrink")
        return self.model.var(f"{self.shape.label(root)}.pos")

    def lock(self, root: int) -> int:
        if self.alg.locking == "global":
            return self.model.var("zswap_shrink_lock")
        return self.model.var(f"{self.shape.label(root)}.lock")

    def gen(self, root: int) -> int:
        return self.model.var(f"{self.shape.label(root)}.generation")

    def walk_root(self, root: int) -> int:
        return ROOT if self.alg.scope == "global" else root

    def cleanup_roots(self, dead: int) -> tuple[int, ...]:
        """Cursors that may point at ``dead``: the global one, or ``dead`` and each ancestor's (v1–v3)."""
        return (ROOT,) if self.alg.scope == "global" else self.shape.ancestors(dead)


# ------------------------------------------------------------------------------------ shared helpers
def mem_cgroup_iter(root: int, prev: int | None, rcu: bool = False) -> Gen:
    """``mem_cgroup_iter(root, prev, NULL)`` (mm/memcontrol.c v6.12–v7.0, kernel-semantics §1.12) in two atomic steps.

    Step 1 walks ``css_next_descendant_pre`` from ``prev`` taking ``css_tryget`` on the candidate (root:
    no reference); step 2 drops ``prev``'s reference. Same result and references as
    :meth:`MemcgTree.mem_cgroup_iter`.
    """
    nxt = yield Op("iter_next", root, prev, rcu)
    if prev is not None and prev != root:
        yield Op("put", prev)
    return nxt


def _locked_advance(ctx: Ctx, root: int) -> Gen:
    """The advance loop run with the cursor's lock held (mainline ``shrink_worker``, v1–v3 iterator)."""
    root = ctx.walk_root(root)
    cur = ctx.cursor(root)
    while True:
        pos = yield Op("load", cur)
        memcg = yield from mem_cgroup_iter(root, pos)
        yield Op("store", cur, memcg)
        yield Op("visit", memcg, cur)
        if memcg is None:
            return None
        ok = yield Op("tryget_online", memcg)
        if ok:
            return memcg


def _locked_cleanup_one(ctx: Ctx, root: int, dead: int) -> Gen:
    """``zswap_memcg_offline_cleanup`` body for one cursor, lock held (kernel-semantics §1.11, §2.1 ``__cleanup``)."""
    cur = ctx.cursor(root)
    pos = yield Op("load", cur)
    if pos == dead:
        while True:
            pos = yield from mem_cgroup_iter(root, pos)
            yield Op("store", cur, pos)
            if pos is None:
                break
            on = yield Op("online", pos)
            if on:
                break


# ------------------------------------------------------------------------------- lock-based variants
def advance_locked(ctx: Ctx, root: int) -> Gen:
    """``shrink_worker`` cursor advance (mm/zswap.c v6.11+, kernel-semantics §1.10) / v1–v3 ``zswap_mem_cgroup_iter``.

    ``spin_lock``; repeat ``cursor = mem_cgroup_iter(root, cursor)`` until NULL or
    ``mem_cgroup_tryget_online`` succeeds; ``spin_unlock``. Returns the memcg with the caller's extra ref.
    """
    lk = ctx.lock(ctx.walk_root(root))
    yield Op("lock", lk)
    memcg = yield from _locked_advance(ctx, root)
    yield Op("unlock", lk)
    return memcg


def cleanup_locked(ctx: Ctx, dead: int) -> Gen:
    """``zswap_memcg_offline_cleanup`` (mainline, kernel-semantics §1.11; v1–v3 ancestor walk, kernel-semantics §2.1).

    Each cursor that may point at ``dead`` is advanced past it to an online memcg or NULL under its lock;
    with one global lock the whole walk takes it once.
    """
    roots = ctx.cleanup_roots(dead)
    if ctx.alg.locking == "global":
        lk = ctx.lock(ROOT)
        yield Op("lock", lk)
        i = 0
        while i < len(roots):
            yield from _locked_cleanup_one(ctx, roots[i], dead)
            i += 1
        yield Op("unlock", lk)
    else:
        i = 0
        while i < len(roots):
            lk = ctx.lock(roots[i])
            yield Op("lock", lk)
            yield from _locked_cleanup_one(ctx, roots[i], dead)
            yield Op("unlock", lk)
            i += 1


# --------------------------------------------------------------------------------- lock-free variants
def advance_xchg_sketch(ctx: Ctx, root: int) -> Gen:
    """Yosry's xchg / ``mem_cgroup_iter`` / ``try_cmpxchg`` sketch, exactly as proposed (kernel-semantics §3.4: Yosry Ahmed, 2026-06-02).

    ``m = xchg(pos, NULL); m = mem_cgroup_iter(root, m); if (!try_cmpxchg(pos, NULL, m)) continue;`` then,
    as in ``shrink_worker``, stop on NULL or on ``mem_cgroup_tryget_online`` success.
    """
    cur = ctx.cursor(root)
    while True:
        m = yield Op("xchg", cur, None)
        m = yield from mem_cgroup_iter(root, m)
        ok = yield Op("cas", cur, None, m)
        if not ok:
            continue
        yield Op("visit", m, cur)
        if m is None:
            return None
        ok = yield Op("tryget_online", m)
        if ok:
            return m


def advance_xchg_ref_only(ctx: Ctx, root: int) -> Gen:
    """The sketch plus only the literal suggestion "take a ref on the memcg before calling
    mem_cgroup_iter()": ``css_get(m)`` before iterating, ``css_put(m)`` after the publish attempt, but the
    failure path still forgets the reference ``mem_cgroup_iter`` returned on ``next``."""
    cur = ctx.cursor(root)
    while True:
        m = yield Op("xchg", cur, None)
        if m is not None and m != root:
            yield Op("get", m)
        nxt = yield from mem_cgroup_iter(root, m)
        ok = yield Op("cas", cur, None, nxt)
        if m is not None and m != root:
            yield Op("put", m)
        if not ok:
            continue
        yield Op("visit", nxt, cur)
        if nxt is None:
            return None
        ok = yield Op("tryget_online", nxt)
        if ok:
            return nxt


def advance_xchg_fixed(ctx: Ctx, root: int) -> Gen:
    """The sketch with the fix from the thread: "take a ref on the memcg before calling mem_cgroup_iter()".

    Protocol (designed here; the thread never wrote it down, kernel-semantics §5 Q4):

    1. ``m = xchg(pos, NULL)`` — the thread now owns the cursor's reference on ``m``;
    2. ``css_get(m)`` — a second, private reference: ``mem_cgroup_iter`` consumes this one;
    3. ``next = mem_cgroup_iter(root, m)``; ``online = mem_cgroup_tryget_online(next)`` while we still own
       ``next`` (so the caller's reference is never taken on a memcg we do not hold);
    4. ``try_cmpxchg(pos, NULL, next)``: on success the cursor owns ``next``'s iterator reference and we
       drop the cursor's old reference on ``m``; on failure (someone published meanwhile) we drop every
       reference we took on ``next`` and the old reference on ``m`` and retry;
    5. after a successful publish, re-check ``css_is_dying(next)``: if ``next`` was killed after step 3,
       its offline cleanup may already have run while the cursor was NULL, so nobody else will move the
       cursor off it: drop the caller's reference and advance again (without this step the checker finds a
       cursor left pinning a zombie). ``mem_cgroup_online(next)`` is *not* enough: ``kill_css`` sets
       ``CSS_DYING`` and kills the percpu ref before the cleanup runs, but ``CSS_ONLINE`` is cleared only after
       ``css_offline()`` returned, so a publish that lands while the cleanup runs still reads "online"
       (``recheck="online"``, registered as ``xchg_fixed_online``, fails for that reason).
    """
    return (yield from _advance_xchg_fixed(ctx, root, "dying"))


def advance_xchg_fixed_online(ctx: Ctx, root: int) -> Gen:
    """:func:`advance_xchg_fixed` re-checking ``mem_cgroup_online`` (the protocol as first designed here)."""
    return (yield from _advance_xchg_fixed(ctx, root, "online"))


def _advance_xchg_fixed(ctx: Ctx, root: int, recheck: str) -> Gen:
    """Steps 1–5 of :func:`advance_xchg_fixed`; ``recheck`` is the step-5 op (``"dying"`` or ``"online"``)."""
    cur = ctx.cursor(root)
    while True:
        m = yield Op("xchg", cur, None)
        if m is not None and m != root:
            yield Op("get", m)
        nxt = yield from mem_cgroup_iter(root, m)
        online = nxt is None
        if nxt is not None:
            online = yield Op("tryget_online", nxt)
        ok = yield Op("cas", cur, None, nxt)
        if ok:
            yield Op("visit", nxt, cur)
        if m is not None and m != root:
            yield Op("put", m)
        if ok:
            if online and nxt is not None and nxt != root:
                r = yield Op(recheck, nxt)
                if r == (recheck == "dying"):  # killed after our tryget_online; cleanup saw NULL: move on
                    yield Op("put", nxt)
                    continue
            if online:
                return nxt
            continue
        if nxt is not None and nxt != root:
            if online:
                yield Op("put", nxt)
            yield Op("put", nxt)


def advance_cmpxchg_iter(ctx: Ctx, root: int) -> Gen:
    """Hao's cmpxchg-based ``zswap_mem_cgroup_iter`` sketch as written (kernel-semantics §3.4).

    Under RCU: read ``pos``, walk ``css_next_descendant_pre`` from it taking ``css_tryget_online``, then
    ``cmpxchg(pos, old, next)``; on failure ``css_put(next)`` and restart. The old cursor's reference is
    not handed back and the one reference taken serves both the cursor and the caller.
    """
    cur = ctx.cursor(root)
    while True:
        pos = yield Op("load", cur)
        nxt = pos
        while True:
            nxt = yield Op("next_pre", nxt, root)
            if nxt is None:
                break
            ok = yield Op("tryget_online", nxt)
            if ok:
                break
        ok = yield Op("cas", cur, pos, nxt)
        if ok:
            yield Op("visit", nxt, cur)
            return nxt
        if nxt is not None:
            yield Op("put", nxt)


def advance_cmpxchg_iter_completed(ctx: Ctx, root: int) -> Gen:
    """Hao's sketch completed: a second reference for the caller, and the old position's reference dropped.

    ``pos = READ_ONCE``; walk with ``css_tryget_online`` (the cursor's reference) + ``css_get`` (the
    caller's); ``cmpxchg(pos, old, next)``: success → ``css_put(old)`` and re-check that ``next`` is not
    dying (``css_is_dying``; else drop the caller's reference and advance again — ``mem_cgroup_online`` would
    still be true while the offline cleanup runs, see :func:`advance_xchg_fixed`); failure → put both and
    restart.
    Reading ``pos`` without a reference relies on RCU (the walk may start from a just-released memcg).
    """
    cur = ctx.cursor(root)
    while True:
        pos = yield Op("load", cur)
        nxt = pos
        while True:
            nxt = yield Op("next_pre", nxt, root)
            if nxt is None:
                break
            ok = yield Op("tryget_online", nxt)
            if ok:
                break
        if nxt is not None and nxt != root:
            yield Op("get", nxt)
        ok = yield Op("cas", cur, pos, nxt)
        if ok:
            yield Op("visit", nxt, cur)
            if pos is not None:
                yield Op("put", pos)
            if nxt is not None and nxt != root:
                dying = yield Op("dying", nxt)
                if dying:  # killed after tryget_online, cleanup may have run already: move past it
                    yield Op("put", nxt)
                    continue
            return nxt
        if nxt is not None and nxt != root:
            yield Op("put", nxt)
            yield Op("put", nxt)


def mem_cgroup_iter_reclaim(ctx: Ctx, root: int, prev: int | None, cookie: int) -> Gen:
    """``mem_cgroup_iter(root, prev, reclaim)`` with a reclaim cookie (mm/memcontrol.c v6.12+, M6).

    The shared position holds no reference (cleared by ``invalidate_reclaim_iterators`` at release);
    ``cmpxchg`` publishes the next position; ``generation`` counts completed round trips and a walker whose
    cookie is stale exits. Returns ``(next, cookie)``.
    """
    cur, gen = ctx.cursor(root), ctx.gen(root)
    while True:
        nxt = None  # restart: next = NULL
        g = yield Op("load", gen)
        if prev is None:
            cookie = g  # on start, join the current reclaim iteration cycle
        elif cookie != g:
            break  # a concurrent walker completed it
        pos = yield Op("load", cur)
        nxt = yield Op("iter_next", root, pos, True)
        ok = yield Op("cas", cur, pos, nxt)
        if not ok:
            if nxt is not None and nxt != root:
                yield Op("put", nxt)
            continue
        yield Op("visit", nxt, cur)
        if nxt is None:
            yield Op("inc", gen)
            if prev is None:
                continue  # make sure a new walker sees at least one memcg
        break
    if prev is not None and prev != root:
        yield Op("put", prev)
    return nxt, cookie


def advance_cookie(ctx: Ctx, root: int) -> Gen:
    """A zswap cursor in the reclaim-cookie style: iterate until an online memcg or the end of the cycle."""
    prev = None
    cookie = 0
    while True:
        memcg, cookie = yield from mem_cgroup_iter_reclaim(ctx, root, prev, cookie)
        if memcg is None:
            return None
        on = yield Op("online", memcg)
        if on:
            return memcg
        prev = memcg


def cleanup_lockfree(ctx: Ctx, dead: int) -> Gen:
    """Offline cleanup for the lock-free cursors: while a cursor points at ``dead``, advance it with the
    algorithm's own advance and drop the reference it returns (no second copy of the advance)."""
    roots = ctx.cleanup_roots(dead)
    i = 0
    while i < len(roots):
        cur = ctx.cursor(roots[i])
        while True:
            pos = yield Op("load", cur)
            if pos != dead:
                break
            m = yield from ctx.alg.advance(ctx, roots[i])
            if m is not None and m != ROOT:
                yield Op("put", m)
        i += 1


def cleanup_none(ctx: Ctx, dead: int) -> Gen:
    """Reclaim-cookie positions hold no reference: no offline cleanup (invalidated at release)."""
    return
    yield  # pragma: no cover


# ------------------------------------------------------------------------------------------ registry
@dataclass(frozen=True, eq=False)
class Algorithm:
    name: str
    title: str
    source: str
    scope: str  # "global": one cursor on root_mem_cgroup | "memcg": a cursor per memcg
    locking: str  # "global" | "memcg" | "none"
    advance: Callable[[Ctx, int], Gen]
    cleanup: Callable[[Ctx, int], Gen]
    cursor_owns_ref: bool = True
    generation: bool = False

    def var_specs(self, shape: TreeShape) -> tuple[VarSpec, ...]:
        specs: list[VarSpec] = []
        if self.locking == "global":
            specs.append(VarSpec("zswap_shrink_lock", "lock"))
        glock = 0 if self.locking == "global" else None
        if self.scope == "global":
            specs.append(VarSpec("zswap_next_shrink", "cursor", None, owns_ref=True, protected_by=glock))
            return tuple(specs)
        for i in range(shape.n):
            lab = shape.label(i)
            prot = glock
            if self.locking == "memcg":
                specs.append(VarSpec(f"{lab}.lock", "lock"))
                prot = len(specs) - 1
            specs.append(VarSpec(f"{lab}.pos", "cursor", None, owns_ref=self.cursor_owns_ref,
                                 invalidate_on_release=not self.cursor_owns_ref, protected_by=prot, root=i))
            if self.generation:
                specs.append(VarSpec(f"{lab}.generation", "int", 0))
        return tuple(specs)


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("global_lock", "global spinlock cursor (mainline zswap_next_shrink + offline cleanup)",
                  "kernel-semantics §1.10, §1.11, §3.1", "global", "global", advance_locked, cleanup_locked),
        Algorithm("memcg_lock", "per-memcg spinlock cursors (v1–v3 zswap_wb_iter, ancestor-walk cleanup)",
                  "kernel-semantics §2.1, §3.2", "memcg", "memcg", advance_locked, cleanup_locked),
        Algorithm("memcg_global_lock", "per-memcg cursors under the one global lock (suggested in review, "
                  "never posted)", "kernel-semantics §3.4 (Yosry Ahmed, 2026-06-03)", "memcg", "global", advance_locked,
                  cleanup_locked),
        Algorithm("xchg_sketch", "xchg / mem_cgroup_iter / try_cmpxchg sketch as proposed",
                  "kernel-semantics §3.4 (Yosry Ahmed, 2026-06-02)", "memcg", "none", advance_xchg_sketch, cleanup_lockfree),
        Algorithm("xchg_ref_only", "the sketch with only a ref taken before mem_cgroup_iter()",
                  "kernel-semantics §3.4 (Yosry Ahmed, 2026-06-03), literal reading", "memcg", "none", advance_xchg_ref_only,
                  cleanup_lockfree),
        Algorithm("xchg_fixed", "the sketch with the complete fixed protocol (ref before mem_cgroup_iter)",
                  "kernel-semantics §3.4 (Yosry Ahmed, 2026-06-03), protocol designed here", "memcg", "none",
                  advance_xchg_fixed, cleanup_lockfree),
        Algorithm("xchg_fixed_online", "xchg_fixed re-checking mem_cgroup_online() instead of css_is_dying()",
                  "kernel-semantics §3.4, the protocol as first designed here", "memcg", "none",
                  advance_xchg_fixed_online, cleanup_lockfree),
        Algorithm("cmpxchg_iter", "cmpxchg-based zswap_mem_cgroup_iter sketch as written",
                  "kernel-semantics §3.4 (Hao Jia, 2026-06-02)", "memcg", "none", advance_cmpxchg_iter, cleanup_lockfree),
        Algorithm("cmpxchg_iter_completed", "cmpxchg zswap_mem_cgroup_iter with both references handled",
                  "kernel-semantics §3.4, completed here", "memcg", "none", advance_cmpxchg_iter_completed,
                  cleanup_lockfree),
        Algorithm("cookie", "mem_cgroup_iter reclaim-cookie style (cmpxchg position + generation)",
                  "kernel-semantics §1.12, mm/memcontrol.c v6.12+", "memcg", "none", advance_cookie, cleanup_none,
                  cursor_owns_ref=False, generation=True),
    )
}


# Checker algorithms that are no cursor strategy of the kernel model (zswaplab.kernel.strategies names the ones that
# are), and why: the lab runs one proactive caller at a time, so only the cursors it can run are strategies there.
NOT_A_STRATEGY: dict[str, str] = {
    "global_lock": "the shrink_worker's own cursor (zswap_next_shrink), in every profile; not a proactive strategy",
    "xchg_sketch": "a lock-free proposal from the v3 review, never posted: its only difference is under concurrency",
    "xchg_ref_only": "a reading of that proposal, never posted",
    "xchg_fixed": "the proposal's protocol completed here, never posted (sequentially the per-memcg cursor)",
    "xchg_fixed_online": "a variant of xchg_fixed, never posted",
    "cmpxchg_iter": "a cmpxchg iterator sketch from the v3 review, never posted",
    "cmpxchg_iter_completed": "that sketch completed here, never posted",
    "cookie": "the mem_cgroup_iter reclaim-cookie style, for comparison; no series version uses it for zswap",
}


def resolve_algorithm(name: str) -> str:
    """A checker algorithm name from a checker name or a cursor strategy's name (``per-memcg`` → ``memcg_lock``);
    ``ValueError`` for a strategy without a shared cursor or an unknown name."""
    if name in ALGORITHMS:
        return name
    strat = CURSOR_STRATEGIES.get(name)
    if strat is not None:
        if strat.checker is None:
            raise ValueError(f"strategy {name!r} shares no cursor between callers (a fresh walk per call): "
                             "nothing to check or contend")
        return strat.checker
    with_checker = [s.name for s in CURSOR_STRATEGIES.values() if s.checker]
    raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)} "
                     f"(or a strategy: {', '.join(with_checker)})")


def get_algorithm(name: str) -> Algorithm:
    try:
        return ALGORITHMS[resolve_algorithm(name)]
    except ValueError as e:
        raise KeyError(str(e)) from None


# ----------------------------------------------------------------------------- workload programs
def advancer(ctx: Ctx, root: int, rounds: int) -> Gen:
    """A shrink worker / proactive caller: ``rounds`` times advance the cursor, ``shrink_memcg`` the
    memcg it returned, drop the extra reference (``mem_cgroup_put``)."""
    r = 0
    while r < rounds:
        memcg = yield from ctx.alg.advance(ctx, root)
        yield Op("use", memcg)
        if memcg is not None and memcg != ROOT:
            yield Op("put", memcg)
        r += 1


def offliner(ctx: Ctx, dead: int) -> Gen:
    """``cgroup_rmdir`` in the kernel's order (kernel/cgroup/cgroup.c, v6.12): ``kill_css`` →
    ``percpu_ref_kill`` (``css_tryget_online`` fails from here; ``kill_css`` keeps a ``css_get``), then
    ``css_killed_work_fn`` → ``offline_css``: ``ss->css_offline()`` (``mem_cgroup_css_offline`` →
    ``zswap_memcg_offline_cleanup``, run while ``mem_cgroup_online()`` is still true), then ``CSS_ONLINE``
    cleared, then ``css_put`` of ``kill_css``'s reference."""
    yield Op("kill", dead)
    yield from ctx.alg.cleanup(ctx, dead)
    yield Op("offline", dead)
    yield Op("drop_base", dead)
