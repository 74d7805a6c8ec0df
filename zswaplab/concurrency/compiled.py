"""The checker's compiled engine: the breadth-first loop in numba (:mod:`._nbsearch`) over integer tables that
the Python semantics fill on demand.

A state is the row ``[gsid, x_0, …, x_{T-1}]``: ``gsid`` interns the shared part (memcg statuses and extra
references, shared variables, ghost walk positions), ``x_t`` interns thread ``t``'s *extended* local state
(its local id from :class:`~.checker.Programs`, the references it holds, its done flag). A thread step reads
and writes only the shared part and the stepping thread's own references (:meth:`.checker.Search.step`), so
its whole outcome — enabled, independent (partial-order reduction), the violation it raises, the next
``gsid`` and ``x_t``, a lost reference, the observations — is a function of ``(gsid, t, x_t)``, computed once
by the one Python model (:func:`.state.apply`, :meth:`.checker.Programs.advance`) and stored in the
transition table. Likewise the end-of-run check is a function of ``gsid`` and the lock-holder remapping of a
symmetry permutation a function of ``(gsid, permutation)``. The compiled loop reads these tables; when an
entry is missing it returns, this module computes every entry the frontier lacks, and the loop resumes. No
second copy of the semantics exists.

Symmetric threads are sorted by the key ``(local id, held references, done)`` encoded as one int64 per
``x`` (lexicographic order of the held tuple kept), the Python checker's order, so both engines explore the
same canonical states in the same order: same counts, same first violation, same counterexample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _nbsearch as nb
from .state import State, enabled

if TYPE_CHECKING:
    from .checker import CheckConfig, CheckResult, Found, Search

BUDGET = 1 << 20  # states expanded per call of the compiled loop (progress, capacity checks)
MISS_BUF = 1 << 17
_DIGITS = 15  # held references per sort-key word (two words)


class _Grow:
    """A growable 1-d numpy array (amortised doubling)."""

    def __init__(self, dtype: Any, fill: int, cap: int = 1024) -> None:
        self.a = np.full(cap, fill, dtype)
        self.fill = fill
        self.n = 0

    def ensure(self, n: int) -> None:
        if n > self.a.shape[0]:
            b = np.full(max(n, self.a.shape[0] * 2), self.fill, self.a.dtype)
            b[: self.a.shape[0]] = self.a
            self.a = b


class _Table:
    """int64 → int32 open-addressing table shared with the compiled loop (-1 keys: empty)."""

    def __init__(self, cap: int = 1 << 12) -> None:
        self.keys = np.full(cap, -1, np.int64)
        self.vals = np.full(cap, -1, np.int32)
        self.n = 0

    def put_many(self, keys: list[int], vals: list[int]) -> None:
        need = self.n + len(keys)
        if need * 2 > self.keys.shape[0]:
            cap = self.keys.shape[0]
            while need * 2 > cap:
                cap *= 2
            old_k, old_v = self.keys[self.keys != -1], self.vals[self.keys != -1]
            self.keys = np.full(cap, -1, np.int64)
            self.vals = np.full(cap, -1, np.int32)
            nb.tab_put_many(self.keys, self.vals, old_k, old_v)
        nb.tab_put_many(self.keys, self.vals, np.array(keys, np.int64), np.array(vals, np.int32))
        self.n = need


class Tables:
    """Interned shared parts and thread states, and the tables the compiled loop reads (filled on demand)."""

    def __init__(self, search: Search, cfg: CheckConfig) -> None:
        self.search = search
        self.cfg = cfg
        self.T = len(search.specs)
        self.g_ids: dict[tuple, int] = {}
        self.g: list[tuple] = []  # (status, extra, vars, ghost)
        self.x_ids: dict[tuple, int] = {}
        self.x: list[tuple] = []  # (local id, held, done)
        self.xsort = np.zeros((1024, 3), np.int64)
        self.term = _Grow(np.int32, -2)  # per gsid: -2 unknown, -1 fine, k: message k
        self.term_msgs: list[str] = []
        self.trans = _Table()
        self.e_flags = _Grow(np.uint8, 0)
        self.e_ngsid = _Grow(np.uint32, 0)
        self.e_nx = _Grow(np.uint32, 0)
        self.e_obs = _Grow(np.int32, 0)
        self.e_op: list[Any] = []  # per entry: the op (shared objects)
        self.e_viol: dict[int, tuple] = {}  # entries that raise or lose a reference: (result, message, lost message)
        self.obs_ids: dict[tuple[str, ...], int] = {(): 0}
        self.obs_sets: list[tuple[str, ...]] = [()]
        self.perm = _Table()
        self.npk = self.T ** self.T if search.lock_vars and search.groups else 0
        # a step reads the thread's id only through lock words: without locks, interchangeable threads share
        # their steps (computed for the first of the group)
        self.rep = list(range(self.T))
        self.same: list[list[int]] = [[t] for t in range(self.T)]
        if not search.lock_vars:
            for g in search.groups:
                for t in g:
                    self.rep[t] = g[0]
                self.same[g[0]] = list(g)

    # ------------------------------------------------------------------------------------------ interning
    def gid(self, st: State) -> int:
        k = (tuple(st.status), tuple(st.extra), tuple(st.vars), tuple(st.ghost))
        i = self.g_ids.get(k)
        if i is None:
            i = len(self.g)
            if i > 0x7FFFFFFF // self.T:
                raise OverflowError(f"more than {i:,} distinct shared states: beyond the compiled checker's tables")
            self.g_ids[k] = i
            self.g.append(k)
            self.term.ensure(i + 1)
        return i

    def xid(self, lid: int, held: tuple[int, ...], done: bool) -> int:
        k = (lid, held, done)
        i = self.x_ids.get(k)
        if i is None:
            i = len(self.x)
            self.x_ids[k] = i
            self.x.append(k)
            if i >= self.xsort.shape[0]:
                self.xsort = np.concatenate((self.xsort, np.zeros_like(self.xsort)))
            self.xsort[i] = _sort_key(self.search.progs.rank[lid], held, done)
        return i

    def row(self, st: State, lids: list[int]) -> tuple[int, ...]:
        return (self.gid(st),) + tuple(self.xid(lids[t], st.held[t], st.done[t]) for t in range(self.T))

    def state(self, row: Any) -> tuple[State, list[int]]:
        status, extra, vars_, ghost = self.g[int(row[0])]
        xs = [self.x[int(v)] for v in row[1:]]
        st = State(list(status), list(extra), list(vars_), list(ghost), [x[1] for x in xs], [x[2] for x in xs])
        return st, [x[0] for x in xs]

    def _partial(self, gsid: int, t: int, held: tuple[int, ...], done: bool) -> State:
        """The shared part with thread ``t``'s references (other threads' are not read by a step of t)."""
        status, extra, vars_, ghost = self.g[gsid]
        h: list[tuple[int, ...]] = [()] * self.T
        d = [False] * self.T
        h[t], d[t] = held, done
        return State(list(status), list(extra), list(vars_), list(ghost), h, d)

    # ----------------------------------------------------------------------------------- table entries
    def fill_steps(self, keys: np.ndarray) -> None:
        """Compute the transition-table entries ``(gsid, t, x)`` packed in ``keys`` (duplicates allowed)."""
        search, T = self.search, self.T
        keys = np.unique(keys)
        todo = keys[nb.tab_get_many(self.trans.keys, self.trans.vals, keys) < 0].tolist()
        e0 = len(self.e_op)
        for arr in (self.e_flags, self.e_ngsid, self.e_nx, self.e_obs):
            arr.ensure(e0 + len(todo))
        out_k: list[int] = []
        out_v: list[int] = []
        batch: set[int] = set()
        for k in todo:
            gt, x = k >> 32, k & 0xFFFFFFFF
            gsid, t = divmod(gt, T)
            if k in batch:
                continue
            t = self.rep[t]
            lid, held, done = self.x[x]
            st = self._partial(gsid, t, held, done)
            op = search.progs.op[lid]
            flags, ngsid, nx, oid = 0, 0, 0, 0
            if op is not None:
                flags |= nb.LIVE
                if enabled(st, t, op):
                    flags |= nb.EN
                    if self.cfg.por and search.independent(st, t, op):
                        flags |= nb.IND
                    vmsg, result, nl, obs, lost = search.step(st, t, lid, op)
                    if vmsg is not None:
                        flags |= nb.VIOL
                    else:
                        if lost:
                            flags |= nb.LOST
                        ngsid = self.gid(st)
                        nx = self.xid(nl, st.held[t], st.done[t])
                        oid = self.obs_id(obs)
                    if vmsg is not None or lost:
                        self.e_viol[len(self.e_op)] = (result, vmsg, lost)
            e = len(self.e_op)
            self.e_flags.a[e], self.e_ngsid.a[e], self.e_nx.a[e], self.e_obs.a[e] = flags, ngsid, nx, oid
            self.e_op.append(op)
            for u in self.same[t]:  # the same step of every interchangeable thread
                ku = ((gsid * T + u) << 32) | x
                batch.add(ku)
                out_k.append(ku)
                out_v.append(e)
        if out_k:
            self.trans.put_many(out_k, out_v)

    def obs_id(self, obs: tuple[str, ...]) -> int:
        i = self.obs_ids.get(obs)
        if i is None:
            i = len(self.obs_sets)
            self.obs_ids[obs] = i
            self.obs_sets.append(obs)
        return i

    def fill_perms(self, keys: np.ndarray) -> None:
        """Shared ids with lock holders remapped by a symmetry permutation (``gsid * T^T + code``)."""
        from .checker import _canon_locks

        out_k, out_v = [], []
        for k in sorted(set(keys.tolist())):
            gsid, code = divmod(k, self.npk)
            perm = [(code // self.T ** p) % self.T for p in range(self.T)]
            status, extra, vars_, ghost = self.g[gsid]
            st = State(list(status), list(extra), list(vars_), list(ghost), [()] * self.T, [False] * self.T)
            _canon_locks(st, perm, self.search.lock_vars)
            out_k.append(k)
            out_v.append(self.gid(st))
        self.perm.put_many(out_k, out_v)

    def fill_term(self, gsid: int) -> None:
        from .checker import _terminal_check

        status, extra, vars_, ghost = self.g[gsid]
        st = State(list(status), list(extra), list(vars_), list(ghost), [()] * self.T, [True] * self.T)
        msg = _terminal_check(self.search.model, st, self.search.owning)
        if msg is None:
            self.term.a[gsid] = -1
        else:
            self.term.a[gsid] = len(self.term_msgs)
            self.term_msgs.append(msg)


def _sort_key(rank: int, held: tuple[int, ...], done: bool) -> tuple[int, int, int]:
    """Three int64 words ordered as the tuple ``(rank, held, done)`` (the Python checker's canonical order,
    :func:`.checker._canon`): the local state's rank, then each held memcg + 1 as a 4-bit digit (a shorter
    tuple is a prefix, padded with 0), then done."""
    if len(held) > 2 * _DIGITS or any(m >= 15 for m in held):
        raise OverflowError(f"a thread holding {len(held)} references (memcgs {held}) is beyond the compiled "
                            "checker's sort key (engine='python' has no such limit)")
    d = [m + 1 for m in held] + [0] * (2 * _DIGITS - len(held))
    w1 = w2 = 0
    for v in d[:_DIGITS]:
        w1 = w1 << 4 | v
    for v in d[_DIGITS:]:
        w2 = w2 << 4 | v
    return rank, w1, w2 << 1 | int(done)


class Graph:
    """The compiled engine's explored graph (rows in BFS order, parents), read by the trace and livelock code."""

    def __init__(self, tables: Tables, rows: np.ndarray, parent: np.ndarray, n: int) -> None:
        self.tables = tables
        self.rows = rows
        self.parent = parent
        self.n = n
        self._succ: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def key(self, i: int) -> tuple[int, ...]:
        return tuple(int(v) for v in self.rows[i])

    def parent_of(self, i: int) -> int:
        return int(self.parent[i])

    def decode(self, i: int) -> tuple[State, list[int]]:
        return self.tables.state(self.rows[i])

    def encode(self, st: State, lids: list[int]) -> tuple[int, ...]:
        return self.tables.row(st, lids)

    def lid(self, i: int, t: int) -> int:
        return self.tables.x[int(self.rows[i, 1 + t])][0]

    def successors(self, u: int) -> list[tuple[int, int]]:
        assert self._succ is not None
        offs, tg, th = self._succ
        a, b = offs[u], offs[u + 1]
        return list(zip(tg[a:b].tolist(), th[a:b].tolist(), strict=True))


def _capacity(n: int) -> int:
    cap = 1 << 10
    while cap < n:
        cap *= 2
    return cap


def explore(cfg: CheckConfig, search: Search, st0: State, l0: list[int], res: CheckResult,
            progress: Callable[[int], None] | None) -> tuple[Graph, Found | None, dict[str, int]]:
    """Breadth-first search in the compiled loop; fills ``res`` (states, transitions, violations, observations,
    cycles, livelock, truncated) and returns the graph, the first violation and each observation's first state."""
    from .checker import DEADLOCK, _fair_cycle
    from .state import Op

    tb = Tables(search, cfg)
    T = tb.T
    W = T + 1
    rows = np.zeros((1 << 12, W), np.uint32)
    rows[0] = tb.row(st0, l0)
    parent = np.full(1 << 12, -1, np.int32)
    back = np.zeros(1 << 12, np.uint8)  # targets of edges that do not go one BFS level down
    offs = np.zeros(1 << 12, np.uint32)  # edges of state s: edges[offs[s]:offs[s + 1]] (for the cycle check)
    edges = np.zeros(1 << 13, np.int32)
    slots = np.full(1 << 13, -1, np.int32)
    nb.rehash_rows(rows, 1, slots)
    ctr = np.zeros(nb.NCTR, np.int64)
    ctr[nb.C_N] = 1
    ctr[nb.C_LEVEL_END] = 1
    groups = np.full((len(search.groups), T), -1, np.int64)
    gsize = np.zeros(len(search.groups), np.int64)
    for i, g in enumerate(search.groups):
        groups[i, : len(g)] = g
        gsize[i] = len(g)
    miss_t = np.empty(MISS_BUF, np.int64)
    miss_g = np.zeros(1, np.int64)
    obs_n = 64
    obs_count = np.zeros(obs_n, np.int64)
    obs_seq = np.full(obs_n, -1, np.int64)
    obs_nid = np.full(obs_n, -1, np.int64)
    last_report = 0
    while True:
        n = int(ctr[nb.C_N])
        budget = min(BUDGET, max(1, cfg.max_states), max(1 << 12, n // 16))  # headroom in proportion to the space
        need = n + T * budget + 1
        if need > rows.shape[0]:  # room for every state the next call can add
            cap = max(need, rows.shape[0] * 3 // 2)
            for a in (rows, parent, back, offs):  # realloc (mremap for big blocks): no second copy at the peak
                a.resize((cap + 1,) + a.shape[1:], refcheck=False)
        if int(ctr[nb.C_EDGES]) + T * budget >= 1 << 32:
            raise OverflowError("more than 2^32 transitions: beyond the compiled checker's edge offsets")
        if int(ctr[nb.C_EDGES]) + T * budget > edges.shape[0]:
            edges.resize(max(int(ctr[nb.C_EDGES]) + T * budget, edges.shape[0] * 3 // 2), refcheck=False)
        if need * 4 > slots.shape[0] * 3:  # load factor <= 3/4
            slots = np.full(_capacity(need * 4 // 3 + 1), -1, np.int32)
            nb.rehash_rows(rows, n, slots)
        if len(tb.obs_sets) > obs_n:
            grow = 2 * len(tb.obs_sets) - obs_n
            obs_count = np.concatenate((obs_count, np.zeros(grow, np.int64)))
            obs_seq = np.concatenate((obs_seq, np.full(grow, -1, np.int64)))
            obs_nid = np.concatenate((obs_nid, np.full(grow, -1, np.int64)))
            obs_n = obs_count.shape[0]
        code = nb.bfs(rows, slots, parent, back, offs, edges, ctr, budget, cfg.max_states, cfg.stop_at_violation, cfg.por,
                      tb.trans.keys, tb.trans.vals, tb.e_flags.a, tb.e_ngsid.a, tb.e_nx.a, tb.e_obs.a,
                      tb.perm.keys, tb.perm.vals, tb.npk, tb.term.a, tb.xsort, groups, gsize,
                      obs_count, obs_seq, obs_nid, miss_t, miss_g)
        if code == nb.NEED:
            if ctr[nb.C_MT]:
                tb.fill_steps(miss_t[: ctr[nb.C_MT]])
            if ctr[nb.C_MP]:
                h = MISS_BUF // 2
                tb.fill_perms(miss_t[h: h + ctr[nb.C_MP]])
            if ctr[nb.C_MG]:
                tb.fill_term(int(miss_g[0]))
            ctr[nb.C_MT] = ctr[nb.C_MP] = ctr[nb.C_MG] = 0
            continue
        if progress and ctr[nb.C_N] - last_report >= 50000:
            last_report = int(ctr[nb.C_N])
            progress(last_report)
        if code == nb.BUDGET:
            continue
        break
    n = int(ctr[nb.C_N])
    res.states = n
    res.transitions = int(ctr[nb.C_TRANS])
    res.violations = int(ctr[nb.C_VIOLS])
    res.truncated = bool(ctr[nb.C_TRUNC])
    res.back_edges = int(ctr[nb.C_BACK])
    res.tables = {"shared states": len(tb.g), "thread states": len(tb.x), "thread steps": len(tb.e_op),
                  "local states": len(search.progs.lkeys), "permuted shared ids": tb.perm.n}
    obs_first_state: dict[str, tuple[int, int]] = {}
    for oid, obs in enumerate(tb.obs_sets):
        if oid == 0 or oid >= obs_n or obs_count[oid] == 0:
            continue
        for o in obs:
            res.observations[o] = res.observations.get(o, 0) + int(obs_count[oid])
            first = (int(obs_seq[oid]), int(obs_nid[oid]))
            if o not in obs_first_state or first < obs_first_state[o]:
                obs_first_state[o] = first
    graph = Graph(tb, rows[:n], parent[:n], n)
    violation: Found | None = None
    if res.violations:
        s, t, kind, ref = (int(ctr[i]) for i in (nb.C_VSTATE, nb.C_VT, nb.C_VKIND, nb.C_VREF))
        if kind == nb.V_DEADLOCK:
            violation = (s, -1, Op("deadlock"), None, DEADLOCK)
        elif kind == nb.V_TERMINAL:
            violation = (s, -1, Op("end"), None, tb.term_msgs[ref])
        else:
            op, (result, vmsg, lost) = tb.e_op[ref], tb.e_viol[ref]
            violation = (s, t, op, None, vmsg) if kind == nb.V_APPLY else (s, t, op, result, lost)
    elif not res.truncated:
        args = (graph.rows, n, slots, cfg.por, tb.trans.keys, tb.trans.vals, tb.e_flags.a, tb.e_ngsid.a, tb.e_nx.a,
                tb.perm.keys, tb.perm.vals, tb.npk, tb.xsort, groups, gsize)
        cyclic = False
        if ctr[nb.C_BACK]:  # else every edge goes one level down: acyclic
            cyclic = nb.has_cycle(offs, edges, n, back)
        del edges
        if cyclic:
            offs, tg, th = nb.edge_list(*args)
            graph._succ = (offs, tg, th)
            res.cycles = True
            res.livelock = _fair_cycle(graph, graph.successors, search.progs, T, _indegree_left(offs, tg, n))
    return graph, violation, {o: nid for o, (_, nid) in obs_first_state.items()}


def _indegree_left(offs: np.ndarray, tg: np.ndarray, n: int) -> list[int]:
    """In-degrees left after Kahn's peeling of the acyclic part (> 0: on or behind a cycle)."""
    from collections import deque

    indeg = np.bincount(tg, minlength=n).astype(np.int64)
    q = deque(np.flatnonzero(indeg == 0).tolist())
    while q:
        u = q.popleft()
        for v in tg[offs[u]:offs[u + 1]].tolist():
            indeg[v] -= 1
            if indeg[v] == 0:
                q.append(v)
    return indeg.tolist()
