"""The plain-loop floors of the benchmarks (``benchmarks/_baselines.py``) against plain-Python references with
the same semantics written with deques (not intrusive lists), so that a benchmark's ratio compares the model
with a loop that really does the memory work its docstring claims."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from benchmarks import _baselines as B


class _Reference:
    """Resident and pool lists as deques, flags and states as dicts, the counters by name."""

    def __init__(self, clens: list[int]) -> None:
        self.clens = [min(c, B.PAGE_SIZE) for c in clens]
        self.c = dict.fromkeys(B.COUNTERS, 0)
        self.res: deque[int] = deque()
        self.pool: deque[int] = deque()
        self.state = dict.fromkeys(range(len(clens)), B.NEW)
        self.ref: dict[int, int] = {}

    def resident(self, x: int) -> None:
        self.state[x], self.ref[x] = B.RES, 1
        self.res.append(x)
        self.c["anon"] += 1
        self.c["usage_bytes"] += B.PAGE_SIZE

    def reclaim_head(self) -> None:
        x = self.res.popleft()
        if self.ref[x]:
            self.ref[x] = 0
            self.res.append(x)
            self.c["rotated"] += 1
            return
        n = self.clens[x]
        for k, d in (("anon", -1), ("usage_bytes", n - B.PAGE_SIZE), ("swap", 1), ("pool_bytes", n), ("stored", 1),
                     ("zswap_b", n), ("zswapped", 1), ("zswpout", 1)):
            self.c[k] += d
        self.state[x], self.ref[x] = B.POOL, 1
        self.pool.append(x)

    def load(self, x: int) -> None:
        self.pool.remove(x)
        n = self.clens[x]
        for k, d in (("swap", -1), ("pool_bytes", -n), ("stored", -1), ("zswap_b", -n), ("zswapped", -1),
                     ("zswpin", 1), ("usage_bytes", -n)):
            self.c[k] += d

    def check(self, arrays: tuple[np.ndarray, ...], cnt: np.ndarray) -> None:
        owner, clen, state, flags, prev, nxt, heads = arrays
        assert dict(zip(B.COUNTERS, cnt.tolist(), strict=True)) == self.c
        assert _order(prev, nxt, heads, B.RES) == list(self.res)
        assert _order(prev, nxt, heads, B.POOL) == list(self.pool)
        assert state.tolist() == [self.state[i] for i in range(len(self.clens))]
        assert [int(flags[i]) for i in self.ref] == list(self.ref.values())
        assert [int(clen[i]) for i in self.ref] == [self.clens[i] for i in self.ref]
        assert all(int(owner[i]) == 1 for i in self.ref)


def _order(prev: np.ndarray, nxt: np.ndarray, heads: np.ndarray, h: int) -> list[int]:
    out, x = [], int(heads[h, 0])
    while x != -1 and len(out) <= len(prev):
        out.append(x)
        x = int(nxt[x])
    assert len(out) == heads[h, 2] and (not out or (heads[h, 1] == out[-1] and prev[out[0]] == -1))
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 7, 300])
def test_fill_lists_matches_a_reference(n):
    clens = np.random.default_rng(n).integers(0, 5000, n)
    arrays = B.new_arrays(n)
    cnt = np.zeros(len(B.COUNTERS), np.int64)
    assert B.fill_into(clens, *arrays, cnt) == n
    ref = _Reference(clens.tolist())
    for i in range(n):
        ref.resident(i)
    while ref.res:
        ref.reclaim_head()
    ref.check(arrays, cnt)
    assert (B.fill_lists(clens) == cnt).all()


@pytest.mark.parametrize("capacity", [1, 3, 17, 60])
def test_clock_lists_matches_a_reference(capacity):
    rng = np.random.default_rng(capacity)
    objs = rng.zipf(1.3, 3000) % 50
    clens = rng.integers(0, 5000, 50)
    arrays = B.new_arrays(50)
    cnt = np.zeros(len(B.COUNTERS), np.int64)
    B.clock_lists_into(objs.astype(np.int64), clens, capacity, *arrays, cnt)
    ref = _Reference(clens.tolist())
    for o in objs.tolist():
        if ref.state[o] == B.RES:
            ref.ref[o] = 1
            continue
        ref.c["misses"] += 1
        if ref.state[o] == B.POOL:
            ref.load(o)
        ref.resident(o)
        while len(ref.res) > capacity:
            ref.reclaim_head()
    ref.check(arrays, cnt)


def test_cyclic_trace_misses_every_time():
    """The miss-path benchmark's trace: a cycle over more pages than the capacity misses on every access."""
    objs = np.tile(np.arange(12, dtype=np.int64), 5)
    c = dict(zip(B.COUNTERS, B.clock_lists(objs, np.full(12, 100, np.int64), 10).tolist(), strict=True))
    assert c["misses"] == len(objs) and c["zswpin"] == len(objs) - 12 and c["anon"] == 10
