"""Plain compiled loops the benchmarks compare against: what the simplest code doing the same memory work costs.

* :func:`clock_dense` — a 1-bit Clock (second chance) cache over dense object ids: one slot array, one
  reference-bit array, one hand; the floor for "replay a page-access trace through a bounded cache".
* :func:`fill_lists` — fills a pool the way the model's alloc + ``memory.reclaim`` does, without its checks:
  the same per-entry arrays (owner int32, length uint16, state and flags uint8, prev/next int32), the same
  intrusive-list writes (link at the tail of the resident list; drained from its head with second chance: a
  referenced entry is cleared and moved to the tail, then unlinked and linked at the tail of the pool list) and
  per-entry state/length/flag and counter writes (:data:`COUNTERS`: one memcg level, no limits, no
  hierarchy walks, no knobs). The floor for "fill a pool of N entries of this layout".
* :func:`clock_lists` — the model's miss path without its checks: two intrusive lists over dense ids (resident,
  pool) with the same per-entry arrays; a hit sets the referenced flag; a miss unlinks the page from the pool
  (a load) or gives it its length (first access), links it at the resident tail, and while more than
  ``capacity`` pages are resident evicts from the head with second chance into the pool (a store), writing the
  same kind of counters. The floor for "a miss of a memory-limited cache with a compressed pool behind it".

The list loops are compiled like the fast core (``_nrt=False``: no atomic reference counting of the arrays they
pass around; see docs/performance.md), so that the floor is as lean as the compiled code can be.

:mod:`tests.benchmarks.test_baselines` checks each loop against a plain-Python reference.
"""

from __future__ import annotations

import numba
import numpy as np

PAGE_SIZE = 4096
RES, POOL = 0, 1  # list / state ids (state 2 = never seen)
NEW = 2
F_REF = 1
# Counters of both loops, written per entry as the model writes its own (one memcg level + the globals);
# ``rotated`` counts second-chance rotations, so that the tests see the rotation work, which leaves no other trace.
COUNTERS = ("anon", "usage_bytes", "swap", "pool_bytes", "stored", "zswap_b", "zswapped", "zswpout", "zswpin",
            "misses", "rotated")
ANON, USAGE, SWAP, POOL_B, STORED, ZSWAP_B, ZSWAPPED, ZSWPOUT, ZSWPIN, MISSES, ROTATED = range(len(COUNTERS))


@numba.njit(cache=True, nogil=True)
def clock_dense(objs: np.ndarray, nobj: int, capacity: int) -> int:  # pragma: no cover - compiled
    """Misses of a 1-bit Clock of ``capacity`` slots on ``objs`` (dense ids < ``nobj``)."""
    where = np.full(nobj, -1, np.int64)  # object -> slot
    slot_obj = np.full(capacity, -1, np.int64)
    ref = np.zeros(capacity, np.uint8)
    hand = 0
    used = 0
    misses = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = where[o]
        if s >= 0:
            ref[s] = 1
            continue
        misses += 1
        if used < capacity:
            s = used
            used += 1
        else:
            while ref[hand]:
                ref[hand] = 0
                hand = hand + 1 if hand + 1 < capacity else 0
            s = hand
            where[slot_obj[s]] = -1
            hand = hand + 1 if hand + 1 < capacity else 0
        slot_obj[s] = o
        where[o] = s
        ref[s] = 0
    return misses


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _link_tail(prev, nxt, heads, h, x):  # pragma: no cover - compiled
    t = heads[h, 1]
    prev[x] = t
    nxt[x] = -1
    if t == -1:
        heads[h, 0] = x
    else:
        nxt[t] = x
    heads[h, 1] = x
    heads[h, 2] += 1


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _unlink(prev, nxt, heads, h, x):  # pragma: no cover - compiled
    p = prev[x]
    n = nxt[x]
    if p == -1:
        heads[h, 0] = n
    else:
        nxt[p] = n
    if n == -1:
        heads[h, 1] = p
    else:
        prev[n] = p
    prev[x] = -1
    nxt[x] = -1
    heads[h, 2] -= 1


def new_arrays(n: int) -> tuple[np.ndarray, ...]:
    """The per-entry arrays of the plain loops (the model's layout) and the list heads (head, tail, count)."""
    heads = np.full((2, 3), -1, np.int64)
    heads[:, 2] = 0
    return (np.zeros(n, np.int32), np.zeros(n, np.uint16), np.full(n, NEW, np.uint8), np.zeros(n, np.uint8),
            np.full(n, -1, np.int32), np.full(n, -1, np.int32), heads)


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _resident(i, clens, owner, clen, state, flags, prev, nxt, heads, cnt):  # pragma: no cover - compiled
    """A new page: owner, length, state, referenced, at the resident tail; charged."""
    owner[i] = 1
    clen[i] = min(clens[i], PAGE_SIZE)
    state[i] = RES
    flags[i] = F_REF
    _link_tail(prev, nxt, heads, RES, i)
    cnt[ANON] += 1
    cnt[USAGE] += PAGE_SIZE


@numba.njit(cache=True, nogil=True, inline="always", _nrt=False)
def _reclaim_head(clen, state, flags, prev, nxt, heads, cnt):  # pragma: no cover - compiled
    """One step at the resident head: a referenced page is cleared and rotated (False); otherwise it is unlinked,
    stored (state, flag, the pool list's tail) and the counters move (True)."""
    x = heads[RES, 0]
    if flags[x] & F_REF:
        flags[x] = 0
        _unlink(prev, nxt, heads, RES, x)
        _link_tail(prev, nxt, heads, RES, x)
        cnt[ROTATED] += 1
        return False
    _unlink(prev, nxt, heads, RES, x)
    length = np.int64(clen[x])
    cnt[ANON] -= 1
    cnt[USAGE] += length - PAGE_SIZE
    cnt[SWAP] += 1
    cnt[POOL_B] += length
    cnt[STORED] += 1
    cnt[ZSWAP_B] += length
    cnt[ZSWAPPED] += 1
    cnt[ZSWPOUT] += 1
    state[x] = POOL
    flags[x] = F_REF
    _link_tail(prev, nxt, heads, POOL, x)
    return True


@numba.njit(cache=True, nogil=True, _nrt=False)
def fill_into(clens, owner, clen, state, flags, prev, nxt, heads, cnt):  # pragma: no cover - compiled
    """Fill: every entry a new resident page, then drain the resident list into the pool."""
    n = clens.shape[0]
    for i in range(n):
        _resident(i, clens, owner, clen, state, flags, prev, nxt, heads, cnt)
    while heads[RES, 0] != -1:
        _reclaim_head(clen, state, flags, prev, nxt, heads, cnt)
    return n


def counters(cnt: np.ndarray) -> dict[str, int]:
    """The counter array a plain loop returns, by :data:`COUNTERS` name."""
    return dict(zip(COUNTERS, cnt.tolist(), strict=True))


def fill_lists(clens: np.ndarray) -> np.ndarray:
    """Allocate the arrays (first touch counted, as the model's are) and fill; return :data:`COUNTERS`."""
    cnt = np.zeros(len(COUNTERS), np.int64)
    fill_into(clens, *new_arrays(len(clens)), cnt)
    return cnt


@numba.njit(cache=True, nogil=True, _nrt=False)
def clock_lists_into(objs, clens, capacity, owner, clen, state, flags, prev, nxt, heads, cnt):  # pragma: no cover
    """Replay ``objs`` (dense ids) through a resident list of ``capacity`` pages with a pool behind it."""
    for i in range(objs.shape[0]):
        o = objs[i]
        st = state[o]
        if st == RES:
            flags[o] = F_REF
            continue
        cnt[MISSES] += 1
        if st == POOL:  # load: off the pool list, uncharged, back at the resident tail
            _unlink(prev, nxt, heads, POOL, o)
            length = np.int64(clen[o])
            cnt[SWAP] -= 1
            cnt[POOL_B] -= length
            cnt[STORED] -= 1
            cnt[ZSWAP_B] -= length
            cnt[ZSWAPPED] -= 1
            cnt[ZSWPIN] += 1
            cnt[USAGE] -= length
        _resident(o, clens, owner, clen, state, flags, prev, nxt, heads, cnt)
        while heads[RES, 2] > capacity:  # evict with second chance into the pool (a store)
            _reclaim_head(clen, state, flags, prev, nxt, heads, cnt)
    return objs.shape[0]


def clock_lists(objs: np.ndarray, clens: np.ndarray, capacity: int) -> np.ndarray:
    """Allocate the per-object arrays and replay; return :data:`COUNTERS`."""
    cnt = np.zeros(len(COUNTERS), np.int64)
    clock_lists_into(objs, clens, capacity, *new_arrays(len(clens)), cnt)
    return cnt


def warm() -> None:
    """Compile (or load) every loop for the argument types the benchmarks pass."""
    clock_dense(np.zeros(4, np.int64), 1, 1)
    fill_lists(np.full(3, 100, np.int64))
    clock_lists(np.zeros(4, np.int64), np.full(2, 100, np.int64), 1)
