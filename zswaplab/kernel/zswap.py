"""The zswap pool: entries, store, load, invalidate, limits and global statistics.

Models mm/zswap.c of Linux v6.12 … v7.0 (spec §1.1–§1.5). Functions take the :class:`~zswaplab.kernel.system.Kernel`
as their first argument; it stands for the kernel's global state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from .constants import PAGE_COUNTER_MAX, PAGE_SIZE
from .memcg import MemCgroup, mem_cgroup_zswap_writeback_enabled

if TYPE_CHECKING:
    from .page import Page
    from .system import Kernel


class ObjCgroup:
    """``struct obj_cgroup``: the indirection through which zswap charges; reparented at memcg offline."""

    __slots__ = ("memcg",)

    def __init__(self, memcg: MemCgroup) -> None:
        self.memcg = memcg

    def __repr__(self) -> str:
        return f"<objcg -> {self.memcg.path}>"


class ZswapEntry:
    """``struct zswap_entry`` (one per stored base page)."""

    __slots__ = ("swp", "length", "referenced", "objcg", "nid", "store_time_ns", "page", "prev", "next", "lru")

    def __init__(self, swp: int, length: int, objcg: ObjCgroup | None, nid: int, now_ns: int, page: Page) -> None:
        self.swp = swp
        self.length = length
        self.referenced = True
        self.objcg = objcg
        self.nid = nid
        self.store_time_ns = now_ns  # v1 of the series only; harmless elsewhere
        self.page = page
        self.prev: Any = None
        self.next: Any = None
        self.lru: Any = None

    def __repr__(self) -> str:
        return f"<entry swp={self.swp} len={self.length} ref={int(self.referenced)}>"


@dataclass
class ZswapDebugfs:
    """The counters of ``/sys/kernel/debug/zswap/`` (mm/zswap.c, v6.12+; spec §1.14)."""

    pool_limit_hit: int = 0
    reject_reclaim_fail: int = 0
    reject_alloc_fail: int = 0
    reject_kmemcache_fail: int = 0
    reject_compress_fail: int = 0
    reject_compress_poor: int = 0
    decompress_fail: int = 0
    written_back_pages: int = 0
    stored_pages: int = 0
    stored_incompressible_pages: int = 0

    def as_dict(self, pool_total_size: int, incompressible: bool = True) -> dict[str, int]:
        """The files of the debugfs directory; ``stored_incompressible_pages`` exists only on kernels that store
        incompressible pages as-is."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        if not incompressible:
            del d["stored_incompressible_pages"]
        d["pool_total_size"] = pool_total_size
        return dict(sorted(d.items()))


class ZswapPool:
    """Global zswap state: the xarray of entries, the pool size and the ``zswap_pool_reached_full`` latch."""

    def __init__(self) -> None:
        self.tree: dict[int, ZswapEntry] = {}  # swp -> entry (the per-swapfile xarrays)
        self.total_bytes = 0  # sum of stored lengths
        self.pool_reached_full = False
        self.stats = ZswapDebugfs()


# ------------------------------------------------------------------------------------------ sizes
def zswap_total_pages(k: Kernel) -> int:
    """``zswap_total_pages()`` (v6.10+): zsmalloc backing pages, modelled as ceil(bytes/PAGE_SIZE) × frag."""
    return math.ceil(k.zswap.total_bytes * k.config.frag_factor / PAGE_SIZE)


def zswap_max_pages(k: Kernel) -> int:
    """``zswap_max_pages()`` (v6.10 … v7.0) = totalram_pages * max_pool_percent / 100."""
    return k.config.totalram_pages * k.config.max_pool_percent // 100


def zswap_accept_thr_pages(k: Kernel) -> int:
    """``zswap_accept_thr_pages()`` (v6.10 … v7.0) = zswap_max_pages() * accept_thr_percent / 100."""
    return zswap_max_pages(k) * k.config.accept_threshold_percent // 100


def zswap_check_limits(k: Kernel) -> bool:
    """``zswap_check_limits()`` (v6.10+; spec §1.3): latch full at ``>=`` max, unlatch at ``<=`` threshold.

    Returns True when the store must be rejected.
    """
    cur, mx = zswap_total_pages(k), zswap_max_pages(k)
    pool = k.zswap
    if cur >= mx:
        pool.stats.pool_limit_hit += 1
        pool.pool_reached_full = True
    elif pool.pool_reached_full and cur <= zswap_accept_thr_pages(k):
        pool.pool_reached_full = False
    return pool.pool_reached_full


# ------------------------------------------------------------------------------------------ memcg limit
def obj_cgroup_may_zswap(k: Kernel, objcg: ObjCgroup) -> bool:
    """``obj_cgroup_may_zswap(objcg)`` (mm/memcontrol.c, v6.8+; spec §1.4).

    Walks from the objcg's memcg up to (not including) the root; an ancestor with ``memory.zswap.max`` = 0
    refuses; one whose subtree's compressed bytes (``MEMCG_ZSWAP_B``) in pages reach its max refuses.
    """
    m: MemCgroup | None = objcg.memcg
    while m is not None and not m.is_root:
        mx = m.zswap_max
        if mx != PAGE_COUNTER_MAX:
            if mx == 0:
                return False
            if k.hier(m).zswap_b // PAGE_SIZE >= mx:
                return False
        m = m.parent
    return True


def obj_cgroup_memcg(objcg: ObjCgroup | None) -> MemCgroup | None:
    return None if objcg is None else objcg.memcg


# ------------------------------------------------------------------------------------------ store
def zswap_store(k: Kernel, page: Page) -> bool:
    """``zswap_store(folio)`` for a base page (v6.12 … v7.0; spec §1.4).

    The caller (``swap_writepage``) has allocated ``page.swp`` and filtered zero-filled pages. On success the
    entry is charged to the page's objcg, marked referenced and added at the LRU tail; ``ZSWPOUT`` is counted.
    On rejection while the pool is full, ``shrink_worker`` is queued.
    """
    from .writeback import zswap_store_shrink_memcg

    cfg = k.config
    if not cfg.zswap_enabled or not cfg.config_zswap:
        return False
    objcg = k.get_obj_cgroup_from_page(page)
    pool = k.zswap
    if objcg is not None and not obj_cgroup_may_zswap(k, objcg):
        memcg = objcg.memcg
        if not zswap_store_shrink_memcg(k, memcg):
            return _reject(k)
    if zswap_check_limits(k):
        return _reject(k)
    length = page.clen
    if length >= PAGE_SIZE:
        memcg = obj_cgroup_memcg(objcg)
        if cfg.incompressible_store_as_is and mem_cgroup_zswap_writeback_enabled(memcg, cfg.zswap_enabled):
            length = PAGE_SIZE  # stored as-is (2025/26 kernels)
        else:
            # <= ~6.17: the compressor cannot fit the output in PAGE_SIZE and fails (reject_compress_fail, as
            # the 6.12 VM run counts it); dlen > PAGE_SIZE from a compressor that does not fail would be
            # zs_malloc -ENOSPC (reject_compress_poor)
            pool.stats.reject_compress_fail += 1
            return _reject(k)
    assert page.swp is not None
    old = pool.tree.pop(page.swp, None)
    if old is not None:
        zswap_entry_free(k, old)
    entry = ZswapEntry(page.swp, length, objcg, page.nid, k.clock_ns, page)
    pool.tree[page.swp] = entry
    pool.total_bytes += length
    pool.stats.stored_pages += 1
    incomp = length == PAGE_SIZE
    if incomp:
        pool.stats.stored_incompressible_pages += 1
    if objcg is not None:
        k.mod_memcg_zswap(objcg.memcg, length, 1, 1 if incomp else 0)
        objcg.memcg.stat.zswpout += 1
    page.entry = entry
    # list_lru_add(&zswap_list_lru, &entry->lru, nid, memcg) -- last step: visible to writeback from now
    k.zswap_lru.list_of(k.lru_memcg_id(objcg), entry.nid).add_tail(entry)
    k.vm_events["zswpout"] += 1
    return True


def _reject(k: Kernel) -> bool:
    if k.zswap.pool_reached_full:
        k.queue_shrink_work()
    return False


# ------------------------------------------------------------------------------------------ free / load
def zswap_entry_free(k: Kernel, entry: ZswapEntry) -> None:
    """``zswap_entry_free`` (v6.10+): remove from the LRU, free the handle, uncharge the objcg."""
    if entry.lru is not None:
        entry.lru.del_item(entry)
    pool = k.zswap
    pool.total_bytes -= entry.length
    pool.stats.stored_pages -= 1
    incomp = entry.length == PAGE_SIZE
    if incomp:
        pool.stats.stored_incompressible_pages -= 1
    if entry.objcg is not None:
        k.mod_memcg_zswap(entry.objcg.memcg, -entry.length, -1, -1 if incomp else 0)
    entry.page.entry = None


def zswap_load(k: Kernel, page: Page) -> bool:
    """``zswap_load(folio)`` (v6.12+; spec §1.5): exclusive load — the entry is erased and freed.

    Returns False when zswap has no entry for the slot (-ENOENT: the caller reads from disk).
    """
    assert page.swp is not None
    entry = k.zswap.tree.pop(page.swp, None)
    if entry is None:
        return False
    if entry.objcg is not None:
        entry.objcg.memcg.stat.zswpin += 1
    k.vm_events["zswpin"] += 1
    zswap_entry_free(k, entry)
    return True


def zswap_invalidate(k: Kernel, swp: int) -> None:
    """``zswap_invalidate(swp)`` (v6.10 … v7.0): the swap slot was freed; drop any entry."""
    entry = k.zswap.tree.pop(swp, None)
    if entry is not None:
        zswap_entry_free(k, entry)
