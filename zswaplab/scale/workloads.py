"""Per-memcg working-set generators: hot/warm/cold fractions with zipf popularity, phase changes and idle
periods that age pages. Every generator takes a seed; same arguments → identical traces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .traces import PAGE_SIZE, Trace


@dataclass(frozen=True)
class WorkingSet:
    """One memcg's access pattern over ``pages`` distinct pages.

    ``hot``/``warm``/``cold`` are the fractions of the pages in each class (the rest are never touched after
    the first access); ``hot_share``/``warm_share`` the fractions of accesses going to hot/warm pages (the rest go to
    cold ones). Within a class the popularity is zipf(``zipf_s``). Every ``phase_len`` accesses the hot set moves
    to a different slice of the pages (phase change); ``idle_every``/``idle_len`` insert idle gaps in ``time``
    (pages age). ``clen_mean``/``clen_std`` are compressed-length ratios.
    """

    pages: int
    hot: float = 0.1
    warm: float = 0.3
    cold: float = 0.6
    hot_share: float = 0.8
    warm_share: float = 0.15
    zipf_s: float = 1.0
    phase_len: int = 0
    idle_every: int = 0
    idle_len: int = 0
    clen_mean: float = 0.35
    clen_std: float = 0.08

    def __post_init__(self) -> None:
        if self.pages <= 0:
            raise ValueError("pages must be positive")
        if min(self.hot, self.warm, self.cold) < 0 or self.hot + self.warm + self.cold > 1.0 + 1e-9:
            raise ValueError("hot + warm + cold must be fractions summing to <= 1")
        if self.hot_share + self.warm_share > 1.0 + 1e-9:
            raise ValueError("hot_share + warm_share must be <= 1")


def _zipf_ranks(rng: np.random.Generator, n: int, size: int, s: float) -> np.ndarray:
    if n <= 0:
        return np.zeros(size, np.int64)
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(size), side="right").clip(0, n - 1)


def generate(ws: WorkingSet, n_events: int, seed: int, id_base: int = 0) -> Trace:
    """``n_events`` accesses of one working set; object ids are ``id_base + page index``."""
    rng = np.random.default_rng(seed)
    nh = max(1, int(ws.pages * ws.hot))
    nw = int(ws.pages * ws.warm)
    nc = int(ws.pages * ws.cold)
    u = rng.random(n_events)
    cls = np.where(u < ws.hot_share, 0, np.where(u < ws.hot_share + ws.warm_share, 1, 2))
    if nw == 0:
        cls[cls == 1] = 0
    if nc == 0:
        cls[cls == 2] = 0
    idx = np.empty(n_events, np.int64)
    for c, (n, base) in enumerate(((nh, 0), (nw, nh), (nc, nh + nw))):
        sel = np.flatnonzero(cls == c)
        idx[sel] = base + _zipf_ranks(rng, n, sel.size, ws.zipf_s)
    if ws.phase_len > 0:  # each phase rotates the page space: a new slice becomes hot
        phase = np.arange(n_events) // ws.phase_len
        idx = (idx + phase * nh) % ws.pages
    time = np.arange(n_events, dtype=np.int64)
    if ws.idle_every > 0 and ws.idle_len > 0:
        time = time + (np.arange(n_events) // ws.idle_every) * ws.idle_len
    clen_obj = np.clip(rng.normal(ws.clen_mean, ws.clen_std, ws.pages) * PAGE_SIZE, 1, PAGE_SIZE).astype(np.uint16)
    return Trace(time.astype(np.uint32), (idx + id_base).astype(np.uint64), clen_obj[idx])


def interleave(traces: list[Trace]) -> Trace:
    """Merge per-memcg traces by time (stable: ties keep the list order)."""
    t = np.concatenate([tr.time for tr in traces])
    order = np.argsort(t, kind="stable")
    return Trace(t[order], np.concatenate([tr.obj_id for tr in traces])[order],
                 np.concatenate([tr.clen for tr in traces])[order])
