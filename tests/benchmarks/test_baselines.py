"""The plain-loop floors of the benchmarks (``benchmarks/_baselines.py``) against plain-Python references with
the same semantics written with deques (not intrusive lists), so that a benchmark's ratio compares the model
with a loop that really does the memory work its docstring claims."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from benchmarks import _baselines as B


def _order(prev: np.ndarray, nxt: np.ndarray, heads: np.ndarray, h: int) -> list[int]:
    out, x = [], int(heads[h, 0])
    while x != -1:
        assert x not in out[-1:]
        out.append(x)
        x = int(nxt[x])
    assert len(out) == heads[h, 2] and (not out or (heads[h, 1] == out[-1] and prev[out[0]] == -1))
    return out


def _check_lists(arrays: tuple[np.ndarray, ...], res: deque[int], pool: deque[int]) -> None:
    _, _, _, _, prev, nxt, heads = arrays
    assert _order(prev, nxt, heads, B.RES) == list(res)
    assert _order(prev, nxt, heads, B.POOL) == list(pool)


def _fill_reference(clens: list[int]) -> tuple[dict[str, int], deque[int], dict[int, int]]:
    c = dict.fromkeys(B.FILL_COUNTERS, 0)
    res, pool, ref = deque(range(len(clens))), deque(), dict.fromkeys(range(len(clens)), 1)
    c["anon"], c["usage_bytes"] = len(clens), len(clens) * B.PAGE_SIZE
    while res:
        x = res.popleft()
        if ref[x]:
            ref[x] = 0
            res.append(x)
            c["rotated"] += 1
            continue
        length = min(clens[x], B.PAGE_SIZE)
        c["anon"] -= 1
        c["usage_bytes"] += length - B.PAGE_SIZE
        c["swap"] += 1
        c["pool_bytes"] += length
        c["stored"] += 1
        c["zswap_b"] += length
        c["zswapped"] += 1
        c["zswpout"] += 1
        ref[x] = 1
        pool.append(x)
    return c, pool, ref


@pytest.mark.parametrize("n", [0, 1, 2, 7, 300])
def test_fill_lists_matches_a_reference(n):
    clens = np.random.default_rng(n).integers(0, 5000, n)
    arrays = B.new_arrays(n)
    cnt = np.zeros(len(B.FILL_COUNTERS), np.int64)
    assert B.fill_into(clens, *arrays, cnt) == n
    want, pool, ref = _fill_reference(clens.tolist())
    assert dict(zip(B.FILL_COUNTERS, cnt.tolist(), strict=True)) == want
    _check_lists(arrays, deque(), pool)
    owner, clen, state, flags = arrays[:4]
    assert (owner == 1).all() and (state == B.POOL).all() and flags.tolist() == [ref[i] for i in range(n)]
    assert clen.tolist() == np.minimum(clens, B.PAGE_SIZE).tolist()
    assert (B.fill_lists(clens) == cnt).all()


def _clock_lists_reference(objs: list[int], clens: list[int], capacity: int):
    c = dict.fromkeys(B.MISS_COUNTERS, 0)
    res: deque[int] = deque()
    pool: deque[int] = deque()
    state = dict.fromkeys(range(len(clens)), B.NEW)
    ref: dict[int, int] = {}
    for o in objs:
        if state[o] == B.RES:
            ref[o] = 1
            continue
        c["misses"] += 1
        length = min(clens[o], B.PAGE_SIZE)
        if state[o] == B.POOL:
            pool.remove(o)
            c["zswpin"] += 1
            c["pool_bytes"] -= length
            c["stored"] -= 1
            c["zswap_b"] -= length
            c["zswapped"] -= 1
        state[o], ref[o] = B.RES, 1
        res.append(o)
        c["anon"] += 1
        while len(res) > capacity:
            x = res.popleft()
            if ref[x]:
                ref[x] = 0
                res.append(x)
                c["rotated"] += 1
                continue
            lx = min(clens[x], B.PAGE_SIZE)
            c["anon"] -= 1
            c["zswpout"] += 1
            c["pool_bytes"] += lx
            c["stored"] += 1
            c["zswap_b"] += lx
            c["zswapped"] += 1
            state[x], ref[x] = B.POOL, 1
            pool.append(x)
    return c, res, pool, state, ref


@pytest.mark.parametrize("capacity", [1, 3, 17, 60])
def test_clock_lists_matches_a_reference(capacity):
    rng = np.random.default_rng(capacity)
    objs = rng.zipf(1.3, 3000) % 50
    clens = rng.integers(0, 5000, 50)
    arrays = B.new_arrays(50)
    cnt = np.zeros(len(B.MISS_COUNTERS), np.int64)
    B.clock_lists_into(objs.astype(np.int64), clens, capacity, *arrays, cnt)
    want, res, pool, state, ref = _clock_lists_reference(objs.tolist(), clens.tolist(), capacity)
    assert dict(zip(B.MISS_COUNTERS, cnt.tolist(), strict=True)) == want
    _check_lists(arrays, res, pool)
    assert arrays[2].tolist() == [state[i] for i in range(50)]
    assert [int(arrays[3][i]) for i in ref] == [ref[i] for i in ref]


def test_cyclic_trace_misses_every_time():
    """The miss-path benchmark's trace: a cycle over more pages than the capacity misses on every access."""
    objs = np.tile(np.arange(12, dtype=np.int64), 5)
    cnt = B.clock_lists(objs, np.full(12, 100, np.int64), 10)
    c = dict(zip(B.MISS_COUNTERS, cnt.tolist(), strict=True))
    assert c["misses"] == len(objs) and c["zswpin"] == len(objs) - 12 and c["anon"] == 10
