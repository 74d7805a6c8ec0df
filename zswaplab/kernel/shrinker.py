"""The zswap memory-pressure ("dynamic") shrinker and the ``do_shrink_slab`` arithmetic that drives it.

Models ``zswap_shrinker_count`` / ``zswap_shrinker_scan`` (mm/zswap.c, v6.12+ with ``nr_disk_swapins``) and
``do_shrink_slab`` (mm/shrinker.c) — kernel-semantics §1.13. Off by default (``shrinker_enabled`` = N), as in the kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import DEFAULT_SEEKS, PAGE_SIZE, SHRINK_BATCH
from .list_lru import WalkBudget, list_lru_walk_one
from .memcg import MemCgroup, mem_cgroup_zswap_writeback_enabled
from .writeback import ShrinkWalkArg, shrink_memcg_cb
from .zswap import zswap_total_pages

if TYPE_CHECKING:
    from .system import Kernel

SHRINK_STOP = -1


def zswap_shrinker_count(k: Kernel, memcg: MemCgroup, nid: int) -> int:
    """``zswap_shrinker_count(shrinker, sc)`` (v6.12+): freeable entries, less recent disk swapins, scaled by the
    compression ratio."""
    if not k.config.shrinker_enabled or not mem_cgroup_zswap_writeback_enabled(memcg, k.config.zswap_enabled):
        return 0
    if not k.tree.memcg_disabled:
        st = k.stats_of(memcg)
        nr_backing = st.zswap_b // PAGE_SIZE
        nr_stored = st.zswapped
    else:
        nr_backing = zswap_total_pages(k)
        nr_stored = k.zswap.stats.stored_pages
    if nr_stored == 0:
        return 0
    lid = k.lru_id(memcg)
    nr_freeable = k.zswap_lru.list_lru_count_one(lid, nid)
    if nr_freeable == 0:
        return 0
    d = k.nr_disk_swapins[(lid, nid)]
    consumed = min(d, nr_freeable)
    k.nr_disk_swapins[(lid, nid)] = d - consumed
    nr_freeable -= consumed
    if nr_freeable == 0:
        return 0
    return nr_freeable * nr_backing // nr_stored


def zswap_shrinker_scan(k: Kernel, memcg: MemCgroup, nid: int, budget: WalkBudget) -> int:
    """``zswap_shrinker_scan(shrinker, sc)`` (v6.12 … v7.0): walk with the encountered-swapcache flag; STOP on it
    or on 0 freed."""
    if not k.config.shrinker_enabled or not mem_cgroup_zswap_writeback_enabled(memcg, k.config.zswap_enabled):
        budget.nr_to_walk = 0
        return SHRINK_STOP
    arg = ShrinkWalkArg()
    lst = k.zswap_lru.list_of(k.lru_id(memcg), nid)
    freed = list_lru_walk_one(lst, lambda e, lst: shrink_memcg_cb(k, e, lst, arg), budget)
    if arg.encountered_page_in_swapcache:
        return SHRINK_STOP
    return freed if freed else SHRINK_STOP


def shrink_slab_zswap(k: Kernel, memcg: MemCgroup, nid: int, priority: int) -> int:
    """``do_shrink_slab`` (v6.12 … v7.0) for the zswap shrinker on one (memcg, nid) (batch 0 → SHRINK_BATCH, seeks 2)."""
    freeable = zswap_shrinker_count(k, memcg, nid)
    if freeable == 0:
        return 0
    key = (k.lru_id(memcg), nid)
    nr = k.shrinker_deferred.pop(key, 0)
    delta = (freeable >> priority) * 4 // DEFAULT_SEEKS
    total_scan = min((nr >> priority) + delta, 2 * freeable)
    freed = scanned = 0
    while total_scan >= SHRINK_BATCH or total_scan >= freeable:
        nr_to_scan = min(SHRINK_BATCH, total_scan)
        budget = WalkBudget(nr_to_scan)
        ret = zswap_shrinker_scan(k, memcg, nid, budget)
        nr_scanned = nr_to_scan  # sc->nr_scanned is left at nr_to_scan by the zswap shrinker
        if ret == SHRINK_STOP:
            break
        freed += ret
        total_scan -= nr_scanned
        scanned += nr_scanned
        k.counters["zswap_shrinker_scans"] += 1
    next_deferred = min(max(nr + delta - scanned, 0), 2 * freeable)
    if next_deferred:
        k.shrinker_deferred[key] = next_deferred
    return freed
