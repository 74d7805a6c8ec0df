"""The checker's compiled search loop (numba): breadth-first over fixed-width integer state rows.

A state row is ``[gsid, x_0, …, x_{T-1}]`` (uint32): ``gsid`` the interned shared part, ``x_t`` thread
``t``'s interned extended local state (local id, references held, done). Everything a thread step does is a
pure function of ``(gsid, t, x_t)`` and is read from the *transition table* (:mod:`.compiled` fills it with
the Python semantics on a miss; nothing here knows the semantics): flags (live / enabled / independent /
violation / lost reference), the next ``gsid`` and ``x_t``, the observation set. The loop canonicalises
symmetric threads by a per-``x`` sort key that reproduces the Python checker's order, remaps lock holders via
a table of permuted shared ids, and looks states up in an open-addressing hash table of int32 indices into
the row array (insertion order = BFS order). A missing table entry stops the loop before the state is
touched; the caller fills it and calls again.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LIVE, EN, IND, VIOL, LOST = 1, 2, 4, 8, 16
# ctr slots
(C_N, C_HEAD, C_TRANS, C_VIOLS, C_VSTATE, C_VT, C_VKIND, C_VREF, C_MT, C_MP, C_MG, C_SEQ, C_TRUNC, C_LEVEL_END,
 C_BACK, C_EDGES) = range(16)
NCTR = 16
# return codes
DONE, BUDGET, NEED, STOPPED, TRUNCATED = 0, 1, 2, 3, 4
# violation kinds
V_APPLY, V_LOST, V_DEADLOCK, V_TERMINAL = 1, 2, 3, 4

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _mix(h: np.uint64) -> np.uint64:
    h = (h ^ (h >> np.uint64(30))) * _M1
    h = (h ^ (h >> np.uint64(27))) * _M2
    return h ^ (h >> np.uint64(31))


@njit(cache=True, inline="always")
def _row_hash(row) -> np.uint64:  # noqa: ANN001
    h = _G
    for w in range(row.shape[0]):
        h = _mix(h ^ np.uint64(row[w]))
    return h


@njit(cache=True)
def tab_get(tkeys, tvals, key):  # noqa: ANN001, ANN201
    """int64 → int32 open-addressing lookup (-1: absent)."""
    mask = tkeys.shape[0] - 1
    i = np.int64(_mix(np.uint64(key)) & np.uint64(mask))
    while True:
        k = tkeys[i]
        if k == key:
            return tvals[i]
        if k == -1:
            return -1
        i = (i + 1) & mask


@njit(cache=True)
def tab_get_many(tkeys, tvals, keys):  # noqa: ANN001, ANN201
    out = np.empty(keys.shape[0], np.int32)
    for j in range(keys.shape[0]):
        out[j] = tab_get(tkeys, tvals, keys[j])
    return out


@njit(cache=True)
def tab_put_many(tkeys, tvals, keys, vals) -> None:  # noqa: ANN001
    mask = tkeys.shape[0] - 1
    for j in range(keys.shape[0]):
        key = keys[j]
        i = np.int64(_mix(np.uint64(key)) & np.uint64(mask))
        while tkeys[i] != -1 and tkeys[i] != key:
            i = (i + 1) & mask
        tkeys[i] = key
        tvals[i] = vals[j]


@njit(cache=True)
def rehash_rows(rows, n, slots) -> None:  # noqa: ANN001
    """Insert rows[0:n] into an empty slot table (indices)."""
    mask = slots.shape[0] - 1
    for s in range(n):
        i = np.int64(_row_hash(rows[s]) & np.uint64(mask))
        while slots[i] != -1:
            i = (i + 1) & mask
        slots[i] = s


@njit(cache=True, inline="always")
def _find(rows, slots, row) -> int:  # noqa: ANN001
    """Index of ``row`` or ``-(slot+1)`` of the empty slot where it goes."""
    mask = slots.shape[0] - 1
    W = row.shape[0]
    i = np.int64(_row_hash(row) & np.uint64(mask))
    while True:
        s = slots[i]
        if s == -1:
            return -(i + 1)
        same = True
        for w in range(W):
            if rows[s, w] != row[w]:
                same = False
                break
        if same:
            return s
        i = (i + 1) & mask


@njit(cache=True, inline="always")
def _tkey(gsid, t, x, T) -> np.int64:  # noqa: ANN001
    return ((np.int64(gsid) * T + t) << 32) | np.int64(x)


@njit(cache=True, inline="always")
def _after(xsort, a, b) -> bool:  # noqa: ANN001
    """Thread state ``a`` sorts after ``b`` (multi-word keys, most significant first)."""
    for w in range(xsort.shape[1]):
        if xsort[a, w] != xsort[b, w]:
            return xsort[a, w] > xsort[b, w]
    return False


@njit(cache=True)
def _expand(s, rows, T, tkeys, tvals, e_flags, e_ngsid, e_nx, pkeys, pvals, npk, xsort, groups, gsize, por,
            ents, cand, buf, perm, inv, ctr, miss_p) -> int:  # noqa: ANN001
    """Successor rows of state ``s`` into ``buf[0:nc]`` (``cand[0:nc]`` the threads, violations included: their
    rows are not filled); returns nc, or -1 (transition-table miss), -2 (permutation-table misses recorded in
    ``miss_p``)."""
    gsid = rows[s, 0]
    for t in range(T):
        e = tab_get(tkeys, tvals, _tkey(gsid, t, rows[s, 1 + t], T))
        if e < 0:
            return -1
        ents[t] = e
    nc = 0
    for t in range(T):
        if e_flags[ents[t]] & EN:
            cand[nc] = t
            nc += 1
    if por:
        for i in range(nc):
            if e_flags[ents[cand[i]]] & IND:
                cand[0] = cand[i]
                nc = 1
                break
    need = False
    for i in range(nc):
        t = cand[i]
        e = ents[t]
        if e_flags[e] & VIOL:
            continue
        for w in range(T + 1):
            buf[i, w] = rows[s, w]
        buf[i, 0] = e_ngsid[e]
        buf[i, 1 + t] = e_nx[e]
        # canonical form: stable sort of each group of symmetric threads by the Python checker's key
        changed = False
        for p in range(T):
            perm[p] = p
        for g in range(groups.shape[0]):
            m = gsize[g]
            for a in range(1, m):  # insertion sort of positions groups[g, 0:m] by xsort
                pa = perm[groups[g, a]]
                xa = buf[i, 1 + pa]
                b = a - 1
                while b >= 0 and _after(xsort, buf[i, 1 + perm[groups[g, b]]], xa):
                    perm[groups[g, b + 1]] = perm[groups[g, b]]
                    b -= 1
                perm[groups[g, b + 1]] = pa
        for p in range(T):
            if perm[p] != p:
                changed = True
        if changed:
            for p in range(T):
                inv[p] = buf[i, 1 + p]
            code = np.int64(0)
            for p in range(T - 1, -1, -1):
                buf[i, 1 + p] = inv[perm[p]]
                code = code * T + perm[p]
            if npk > 0:  # lock holders are remapped by a table of permuted shared ids
                pk = np.int64(buf[i, 0]) * npk + code
                ng = tab_get(pkeys, pvals, pk)
                if ng < 0:
                    if ctr[C_MP] < miss_p.shape[0]:
                        miss_p[ctr[C_MP]] = pk
                        ctr[C_MP] += 1
                    need = True
                else:
                    buf[i, 0] = ng
    if need:
        return -2
    return nc


@njit(cache=True)
def _scratch(T):  # noqa: ANN001, ANN202
    """Per-state work arrays of :func:`_expand`: entries, candidates, permutation, copy, successor rows."""
    return (np.empty(T, np.int32), np.empty(T, np.int32), np.empty(T, np.int64), np.empty(T, np.int64),
            np.empty((T, T + 1), np.uint32))


@njit(cache=True)
def bfs(rows, slots, parent, back, offs, edges, ctr, budget, max_states, stop, por, tkeys, tvals, e_flags, e_ngsid, e_nx, e_obs,
        pkeys, pvals, npk, term, xsort, groups, gsize, obs_count, obs_first_seq, obs_first_nid, miss_t,
        miss_g) -> int:  # noqa: ANN001
    """Expand states from ``ctr[C_HEAD]`` in order, at most ``budget`` of them; see the module doc."""
    T = rows.shape[1] - 1
    ents, cand, perm, inv, buf = _scratch(T)
    miss_p = miss_t[miss_t.shape[0] // 2:]  # perm misses share the buffer's upper half
    done = 0
    while ctr[C_HEAD] < ctr[C_N]:
        if done >= budget:
            return BUDGET
        s = ctr[C_HEAD]
        if s == ctr[C_LEVEL_END]:  # s starts the next BFS level; the one after starts at the current end
            ctr[C_LEVEL_END] = ctr[C_N]
        nc = _expand(s, rows, T, tkeys, tvals, e_flags, e_ngsid, e_nx, pkeys, pvals, npk, xsort, groups, gsize,
                     por, ents, cand, buf, perm, inv, ctr, miss_p)
        if nc == -1:  # collect every missing thread step of the frontier (bounded), then ask for them
            lim = miss_t.shape[0] // 2
            u = s
            while u < ctr[C_N] and ctr[C_MT] < lim:
                g = rows[u, 0]
                for t in range(T):
                    k = _tkey(g, t, rows[u, 1 + t], T)
                    if tab_get(tkeys, tvals, k) < 0 and ctr[C_MT] < lim:
                        miss_t[ctr[C_MT]] = k
                        ctr[C_MT] += 1
                u += 1
            return NEED
        if nc == -2:
            return NEED
        if nc == 0:
            live = False
            for t in range(T):
                if e_flags[ents[t]] & LIVE:
                    live = True
            if live:
                _found(ctr, s, -1, V_DEADLOCK, 0)
            else:
                tm = term[rows[s, 0]]
                if tm == -2:
                    miss_g[0] = rows[s, 0]
                    ctr[C_MG] = 1
                    return NEED
                if tm >= 0:
                    _found(ctr, s, -1, V_TERMINAL, tm)
            offs[s] = ctr[C_EDGES]
            offs[s + 1] = ctr[C_EDGES]
            ctr[C_HEAD] = s + 1
            done += 1
            if stop and ctr[C_VIOLS] > 0:
                return STOPPED
            continue
        offs[s] = ctr[C_EDGES]
        for i in range(nc):
            t = cand[i]
            e = ents[t]
            f = e_flags[e]
            if f & VIOL:
                _found(ctr, s, t, V_APPLY, e)
                if stop:
                    break
                continue
            if f & LOST:
                _found(ctr, s, t, V_LOST, e)
                if stop:
                    break
            r = _find(rows, slots, buf[i])
            if r < 0:
                nid = ctr[C_N]
                for w in range(T + 1):
                    rows[nid, w] = buf[i, w]
                slots[-r - 1] = nid
                parent[nid] = s
                ctr[C_N] = nid + 1
            else:
                nid = r
                if nid < ctr[C_LEVEL_END]:  # an edge that does not go one level down: a cycle may use it
                    ctr[C_BACK] += 1
                    back[nid] = 1
            ctr[C_TRANS] += 1
            edges[ctr[C_EDGES]] = nid
            ctr[C_EDGES] += 1
            o = e_obs[e]
            if o > 0:
                obs_count[o] += 1
                if obs_first_nid[o] < 0:
                    obs_first_nid[o] = nid
                    obs_first_seq[o] = ctr[C_SEQ]
            ctr[C_SEQ] += 1
        ctr[C_HEAD] = s + 1
        offs[s + 1] = ctr[C_EDGES]
        done += 1
        if ctr[C_N] >= max_states:
            ctr[C_TRUNC] = 1
            return TRUNCATED
        if stop and ctr[C_VIOLS] > 0:
            return STOPPED
    return DONE


@njit(cache=True, inline="always")
def _found(ctr, s, t, kind, ref) -> None:  # noqa: ANN001
    ctr[C_VIOLS] += 1
    if ctr[C_VIOLS] == 1:
        ctr[C_VSTATE] = s
        ctr[C_VT] = t
        ctr[C_VKIND] = kind
        ctr[C_VREF] = ref


@njit(cache=True)
def edge_list(rows, n, slots, por, tkeys, tvals, e_flags, e_ngsid, e_nx, pkeys, pvals, npk, xsort, groups,
              gsize):  # noqa: ANN001, ANN201
    """The finished graph's edges with their threads, recomputed (every table entry is present), as CSR arrays
    ``(offs, targets, threads)``: built only when a cycle exists (the livelock test needs the threads)."""
    T = rows.shape[1] - 1
    ents, cand, perm, inv, buf = _scratch(T)
    ctr = np.zeros(NCTR, np.int64)
    miss_p = np.empty(1, np.int64)
    offs = np.zeros(n + 1, np.int64)
    targets = np.empty(max(16, n * 2), np.int32)
    threads = np.empty(max(16, n * 2), np.int8)
    m = 0
    for s in range(n):
        nc = _expand(s, rows, T, tkeys, tvals, e_flags, e_ngsid, e_nx, pkeys, pvals, npk, xsort, groups,
                     gsize, por, ents, cand, buf, perm, inv, ctr, miss_p)
        assert nc >= 0
        for i in range(nc):
            if m >= targets.shape[0]:
                targets = np.concatenate((targets, np.empty(targets.shape[0], np.int32)))
                threads = np.concatenate((threads, np.empty(threads.shape[0], np.int8)))
            targets[m] = _find(rows, slots, buf[i])
            threads[m] = cand[i]
            m += 1
        offs[s + 1] = m
    return offs, targets[:m], threads[:m]


@njit(cache=True)
def has_cycle(offs, edges, n, back) -> bool:  # noqa: ANN001
    """Depth-first search with white/grey/black colours over the stored edges (``offs``/``edges``: state s's
    successors are ``edges[offs[s]:offs[s+1]]``) from every state marked in ``back``: True iff the graph has a
    cycle. Proof: the breadth-first search marked the target of every edge that does not go from a level to the
    next one; an edge that does increases the BFS level, so a cycle (whose levels cannot only increase)
    contains a marked state, and a DFS with shared colours from a set of roots finds a cycle iff one is
    reachable from a root."""
    color = np.zeros(n, np.uint8)
    cap = 1024
    st = np.empty(cap, np.int64)
    pos = np.empty(cap, np.int64)
    for root in range(n):
        if back[root] == 0 or color[root] != 0:
            continue
        d = 0
        st[0] = root
        pos[0] = offs[root]
        color[root] = 1
        while d >= 0:
            s = st[d]
            if pos[d] < offs[s + 1]:
                v = edges[pos[d]]
                pos[d] += 1
                if color[v] == 1:
                    return True
                if color[v] == 0:
                    color[v] = 1
                    d += 1
                    if d >= st.shape[0]:
                        st = np.concatenate((st, np.empty(st.shape[0], np.int64)))
                        pos = np.concatenate((pos, np.empty(pos.shape[0], np.int64)))
                    st[d] = v
                    pos[d] = offs[v]
            else:
                color[s] = 2
                d -= 1
    return False
