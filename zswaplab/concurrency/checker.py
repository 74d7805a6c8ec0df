"""Exhaustive interleaving checker for the cursor algorithms.

Explores every interleaving of T threads (a shrink worker, proactive callers, an offliner) running the
generators of :mod:`.algorithms`, breadth-first, with

* state hashing: a state is (shared state, each thread's local state); a thread's local state is read
  from its generator frames (code position + locals), so retry loops that come back to the same state
  close a cycle instead of growing a history; generators are rebuilt by replaying a stored result history
  and thread transitions are memoised per (program, local state, result); local states are interned to ids
  and a stored state is one int (:mod:`.codec`);
* symmetry reduction: threads running the same program with the same arguments are interchangeable,
  states are canonicalised by sorting them (lock holders remapped);
* partial-order reduction (ample sets of size one): a step that commutes with every step any other
  thread can take from the current state is explored alone. Such steps: an access to a cursor protected
  by a lock the thread holds (others need the lock; protection is checked on every access, so a wrong
  declaration is reported, not trusted); ``shrink_memcg``/``css_get``/``css_tryget`` on a memcg the thread
  holds a reference on (it cannot be released); a ``css_put`` that leaves the thread a reference;
  ``mem_cgroup_online``/``tryget_online`` on a memcg whose online status can no longer change and that
  cannot be released under us (not the offline victim, or held with the victim already offline). None of
  these is a retry-loop back edge on its own, so every cycle contains a fully expanded state (proviso).

With ``strong_por`` (default) a first verification pass also explores alone a ``css_put`` of a held memcg
that is never offlined and a ``mem_cgroup_iter`` step whose next memcg is not the victim (see
:meth:`Search.independent`); if it finds a violation the search is repeated with the basic reduction, whose
result is reported.

Breadth-first order makes the first violation found a shortest counterexample. Two engines run the search:
``compiled`` (:mod:`.compiled`: a numba loop over integer tables that this module's semantics fill on demand)
and ``python`` (:func:`_explore_python`, the reference); they explore the same states in the same order.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FunctionType
from typing import Any

from .algorithms import Algorithm, Ctx, advancer, get_algorithm, offliner
from .codec import Codec
from .state import (
    CSS_ONLINE_SET,
    ONLINE,
    ROOT,
    STATUS_NAMES,
    Model,
    Op,
    Snapshot,
    State,
    TreeShape,
    Violation,
    apply,
    describe,
    enabled,
)

_STATIC_TYPES = (Ctx, FunctionType)
_PLAIN = (int, bool, type(None), str, tuple)


def frame_key(gen: Any) -> tuple:
    """Local state of a suspended generator chain: (code, position, locals) of every frame."""
    out = []
    g = gen
    while g is not None:
        fr = g.gi_frame
        if fr is None:
            out.append(("<done>",))
            break
        items = []
        for name, val in fr.f_locals.items():
            if isinstance(val, _PLAIN):
                items.append((name, val))
            elif not isinstance(val, _STATIC_TYPES):
                raise TypeError(f"{g.gi_code.co_qualname}: local {name!r} of type {type(val).__name__} "
                                "cannot be hashed into a checker state")
        items.sort()
        out.append((g.gi_code.co_qualname, fr.f_lasti, tuple(items)))
        g = g.gi_yieldfrom
    return tuple(out)


# locals that never hold a memcg (variable indices, counters, cookies); bools are excluded by type
_NON_MEMCG = frozenset({"cur", "gen", "lk", "r", "rounds", "i", "g", "cookie", "dead"})


def _mentioned(lkey: tuple, cache: dict[tuple, frozenset[int]]) -> frozenset[int]:
    """Memcgs a thread can still name from its locals (a held reference it cannot name is leaked)."""
    hit = cache.get(lkey)
    if hit is not None:
        return hit
    out: set[int] = set()

    def walk(v: Any) -> None:
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            out.add(v)
        elif isinstance(v, tuple):
            for x in v:
                walk(x)

    for frame in lkey[1]:
        if len(frame) == 3:
            for name, val in frame[2]:
                if name not in _NON_MEMCG:
                    walk(val)
    res = frozenset(out)
    cache[lkey] = res
    return res


def _lost(st: State, t: int, names: frozenset[int]) -> tuple[int, ...]:
    return tuple(m for m in st.held[t] if m not in names)


@dataclass(frozen=True)
class ThreadSpec:
    name: str
    factory: Callable[[], Any]  # () -> generator
    prog: tuple  # symmetry class: same prog → interchangeable


class Programs:
    """Memoised thread transitions. A thread's local state (program, frame key) is interned to a small id;
    ``trans[(id, result)]`` → (next id, next op). ``op[id]`` is the op the thread yields there (None: done),
    ``mentions[id]`` the memcgs its locals name, ``rank[id]`` the order symmetric threads are sorted in (a
    hash of the frames: independent of discovery order, so every engine picks the same canonical states)."""

    def __init__(self, specs: list[ThreadSpec], observe: bool = True) -> None:
        self.specs = specs
        self.observe = observe
        self.ids: dict[tuple, int] = {}
        self.lkeys: list[tuple] = []
        self.op: list[Op | None] = []
        self.mentions: list[frozenset[int]] = []
        self.hist: list[tuple] = []
        self.trans: dict[tuple, tuple[int, Op | None]] = {}
        self._mention_cache: dict[tuple, frozenset[int]] = {}
        self.rank: list[int] = []  # per id: 63-bit hash of the local state, the symmetry sort key
        self._by_rank: dict[int, int] = {}

    def _intern(self, lkey: tuple, op: Op | None, hist: tuple) -> int:
        lid = self.ids.get(lkey)
        if lid is None:
            lid = len(self.lkeys)
            self.ids[lkey] = lid
            self.lkeys.append(lkey)
            self.op.append(op)
            self.mentions.append(_mentioned(lkey, self._mention_cache))
            self.hist.append(hist)
            r = int.from_bytes(hashlib.blake2b(repr(lkey).encode(), digest_size=8).digest(), "little") >> 1
            if r in self._by_rank:  # two local states would sort as equals: symmetry reduction not canonical
                raise RuntimeError(f"local-state hash collision: {lkey!r} and {self.lkeys[self._by_rank[r]]!r}")
            self._by_rank[r] = lid
            self.rank.append(r)
        return lid

    def start(self, t: int) -> int:
        spec = self.specs[t]
        g = spec.factory()
        op = next(g)
        return self._intern((spec.prog, frame_key(g)), op, ())

    def step(self, lid: int, result: Any) -> tuple[int, Op | None]:
        tk = (lid, result)
        hit = self.trans.get(tk)
        if hit is not None:
            return hit
        prog = self.lkeys[lid][0]
        spec = next(s for s in self.specs if s.prog == prog)
        g = spec.factory()
        next(g)
        for r in self.hist[lid]:
            g.send(r)
        try:
            op = g.send(result)
            nkey = (prog, frame_key(g))
        except StopIteration:
            op = None
            nkey = (prog, (("<done>",),))
        nid = self._intern(nkey, op, self.hist[lid] + (result,))
        self.trans[tk] = (nid, op)
        return nid, op

    def advance(self, model: Model, st: State, t: int, lid: int, result: Any) -> tuple[int, Op | None, tuple]:
        """Step thread ``t`` past ``result`` and run the ghost ``visit`` steps that follow it (fused: they
        are instrumentation, not atomic operations). Offliners' visits are not walks and are ignored."""
        nl, nop = self.step(lid, result)
        obs: tuple[str, ...] = ()
        while nop is not None and nop.kind == "visit":
            if self.observe and self.specs[t].prog[0] == "advancer":
                _, o = apply(model, st, t, nop)
                obs += o
            nl, nop = self.step(nl, None)
        return nl, nop, obs


@dataclass
class CheckConfig:
    algorithm: str
    threads: int = 3
    memcgs: int = 5
    rounds: int = 3
    targets: str = "root"  # root | same | different
    offline: bool = True
    symmetry: bool = True
    por: bool = True
    # with por: first a verification pass with the stronger reduction (puts and mem_cgroup_iter steps on
    # memcgs that can never be released are explored alone); if it finds a violation, the search is repeated
    # with the basic reduction and that search's result (its shortest counterexample) is reported
    strong_por: bool = True
    observe: bool = True  # track restart/skip/double-visit observations (ghost state; ~1.5x states)
    max_states: int = 100_000_000
    # False: explore the whole reachable space and count every violation (the verdict is still the first
    # one found, breadth-first); a step that raises a violation has no successor, a thread that loses a
    # reference still moves on. This is the space SPIN explores with ``pan -c0`` (state-count comparison).
    stop_at_violation: bool = True

    def validate(self) -> None:
        get_algorithm(self.algorithm)
        if self.threads < 1 + int(self.offline):
            raise ValueError(f"threads={self.threads}: need at least {1 + int(self.offline)}")
        if self.memcgs < 2:
            raise ValueError(f"memcgs={self.memcgs}: need at least 2 (root + one child)")
        if self.rounds < 1:
            raise ValueError(f"rounds={self.rounds}: need at least 1")
        if self.targets not in ("root", "same", "different"):
            raise ValueError(f"targets={self.targets!r}: expected root, same or different")
        if self.targets == "different" and self.offline and self.memcgs < 3 and self.threads > 2:
            raise ValueError(f"targets=different, memcgs={self.memcgs}: the only child is the memcg being removed, "
                             "no other memcg to target")


@dataclass
class Step:
    tid: int
    text: str
    shared: str


@dataclass
class CheckResult:
    config: CheckConfig
    algorithm: Algorithm
    thread_names: list[str]
    states: int = 0
    transitions: int = 0
    seconds: float = 0.0
    violation: str | None = None
    trace: list[Step] = field(default_factory=list)
    observations: dict[str, int] = field(default_factory=dict)
    observation_traces: dict[str, list[Step]] = field(default_factory=dict)
    cycles: bool = False
    livelock: bool = False
    truncated: bool = False
    violations: int = 0  # violations found (1 when stopping at the first)
    engine: str = ""  # the engine that produced the result
    reduction: str = "basic"  # partial-order reduction used for the reported search ("strong" or "basic …")
    back_edges: int = 0  # compiled engine: edges that do not go one BFS level down (0: acyclic, no DFS needed)
    tables: dict[str, int] = field(default_factory=dict)  # compiled engine: sizes of its interned tables

    @property
    def ok(self) -> bool:
        return self.violation is None and not self.livelock and not self.truncated

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float("inf")


def build(cfg: CheckConfig) -> tuple[Model, Ctx, list[ThreadSpec], int | None]:
    """The model, context and thread programs of a check configuration."""
    cfg.validate()
    alg = get_algorithm(cfg.algorithm)
    shape = TreeShape.balanced(cfg.memcgs)
    model = Model(shape, alg.var_specs(shape))
    ctx = Ctx(alg, model)
    n_adv = cfg.threads - int(cfg.offline)
    leaves = [i for i in range(1, shape.n) if not shape.children(i)]
    dead = leaves[0] if cfg.offline else None
    specs: list[ThreadSpec] = []
    for k in range(n_adv):
        if k == 0 or cfg.targets == "root":
            root, role = ROOT, "shrink_worker" if k == 0 else "proactive(root)"
        elif cfg.targets == "same":
            root, role = 1, f"proactive({shape.label(1)})"
        else:  # a cgroup being written to cannot be removed (rmdir drains kernfs writers): skip the victim
            pool = [i for i in range(1, shape.n) if i != dead]
            root = pool[(k - 1) % len(pool)]
            role = f"proactive({shape.label(root)})"
        specs.append(ThreadSpec(role, _adv_factory(ctx, root, cfg.rounds), ("advancer", ctx.walk_root(root))))
    if dead is not None:
        specs.append(ThreadSpec(f"offline({shape.label(dead)})", _off_factory(ctx, dead), ("offliner", dead)))
    return model, ctx, specs, dead


def _adv_factory(ctx: Ctx, root: int, rounds: int) -> Callable[[], Any]:
    return lambda: advancer(ctx, root, rounds)


def _off_factory(ctx: Ctx, dead: int) -> Callable[[], Any]:
    return lambda: offliner(ctx, dead)


def _summary(model: Model, st: State, names: list[str]) -> str:
    shape = model.shape
    parts = []
    for i, s in enumerate(model.specs):
        v = st.vars[i]
        if s.kind == "cursor" and v is not None:
            parts.append(f"{s.name}={shape.label(v)}")
        elif s.kind == "lock" and v:
            parts.append(f"{s.name}:CPU{v}")
        elif s.kind == "int" and v:
            parts.append(f"{s.name}={v}")
    refs = " ".join(f"{shape.label(m)}:{st.extra[m]}" for m in range(1, shape.n) if st.extra[m])
    if refs:
        parts.append(f"refs {refs}")
    dead = " ".join(f"{shape.label(m)} {STATUS_NAMES[st.status[m]]}" for m in range(shape.n)
                    if st.status[m] != ONLINE)
    if dead:
        parts.append(dead)
    return "; ".join(parts) or "-"


def _canon(st: State, lkeys: list[int], groups: list[list[int]], lock_vars: tuple[int, ...],
           rank: list[int]) -> None:
    """Sort interchangeable threads in place (states and local ids), remapping lock holders.

    Threads sort by (``rank`` of the local state — :attr:`Programs.rank`, a hash of its frames, so the order
    does not depend on the order local states were discovered in —, references held, done)."""
    perm = list(range(len(lkeys)))
    changed = False
    for g in groups:
        order = sorted(g, key=lambda t: (rank[lkeys[t]], st.held[t], st.done[t]))
        for pos, t in zip(g, order, strict=True):
            if perm[pos] != t:
                perm[pos] = t
                changed = True
    if not changed:
        return
    old_l, old_h, old_d = list(lkeys), list(st.held), list(st.done)
    for new, old in enumerate(perm):
        lkeys[new], st.held[new], st.done[new] = old_l[old], old_h[old], old_d[old]
    _canon_locks(st, perm, lock_vars)


def _canon_locks(st: State, perm: list[int], lock_vars: tuple[int, ...]) -> None:
    """Remap lock holders after the threads were permuted (``perm[new position] = old position``)."""
    inv = {old: new for new, old in enumerate(perm)}
    for v in lock_vars:
        if st.vars[v]:
            st.vars[v] = inv[st.vars[v] - 1] + 1


class _Graph:
    """The Python engine's explored state graph, compact: states as ``int`` keys (:class:`.codec.Codec`) in a
    list and a dict (id → key, key → id), BFS parents in an int array, successors as one flat array of
    ``id << 4 | thread`` with per-state offsets (states are expanded in id order)."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.keys: list[int] = []
        self.index: dict[int, int] = {}
        self.parent = array("i")
        self.succ = array("q")
        self.offs = array("Q")

    def add(self, key: int, parent: int) -> int:
        nid = len(self.keys)
        self.index[key] = nid
        self.keys.append(key)
        self.parent.append(parent)
        return nid

    def successors(self, u: int) -> list[tuple[int, int]]:
        end = self.offs[u + 1] if u + 1 < len(self.offs) else len(self.succ)
        return [(x >> 4, x & 15) for x in self.succ[self.offs[u]:end]]

    # the interface _trace and _livelock read (shared with the compiled engine's graph)
    def key(self, i: int) -> int:
        return self.keys[i]

    def parent_of(self, i: int) -> int:
        return self.parent[i]

    def decode(self, i: int) -> tuple[State, list[int]]:
        k = self.keys[i]
        return self.codec.decode(k), list(self.codec.lids(k))

    def encode(self, st: State, lids: list[int]) -> int:
        return self.codec.encode(st, lids)

    def lid(self, i: int, t: int) -> int:
        return self.codec.lids(self.keys[i])[t]

    @property
    def n(self) -> int:
        return len(self.offs)


@dataclass(frozen=True)
class Search:
    """Static facts of one search both engines read: reductions, symmetry groups, lock and cursor layout."""

    model: Model
    progs: Programs
    specs: list[ThreadSpec]
    groups: list[list[int]]
    lock_vars: tuple[int, ...]
    owning: tuple[int, ...]
    protected: tuple[int | None, ...]
    victims: frozenset[int]
    strong: bool = False  # the stronger reduction (verification pass, see :meth:`independent`)

    def status_stable(self, st: State, m: int) -> bool:
        """Neither ``css_tryget_online`` nor ``mem_cgroup_online`` on ``m`` can change its answer any more."""
        return m not in self.victims or st.status[m] not in CSS_ONLINE_SET

    def independent(self, st: State, t: int, op: Op) -> bool:
        """Ops that commute with every step any other thread can take from here on (see module doc).
        Reads only the shared part of ``st`` and thread ``t``'s own references."""
        k = op.kind
        if k in ("load", "store"):
            p = self.protected[op.a]
            return p is not None and st.vars[p] == t + 1
        if k == "iter_next":
            return self.strong and self._iter_stable(st, t, op)
        m = op.a
        if m is None or m == ROOT:
            return k in ("use", "put", "get", "tryget", "tryget_online", "online", "dying")
        held = st.held[t].count(m)
        if k == "use" or k == "get" or k == "tryget":
            return held >= 1
        if k == "put":  # strong: a memcg that is never offlined is never released, a put of it affects no one
            return held >= 2 or (self.strong and held >= 1 and m not in self.victims)
        if k == "tryget_online":
            return held >= 1 and self.status_stable(st, m)
        if k in ("online", "dying"):  # a victim not held by us could be released by others: a violation
            return m not in self.victims or (held >= 1 and self.status_stable(st, m))
        return False

    def _iter_stable(self, st: State, t: int, op: Op) -> bool:
        """(strong) A ``mem_cgroup_iter`` step whose result no other thread can change: it starts from NULL, the
        root or a memcg the thread holds (not releasable), and the next memcg in pre-order is no victim.
        Victims are leaves, so unlinking one changes ``css_next_descendant_pre(pos)`` only when it is the
        next memcg; every other memcg stays online with its base reference, so its ``css_tryget`` succeeds."""
        root, pos = op.a, op.b
        if not (pos is None or pos == root or pos in st.held[t]):
            return False
        nxt = self.model.shape.next_pre(pos, root, st.rmask)
        return nxt is None or nxt == root or nxt not in self.victims

    def step(self, st: State, t: int, lid: int, op: Op) -> tuple[str | None, Any, int, tuple[str, ...], str | None]:
        """Thread ``t`` (local id ``lid``) runs ``op`` on ``st`` in place: (violation message or None, result,
        next local id, observations, lost-reference message or None). Sets ``st.done[t]`` when it finishes.
        Reads and writes only the shared part of ``st`` and thread ``t``'s references and done flag."""
        try:
            result, obs = apply(self.model, st, t, op)
        except Violation as v:
            return str(v), None, -1, (), None
        nl, nop, obs2 = self.progs.advance(self.model, st, t, lid, result)
        if nop is None:
            st.done[t] = True
        lost = _lost(st, t, self.progs.mentions[nl])
        msg = None
        if lost:
            held = ", ".join(self.model.shape.label(m) for m in lost)
            what = "finished still holding" if nop is None else "can no longer name its"
            msg = f"reference leak: {{thread}} {what} reference on {held}"
        return None, result, nl, obs + obs2, msg

    def canon(self, st: State, lkeys: list[int]) -> None:
        _canon(st, lkeys, self.groups, self.lock_vars, self.progs.rank)


def prepare(cfg: CheckConfig, strong: bool = False) -> tuple[Search, State, list[int], Any]:
    """The search context, the initial state (canonical) and its local ids, and the offline victim."""
    model, ctx, specs, dead = build(cfg)
    progs = Programs(specs, observe=cfg.observe)
    snap = Snapshot(model.shape, tuple([ONLINE] * model.shape.n), tuple([0] * model.shape.n),
                    tuple(range(model.shape.n)))
    T = len(specs)
    if T > 15:
        raise ValueError(f"threads={T}: the checker's successor encoding holds at most 15")
    st0 = State.initial(snap, model.specs, T)
    l0 = [progs.start(t) for t in range(T)]
    groups: list[list[int]] = []
    if cfg.symmetry:
        by: dict[tuple, list[int]] = {}
        for t, s in enumerate(specs):
            by.setdefault(s.prog, []).append(t)
        groups = [g for g in by.values() if len(g) > 1]
    search = Search(model, progs, specs, groups,
                    tuple(i for i, s in enumerate(model.specs) if s.kind == "lock"),
                    tuple(i for i, s in enumerate(model.specs) if s.kind == "cursor" and s.owns_ref),
                    tuple(s.protected_by for s in model.specs),
                    frozenset({dead} if dead is not None else ()), strong)
    search.canon(st0, l0)
    return search, st0, l0, dead


ENGINES = ("compiled", "python")


def check(cfg: CheckConfig, *, progress: Callable[[int], None] | None = None, engine: str = "compiled") -> CheckResult:
    """Explore every interleaving of ``cfg``; return verdict, counterexample and statistics.

    ``engine``: ``compiled`` (default: :mod:`.compiled`, the search loop in numba over tables the Python
    semantics fill) or ``python`` (the reference loop, all in Python). Both explore the same states in the same
    order and give the same result."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r}: expected one of {', '.join(ENGINES)}")
    if cfg.por and cfg.strong_por:
        t0 = time.perf_counter()
        res = _check(cfg, progress, engine, strong=True)
        if res.violations == 0:
            res.reduction = "strong"
            return res
        strong_states = res.states
        res = _check(cfg, progress, engine, strong=False)
        res.reduction = f"basic (the strong pass found a violation after {strong_states:,} states)"
        res.seconds = time.perf_counter() - t0
        return res
    return _check(cfg, progress, engine, strong=False)


def _check(cfg: CheckConfig, progress: Callable[[int], None] | None, engine: str, strong: bool) -> CheckResult:
    search, st0, l0, _dead = prepare(cfg, strong)
    names = [f"CPU{i + 1} {s.name}" for i, s in enumerate(search.specs)]
    res = CheckResult(cfg, get_algorithm(cfg.algorithm), names, engine=engine)
    t0 = time.perf_counter()
    if engine == "python":
        graph, violation, obs_first = _explore_python(cfg, search, st0, l0, res, progress)
    else:
        from .compiled import explore

        try:
            graph, violation, obs_first = explore(cfg, search, st0, l0, res, progress)
        except OverflowError as e:  # a thread state beyond the compiled tables' encoding: the reference loop
            res = _check(cfg, progress, "python", strong)
            res.engine = f"python (compiled engine: {e})"
            return res
    res.seconds = time.perf_counter() - t0
    _finish(res, search, graph, violation, obs_first, names)
    return res


Found = tuple[int, int, Op, Any, str]  # (state id, thread or -1, op, result, message)


def _explore_python(cfg: CheckConfig, search: Search, st0: State, l0: list[int], res: CheckResult,
                    progress: Callable[[int], None] | None) -> tuple[_Graph, Found | None, dict[str, int]]:
    """The reference breadth-first loop, all in Python."""
    model, progs = search.model, search.progs
    T = len(search.specs)
    codec = Codec(T)
    graph = _Graph(codec)
    graph.add(codec.encode(st0, l0), -1)
    index, keys, succ, offs = graph.index, graph.keys, graph.succ, graph.offs
    obs_first: dict[str, int] = {}
    queue = deque([0])
    violation: Found | None = None
    stop = cfg.stop_at_violation

    def found(v: Found) -> None:
        nonlocal violation
        res.violations += 1
        if violation is None:
            violation = v

    decode, encode, op_of = codec.decode, codec.encode, progs.op
    while queue and (violation is None or not stop):
        sid = queue.popleft()
        skey = keys[sid]
        lk = codec.lids(skey)
        base = decode(skey)
        ops = [op_of[lk[t]] for t in range(T)]
        cand = [t for t in range(T) if ops[t] is not None and enabled(base, t, ops[t])]
        if cfg.por:
            for t in cand:
                if search.independent(base, t, ops[t]):
                    cand = [t]
                    break
        offs.append(len(succ))
        if not cand:
            if any(op is not None for op in ops):
                found((sid, -1, Op("deadlock"), None, DEADLOCK))
                continue
            msg = _terminal_check(model, base, search.owning)
            if msg:
                found((sid, -1, Op("end"), None, msg))
            continue
        for t in cand:
            st = base.copy() if len(cand) > 1 else base
            op = ops[t]
            vmsg, result, nl, obs, lost = search.step(st, t, lk[t], op)
            if vmsg is not None:
                found((sid, t, op, None, vmsg))
                if stop:
                    break
                continue
            lkeys = list(lk)
            lkeys[t] = nl
            if lost:
                found((sid, t, op, result, lost))
                if stop:
                    break
            search.canon(st, lkeys)
            nk = encode(st, lkeys)
            nid = index.get(nk)
            res.transitions += 1
            if nid is None:
                nid = graph.add(nk, sid)
                queue.append(nid)
            succ.append(nid << 4 | t)
            for o in obs:
                res.observations[o] = res.observations.get(o, 0) + 1
                obs_first.setdefault(o, nid)
        if len(keys) >= cfg.max_states:
            res.truncated = True
            break
        if progress and sid % 50000 == 0:
            progress(len(keys))
    res.states = len(keys)
    if violation is None and not res.truncated:
        res.cycles, res.livelock = _livelock(graph, graph.successors, progs, T)
    return graph, violation, obs_first


DEADLOCK = "deadlock: every live thread waits for a lock"


def _finish(res: CheckResult, search: Search, graph: Any, violation: Found | None, obs_first: dict[str, int],
            names: list[str]) -> None:
    """Counterexample (or observation traces) from the explored graph, concrete thread columns."""
    model, specs = search.model, search.specs
    T = len(specs)
    if violation is not None:
        sid, t, op, result, msg = violation
        res.trace, st_c, lk_c = _trace(search, graph, sid)
        if t >= 0:
            canon_st, canon_l = graph.decode(sid)
            me = (canon_l[t], canon_st.held[t], canon_st.done[t])
            tc = next(u for u in range(T) if (lk_c[u], st_c.held[u], st_c.done[u]) == me)
            after = st_c.copy()
            try:
                apply(model, after, tc, op)
                summary = _summary(model, after, names)
            except Violation:
                summary = _summary(model, st_c, names)
            res.trace.append(Step(tc, describe(model.shape, model.specs, op, result), summary))
            msg = msg.replace("{thread}", specs[tc].name)  # the concrete thread of the trace, not its canonical slot
        res.violation = msg
        res.trace.append(Step(-1, msg, ""))
        res.cycles = res.livelock = False
        return
    for o, nid in sorted(obs_first.items()):
        res.observation_traces[o] = _trace(search, graph, nid)[0]


def _terminal_check(model: Model, st: State, owning: tuple[int, ...]) -> str | None:
    """All threads finished: references balanced, no ref-owning cursor resting on an offline memcg."""
    shape = model.shape
    for m in range(1, shape.n):
        owners = sum(1 for v in owning if st.vars[v] == m and model.specs[v].root != m)
        if st.extra[m] > owners:
            return (f"reference leak: {shape.label(m)} has {st.extra[m]} extra reference(s) at the end, "
                    f"cursors own {owners}")
        if st.extra[m] < owners:
            return f"double put: cursors own {owners} reference(s) on {shape.label(m)}, only {st.extra[m]} left"
    for v in owning:
        m = st.vars[v]
        if m is not None and st.status[m] != ONLINE:
            return (f"cursor on offline memcg: {model.specs[v].name} rests on {STATUS_NAMES[st.status[m]]} "
                    f"{shape.label(m)} after cleanup finished")
    return None


def _trace(search: Search, graph: Any, sid: int) -> tuple[list[Step], State, list[int]]:
    """Concrete per-thread steps from the initial state to canonical state ``sid`` (replayed so that thread
    columns stay consistent under symmetry reduction). ``graph`` is either engine's graph: ``key(i)``,
    ``parent_of(i)``, ``decode(i)`` → (state, local ids), ``encode(state, local ids)``."""
    model, progs, specs = search.model, search.progs, search.specs
    chain = []
    i = sid
    while graph.parent_of(i) >= 0:
        chain.append(i)
        i = graph.parent_of(i)
    chain.reverse()
    T = len(specs)
    st, lk = graph.decode(0)
    steps: list[Step] = []
    names = [s.name for s in specs]
    for target in chain:
        found = False
        for t in range(T):
            op = progs.op[lk[t]]
            if op is None or not enabled(st, t, op):
                continue
            st2 = st.copy()
            try:
                result, _ = apply(model, st2, t, op)
            except Violation:
                continue
            nl, nop, _ = progs.advance(model, st2, t, lk[t], result)
            l2 = list(lk)
            l2[t] = nl
            if nop is None:
                st2.done[t] = True
            c_st = st2.copy()
            c_l = list(l2)
            search.canon(c_st, c_l)
            if graph.encode(c_st, c_l) == graph.key(target):
                steps.append(Step(t, describe(model.shape, model.specs, op, result), _summary(model, st2, names)))
                st, lk = st2, l2
                found = True
                break
        assert found, "counterexample replay diverged"
    return steps, st, lk


def _livelock(graph: Any, successors: Callable[[int], list[tuple[int, int]]], progs: Programs,
              T: int) -> tuple[bool, bool]:
    """(graph has a cycle, some cycle is weakly fair = a livelock under fair scheduling).

    ``successors(u)`` → [(v, thread), ...]; ``graph.n`` states, ``graph.lid(u, t)`` thread t's local id."""
    n = graph.n
    indeg = [0] * n
    for u in range(n):
        for v, _ in successors(u):
            indeg[v] += 1
    q = deque(i for i in range(n) if indeg[i] == 0)
    seen = 0
    while q:
        u = q.popleft()
        seen += 1
        for v, _ in successors(u):
            indeg[v] -= 1
            if indeg[v] == 0:
                q.append(v)
    if seen == n:
        return False, False
    return True, _fair_cycle(graph, successors, progs, T, indeg)


def _fair_cycle(graph: Any, successors: Callable[[int], list[tuple[int, int]]], progs: Programs, T: int,
                indeg: list[int]) -> bool:
    """Tarjan (iterative) over the cyclic remainder (``indeg[u] > 0``): some SCC where every thread either
    moves inside it or is blocked (finished, or not scheduled) in one of its states."""
    n = graph.n
    index = [-1] * n
    low = [0] * n
    on = [False] * n
    stack: list[int] = []
    counter = 0
    livelock = False
    for s in range(n):
        if index[s] != -1 or indeg[s] == 0:
            continue
        work = [(s, 0)]
        while work:
            u, i = work.pop()
            if i == 0:
                index[u] = low[u] = counter
                counter += 1
                stack.append(u)
                on[u] = True
            su = successors(u)
            if i < len(su):
                work.append((u, i + 1))
                v = su[i][0]
                if index[v] == -1:
                    work.append((v, 0))
                elif on[v]:
                    low[u] = min(low[u], index[v])
                continue
            if low[u] == index[u]:
                comp = []
                while True:
                    w = stack.pop()
                    on[w] = False
                    comp.append(w)
                    if w == u:
                        break
                cs = set(comp)
                if len(comp) > 1 or any(v == u for v, _ in su):
                    movers = {t for w in comp for v, t in successors(w) if v in cs}
                    blocked = {t for w in comp for t in range(T) if progs.op[graph.lid(w, t)] is None
                               or all(tt != t for _, tt in successors(w))}
                    if all(t in movers or t in blocked for t in range(T)):
                        livelock = True
            if work:
                p = work[-1][0]
                low[p] = min(low[p], low[u])
    return livelock
