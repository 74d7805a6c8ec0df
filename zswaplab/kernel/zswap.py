"""The zswap pool: entries, store, load, invalidate, limits and global statistics.

Models mm/zswap.c of Linux v6.12 … v7.0 (kernel-semantics §1.1–§1.5). Functions take the :class:`~zswaplab.kernel.system.Kernel`
as their first argument; it stands for the kernel's global state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from .constants import PAGE_COUNTER_MAX, PAGE_SIZE
from .memcg import MemCgroup

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
    """The counters of ``/sys/kernel/debug/zswap/`` (mm/zswap.c, v6.12+; kernel-semantics §1.14)."""

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
    """``zswap_check_limits()`` (v6.10+; kernel-semantics §1.3): latch full at ``>=`` max, unlatch at ``<=`` threshold.

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
    """``obj_cgroup_may_zswap(objcg)`` (mm/memcontrol.c, v6.8+; kernel-semantics §1.4).

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
    """``zswap_load(folio)`` (v6.12+; kernel-semantics §1.5): exclusive load — the entry is erased and freed.

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
