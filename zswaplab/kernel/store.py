"""``zswap_store``: the store path of mm/zswap.c (v6.12 … 7.2), above the pool (zswap.py) and the writeback
steps (writeback.py) that its memcg-limit branch calls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .constants import PAGE_SIZE
from .memcg import mem_cgroup_zswap_writeback_enabled
from .writeback import zswap_store_shrink_memcg
from .zswap import ZswapEntry, obj_cgroup_may_zswap, obj_cgroup_memcg, zswap_check_limits, zswap_entry_free

if TYPE_CHECKING:
    from .page import Page
    from .system import Kernel


def zswap_store(k: Kernel, page: Page) -> bool:
    """``zswap_store(folio)`` for a base page (v6.12 … v7.0; kernel-semantics §1.4).

    The caller (``swap_writepage``) has allocated ``page.swp`` and filtered zero-filled pages. On success the
    entry is charged to the page's objcg, marked referenced and added at the LRU tail; ``ZSWPOUT`` is counted.
    On rejection while the pool is full, ``shrink_worker`` is queued.
    """
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


__all__ = ["zswap_store"]
