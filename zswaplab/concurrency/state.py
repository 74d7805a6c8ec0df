"""Shared state of the cursor algorithms and the semantics of their atomic operations.

The state is what several CPUs see at once: the memcg tree (frozen shape; per memcg a lifecycle status and
its count of extra css references), the shared words of an algorithm (cursors, spinlocks, generation
counters), and per thread the references it holds (ghost state used only to check reference ownership).
It is built from a :class:`zswaplab.kernel.memcg.MemcgTree` and mirrors its semantics:

* lifecycle, in the kernel's order (``cgroup_destroy_locked`` → ``kill_css`` → ``css_killed_work_fn`` →
  ``offline_css``, kernel/cgroup/cgroup.c, v6.12): ``ONLINE`` → ``DYING`` (``kill_css``: ``percpu_ref_kill``
  has run, so ``css_tryget_online`` fails, but ``CSS_ONLINE`` is still set: ``mem_cgroup_online()`` is true
  while the ``css_offline()`` hooks — the zswap cursor cleanup — run; the css is pinned by ``kill_css``'s own
  ``css_get``, counted here as the base reference) → ``OFFLINE`` (``offline_css`` cleared ``CSS_ONLINE`` after
  ``css_offline()`` returned) → ``ZOMBIE`` (``css_killed_work_fn``'s ``css_put``: only other holders keep it)
  → ``RELEASED`` (last reference gone, unlinked from the parent's children list, as ``css_release_work_fn``);
* a memcg's total references = extra references + base (until offline completes) + one structural
  reference per unreleased child (``init_and_link_css``), exactly as ``MemcgTree`` counts ``refcnt``;
* the pre-order successor is ``MemcgTree.css_next_descendant_pre`` run on a view of the tree with the
  released memcgs unlinked, so ``mem_cgroup_iter`` here walks exactly like ``MemcgTree.mem_cgroup_iter``.

One :func:`apply` implements every operation; the exhaustive checker runs it on thawed copies of frozen
states, the timed scheduler runs it in place. Memcgs are numbered in the pre-order of the original tree
(root = 0); ``None`` is the NULL pointer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

from zswaplab.kernel.memcg import CssState, MemcgTree

ONLINE, DYING, OFFLINE, ZOMBIE, RELEASED = 0, 1, 2, 3, 4
STATUS_NAMES = ("online", "dying", "offline", "zombie", "released")
# mem_cgroup_online(): CSS_ONLINE is set (cleared by offline_css only after css_offline() returned)
CSS_ONLINE_SET = (ONLINE, DYING)
ROOT = 0


class Violation(Exception):
    """A safety property failed while applying an operation."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class Op(NamedTuple):
    """One atomic operation yielded by an algorithm: ``kind`` plus up to three operands."""

    kind: str
    a: Any = None
    b: Any = None
    c: Any = None


# ------------------------------------------------------------------------------------------ tree shape
class _View:
    """A node of a memcg tree view accepted by ``MemcgTree.css_next_descendant_pre`` (duck-typed)."""

    __slots__ = ("idx", "parent", "children")

    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.parent: _View | None = None
        self.children: list[_View] = []


@dataclass(frozen=True, eq=False)
class TreeShape:
    """The frozen hierarchy: ``parents[i]`` (``None`` for the root) and names, in pre-order."""

    parents: tuple[int | None, ...]
    names: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.parents)

    def children(self, i: int) -> tuple[int, ...]:
        return tuple(j for j in range(self.n) if self.parents[j] == i)

    def ancestors(self, i: int) -> tuple[int, ...]:
        """``i`` and every ancestor up to the root."""
        out = []
        p: int | None = i
        while p is not None:
            out.append(p)
            p = self.parents[p]
        return tuple(out)

    def in_subtree(self, i: int, root: int) -> bool:
        return root in self.ancestors(i)

    def label(self, i: int | None) -> str:
        if i is None:
            return "NULL"
        return "root" if i == ROOT else self.names[i]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - shapes are few and immutable
    def _views(self, released_mask: int) -> tuple[_View, ...]:
        views = tuple(_View(i) for i in range(self.n))
        for i in range(1, self.n):
            p = self.parents[i]
            assert p is not None
            views[i].parent = views[p]
            if not released_mask >> i & 1:
                views[p].children.append(views[i])  # creation order = index order among siblings
        return views

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def next_pre(self, pos: int | None, root: int, released_mask: int) -> int | None:
        """``css_next_descendant_pre(pos, root)`` on the tree with the released memcgs unlinked.

        Delegates to :meth:`MemcgTree.css_next_descendant_pre`. A released ``pos`` (reachable only under
        RCU) keeps its place among its siblings, as the kernel's ``css_next_child`` does for removed
        csses by serial number.
        """
        p = pos
        while p is not None and released_mask >> p & 1:  # a stale RCU position and its released ancestors
            released_mask &= ~(1 << p)
            p = self.parents[p]
        views = self._views(released_mask)
        nxt = MemcgTree.css_next_descendant_pre(None if pos is None else views[pos], views[root])
        return None if nxt is None else nxt.idx

    @classmethod
    def balanced(cls, n: int) -> TreeShape:
        """A deterministic ``n``-memcg tree: memcg i's parent is (i-1)//2, relabelled in pre-order."""
        tree = MemcgTree()
        nodes = [tree.root]
        for i in range(1, n):
            nodes.append(tree.mkdir(nodes[(i - 1) // 2], f"m{i}"))
        return Snapshot.from_memcg_tree(tree).shape


# ------------------------------------------------------------------------------------------- variables
@dataclass(frozen=True)
class VarSpec:
    """A shared word. ``kind``: ``lock`` (0 free / holder tid+1), ``cursor`` (memcg pointer) or ``int``.

    A cursor that ``owns_ref`` holds one css reference on the memcg it points to (``zswap_next_shrink``,
    ``zswap_wb_iter.pos``); ``xchg`` and successful ``cmpxchg`` move that reference between the cursor and
    the thread. ``invalidate_on_release`` models ``invalidate_reclaim_iterators`` (cursor holds no
    reference and is reset to NULL when its memcg is released). ``protected_by`` names a lock that must
    be held for every access (checked). ``root`` is the memcg whose subtree the cursor walks.
    """

    name: str
    kind: str = "int"
    init: Any = 0
    owns_ref: bool = False
    invalidate_on_release: bool = False
    protected_by: int | None = None
    root: int = ROOT


# ----------------------------------------------------------------------------------------------- state
@dataclass(frozen=True)
class Snapshot:
    """Initial frozen state built from a ``MemcgTree``: shape, statuses and extra references."""

    shape: TreeShape
    status: tuple[int, ...]
    extra: tuple[int, ...]
    ids: tuple[int, ...]  # kernel-model memcg id of each index

    @classmethod
    def from_memcg_tree(cls, tree: MemcgTree) -> Snapshot:
        memcgs = [m for m in tree.root.subtree()]  # pre-order, unreleased memcgs only
        index = {m.id: i for i, m in enumerate(memcgs)}
        parents = tuple(None if m.parent is None else index[m.parent.id] for m in memcgs)
        names = tuple(m.name if m.parent is not None else "root" for m in memcgs)
        held = tree.ledger.held()
        status = []
        extra = []
        for m in memcgs:
            if m.state is CssState.ONLINE:
                status.append(ONLINE)
            elif m.state is CssState.OFFLINE:
                status.append(ZOMBIE)  # offline() in the kernel model drops the base ref at once
            else:  # pragma: no cover - released memcgs are not in subtree()
                status.append(RELEASED)
            extra.append(0 if m.parent is None else held.get(m.id, 0))
        return cls(TreeShape(parents, names), tuple(status), tuple(extra), tuple(m.id for m in memcgs))


class State:
    """Mutable working copy of a shared state; :meth:`key` freezes it, :meth:`thaw` rebuilds it."""

    __slots__ = ("status", "extra", "vars", "ghost", "held", "done", "rmask")

    def __init__(self, status: list[int], extra: list[int], vars_: list[Any], ghost: list[tuple[int, int]],
                 held: list[tuple[int, ...]], done: list[bool]) -> None:
        self.rmask = sum(1 << i for i, x in enumerate(status) if x == RELEASED)  # derived, not in key()
        self.status = status
        self.extra = extra
        self.vars = vars_
        self.ghost = ghost  # per variable: (last visited pre-order index or -1, visited bitmask)
        self.held = held  # per thread: sorted tuple of memcgs it holds a reference on
        self.done = done

    def copy(self) -> State:
        st = State.__new__(State)
        st.status, st.extra, st.vars, st.ghost = self.status[:], self.extra[:], self.vars[:], self.ghost[:]
        st.held, st.done, st.rmask = self.held[:], self.done[:], self.rmask
        return st

    def key(self) -> tuple:
        return (tuple(self.status), tuple(self.extra), tuple(self.vars), tuple(self.ghost),
                tuple(self.held), tuple(self.done))

    @classmethod
    def thaw(cls, key: tuple) -> State:
        s, e, v, g, h, d = key
        return cls(list(s), list(e), list(v), list(g), list(h), list(d))

    @classmethod
    def initial(cls, snap: Snapshot, specs: tuple[VarSpec, ...], nthreads: int) -> State:
        return cls(list(snap.status), list(snap.extra), [s.init for s in specs], [(-1, 0)] * len(specs),
                   [()] * nthreads, [False] * nthreads)

    @classmethod
    def initial_for(cls, shape: TreeShape, specs: tuple[VarSpec, ...], nthreads: int) -> State:
        """All memcgs online, no extra references."""
        n = shape.n
        return cls([ONLINE] * n, [0] * n, [s.init for s in specs], [(-1, 0)] * len(specs),
                   [()] * nthreads, [False] * nthreads)

    def released_mask(self) -> int:
        return self.rmask


class Model:
    """Static context of one run: tree shape and variable layout (never part of a state key)."""

    def __init__(self, shape: TreeShape, specs: tuple[VarSpec, ...]) -> None:
        self.shape = shape
        self.specs = specs
        self.var_index = {s.name: i for i, s in enumerate(specs)}
        kids: list[list[int]] = [[] for _ in range(shape.n)]
        for j in range(1, shape.n):
            p = shape.parents[j]
            assert p is not None
            kids[p].append(j)
        self.children = tuple(tuple(k) for k in kids)
        self.invalidate_vars = tuple(i for i, s in enumerate(specs) if s.invalidate_on_release)
        self._subtree: dict[int, frozenset[int]] = {}

    def subtree(self, root: int) -> frozenset[int]:
        hit = self._subtree.get(root)
        if hit is None:
            hit = frozenset(j for j in range(self.shape.n) if self.shape.in_subtree(j, root))
            self._subtree[root] = hit
        return hit

    def var(self, name: str) -> int:
        return self.var_index[name]


# ---------------------------------------------------------------------------------------- semantics
def _hold(st: State, tid: int, m: int) -> None:
    st.held[tid] = tuple(sorted(st.held[tid] + (m,)))


def _unhold(st: State, tid: int, m: int) -> bool:
    h = st.held[tid]
    if m in h:
        i = h.index(m)
        st.held[tid] = h[:i] + h[i + 1:]
        return True
    return False


def _total_refs(model: Model, st: State, m: int) -> int:
    base = 1 if st.status[m] in (ONLINE, DYING, OFFLINE) else 0
    kids = sum(1 for c in model.children[m] if st.status[c] != RELEASED) if m != ROOT else 0
    return st.extra[m] + base + kids


def _maybe_release(model: Model, st: State, m: int) -> None:
    """``css_release_work_fn`` when the last reference is gone: unlink and drop the parent's pin."""
    while m != ROOT and st.status[m] == ZOMBIE and _total_refs(model, st, m) == 0:
        st.status[m] = RELEASED
        st.rmask |= 1 << m
        for v in model.invalidate_vars:  # invalidate_reclaim_iterators(): cmpxchg(&pos, dead, NULL)
            if st.vars[v] == m:
                st.vars[v] = None
        p = model.shape.parents[m]
        assert p is not None
        m = p


def _check_alive(model: Model, st: State, m: int | None, what: str) -> None:
    if m is not None and st.status[m] == RELEASED:
        raise Violation("use after release", f"{what} on released {model.shape.label(m)}")


def _check_access(model: Model, st: State, tid: int, v: int) -> None:
    lk = model.specs[v].protected_by
    if lk is not None and st.vars[lk] != tid + 1:
        raise Violation("unprotected access", f"{model.specs[v].name} accessed without {model.specs[lk].name}")


def _take(model: Model, st: State, tid: int, v: int, m: int | None) -> None:
    """The thread takes over the reference a ref-owning cursor held on ``m``."""
    spec = model.specs[v]
    if spec.owns_ref and m is not None and m != ROOT and m != spec.root:
        _hold(st, tid, m)


def _give(model: Model, st: State, tid: int, v: int, m: int | None) -> None:
    """The thread hands its reference on ``m`` to a ref-owning cursor."""
    spec = model.specs[v]
    if spec.owns_ref and m is not None and m != ROOT and m != spec.root:  # a walk's root is never pinned
        if not _unhold(st, tid, m):
            raise Violation("unreferenced publish",
                            f"stored {model.shape.label(m)} into {model.specs[v].name} without holding a reference")


def enabled(st: State, tid: int, op: Op) -> bool:
    """Whether ``op`` can run now (only ``lock`` blocks: spinning is modelled as waiting)."""
    return op.kind != "lock" or st.vars[op.a] == 0


def apply(model: Model, st: State, tid: int, op: Op) -> tuple[Any, tuple[str, ...]]:
    """Run ``op`` for thread ``tid`` on ``st`` in place; return (result, observations).

    Raises :class:`Violation` when a safety property fails.
    """
    k = op.kind
    shape = model.shape
    obs: tuple[str, ...] = ()
    if k == "load":
        _check_access(model, st, tid, op.a)
        return st.vars[op.a], obs
    if k == "store":
        _check_access(model, st, tid, op.a)
        _give(model, st, tid, op.a, op.b)
        st.vars[op.a] = op.b
        return None, obs
    if k == "xchg":
        _check_access(model, st, tid, op.a)
        old = st.vars[op.a]
        _give(model, st, tid, op.a, op.b)
        st.vars[op.a] = op.b
        _take(model, st, tid, op.a, old)
        return old, obs
    if k == "cas":
        _check_access(model, st, tid, op.a)
        if st.vars[op.a] != op.b:
            return False, obs
        _give(model, st, tid, op.a, op.c)
        st.vars[op.a] = op.c
        _take(model, st, tid, op.a, op.b)
        return True, obs
    if k == "inc":
        _check_access(model, st, tid, op.a)
        st.vars[op.a] += 1
        return st.vars[op.a], obs
    if k == "lock":
        assert st.vars[op.a] == 0, "lock taken while held (scheduler must check enabled())"
        st.vars[op.a] = tid + 1
        return None, obs
    if k == "unlock":
        if st.vars[op.a] != tid + 1:
            raise Violation("bad unlock", f"{model.specs[op.a].name} released by a non-holder")
        st.vars[op.a] = 0
        return None, obs
    if k == "iter_next":  # one mem_cgroup_iter step: css_next_descendant_pre + css_tryget under RCU
        root, pos, rcu = op.a, op.b, op.c
        if not rcu:
            _check_alive(model, st, pos, "mem_cgroup_iter from prev")
        mask = st.released_mask()
        while True:
            pos = shape.next_pre(pos, root, mask)
            if pos is None or pos == root:
                return pos, obs
            if st.status[pos] != RELEASED and _total_refs(model, st, pos) > 0:  # css_tryget
                st.extra[pos] += 1
                _hold(st, tid, pos)
                return pos, obs
    if k == "next_pre":  # css_next_descendant_pre under RCU, no reference taken
        return shape.next_pre(op.a, op.b, st.released_mask()), obs
    if k in ("tryget", "tryget_online"):
        m = op.a
        if m == ROOT:
            return True, obs
        if st.status[m] == RELEASED:
            return False, ("tryget of a released memcg (safe only under RCU)",)
        if k == "tryget_online" and st.status[m] != ONLINE:
            return False, obs
        st.extra[m] += 1
        _hold(st, tid, m)
        return True, obs
    if k == "get":  # css_get: caller must already hold a reference
        m = op.a
        _check_alive(model, st, m, "css_get")
        if m != ROOT:
            if m not in st.held[tid]:
                raise Violation("unreferenced get", f"css_get on {shape.label(m)} without holding a reference")
            st.extra[m] += 1
            _hold(st, tid, m)
        return None, obs
    if k == "put":
        m = op.a
        if m is None or m == ROOT:
            return None, obs
        _check_alive(model, st, m, "css_put")
        if st.extra[m] <= 0:
            raise Violation("double put", f"css_put on {shape.label(m)} with no reference left")
        st.extra[m] -= 1
        _unhold(st, tid, m)  # a put of a reference the thread borrowed from a locked cursor is allowed
        _maybe_release(model, st, m)
        return None, obs
    if k == "online":
        _check_alive(model, st, op.a, "mem_cgroup_online")
        return st.status[op.a] in CSS_ONLINE_SET, obs
    if k == "dying":  # css_is_dying(): CSS_DYING is set by kill_css before percpu_ref_kill
        _check_alive(model, st, op.a, "css_is_dying")
        return st.status[op.a] != ONLINE, obs
    if k == "use":  # shrink_memcg(memcg): the caller must hold a reference on it
        m = op.a
        if m is not None:
            _check_alive(model, st, m, "shrink_memcg")
            if m != ROOT and m not in st.held[tid]:
                raise Violation("unreferenced use", f"shrink_memcg({shape.label(m)}) without holding a reference")
        return None, obs
    if k == "visit":  # ghost: a walker published its next position (fused with the preceding step)
        return None, _visit(model, st, op.a, op.b)
    if k == "kill":  # kill_css -> percpu_ref_kill: css_tryget_online fails from now on; CSS_ONLINE still set
        st.status[op.a] = DYING
        return None, obs
    if k == "offline":  # offline_css after css_offline() returned: CSS_ONLINE cleared
        st.status[op.a] = OFFLINE
        return None, obs
    if k == "drop_base":  # css_killed_work_fn: css_put of kill_css's reference; released if nothing else holds it
        st.status[op.a] = ZOMBIE
        _maybe_release(model, st, op.a)
        return None, obs
    raise ValueError(f"unknown operation {k!r}")


def _visit(model: Model, st: State, m: int | None, v: int) -> tuple[str, ...]:
    """Record that cursor ``v``'s walk moved to ``m`` (observations: restart, skip, double visit).

    Only online memcgs count as visits (zombies are skipped by design); NULL ends the pass.
    """
    last, mask = st.ghost[v]
    if m is None:
        st.ghost[v] = (-1, 0)
        return ()
    if st.status[m] != ONLINE:
        return ()
    obs: list[str] = []
    bit = 1 << m
    if m <= last:
        obs.append("restarted from the root")
        if mask & bit:
            obs.append("visited a memcg twice in one pass")
        mask = 0
    else:
        sub = model.subtree(model.specs[v].root)
        if any(j in sub and st.status[j] == ONLINE for j in range(last + 1, m)):
            obs.append("skipped a memcg")
    st.ghost[v] = (m, mask | bit)
    return tuple(obs)


def describe(shape: TreeShape, specs: tuple[VarSpec, ...], op: Op, result: Any) -> str:
    """Human-readable text of one step, in kernel terms, for counterexample tables."""
    L = shape.label
    k = op.kind
    if k == "load":
        return f"{L(result) if specs[op.a].kind == 'cursor' else result} = READ_ONCE({specs[op.a].name})"
    if k == "store":
        return f"{specs[op.a].name} = {L(op.b)}"
    if k == "xchg":
        return f"{L(result)} = xchg({specs[op.a].name}, {L(op.b)})"
    if k == "cas":
        return f"try_cmpxchg({specs[op.a].name}, {L(op.b)}, {L(op.c)}) {'ok' if result else 'FAILS'}"
    if k == "inc":
        return f"atomic_inc({specs[op.a].name}) = {result}"
    if k == "lock":
        return f"spin_lock({specs[op.a].name})"
    if k == "unlock":
        return f"spin_unlock({specs[op.a].name})"
    if k == "iter_next":
        return f"mem_cgroup_iter({L(op.a)}, {L(op.b)}) -> {L(result)}" + (" (+ref)" if result else "")
    if k == "next_pre":
        return f"css_next_descendant_pre({L(op.a)}) = {L(result)}"
    if k in ("tryget", "tryget_online"):
        name = "css_tryget" if k == "tryget" else "mem_cgroup_tryget_online"
        return f"{name}({L(op.a)}) {'ok' if result else 'fails'}"
    if k == "get":
        return f"css_get({L(op.a)})"
    if k == "put":
        return f"css_put({L(op.a)})"
    if k == "online":
        return f"mem_cgroup_online({L(op.a)}) = {result}"
    if k == "dying":
        return f"css_is_dying({L(op.a)}) = {result}"
    if k == "use":
        return f"shrink_memcg({L(op.a)})" if op.a is not None else "end of pass (NULL)"
    if k == "visit":
        return f"(walk at {L(op.a)})"
    if k == "kill":
        return f"kill_css({L(op.a)}): percpu_ref_kill"
    if k == "offline":
        return f"offline_css({L(op.a)}): clear CSS_ONLINE"
    if k == "drop_base":
        return f"css_put({L(op.a)}) (kill_css's reference)"
    return f"{k}{tuple(x for x in op[1:] if x is not None)}"
