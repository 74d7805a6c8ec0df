"""The RAM side: a simplified vmscan that feeds zswap, and the ``memory.reclaim`` loop.

This is a documented simplification of mm/vmscan.c (see docs/kernel-model.md): each (memcg, node) has one anon
LRU of resident pages with a referenced bit (second chance / clock). Reclaim walks the target's subtree in
``mem_cgroup_iter`` order at decreasing priority (``DEF_PRIORITY`` … 0, scanning ``lru_size >> priority`` pages of
each list per round) and stops exactly when the requested number of pages has been reclaimed. A reclaimed page
goes through ``swap_writepage``: zero-filled → zeromap; ``zswap_store``; on rejection, to the swap device if
``memory.zswap.writeback`` allows it, else the page stays resident (``AOP_WRITEPAGE_ACTIVATE``).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .constants import DEF_PRIORITY, MAX_RECLAIM_RETRIES, SWAP_CLUSTER_MAX
from .memcg import MemCgroup, mem_cgroup_zswap_writeback_enabled
from .page import Page, PageState
from .shrinker import shrink_slab_zswap
from .store import zswap_store

if TYPE_CHECKING:
    from .system import Kernel


def swap_writepage(k: Kernel, page: Page) -> bool:
    """``shrink_folio_list`` → ``add_to_swap`` → ``swap_writepage`` for one anon page (v6.12+; kernel-semantics §1.4 caller).

    Returns True if the page left RAM.
    """
    if not k.swap_alloc(page):
        return False
    if page.clen == 0:  # is_folio_zero_filled: swap_zeromap_folio_set, no zswpout, no IO
        page.state = PageState.ZERO
        return True
    if zswap_store(k, page):
        page.state = PageState.ZSWAP
        return True
    if not mem_cgroup_zswap_writeback_enabled(page.memcg, k.config.zswap_enabled):
        k.swap_free(page)  # folio_mark_dirty + AOP_WRITEPAGE_ACTIVATE: the page stays in memory
        return False
    page.state = PageState.DISK  # __swap_writepage
    page.memcg.stat.pswpout += 1
    k.vm_events["pswpout"] += 1
    return True


def shrink_anon_list(k: Kernel, memcg: MemCgroup, nid: int, nr_scan: int, want: int) -> int:
    """``shrink_folio_list`` (mm/vmscan.c, v6.12 … v7.2), simplified: scan up to ``nr_scan`` pages from the head
    of one anon LRU, reclaim at most ``want``; a page zswap and swap both refuse is kept (activated)."""
    lst = k.anon_lru.list_of(memcg.id, nid)
    reclaimed = 0
    while nr_scan > 0 and reclaimed < want:
        page = lst.first()
        if page is None:
            break
        nr_scan -= 1
        if page.referenced:  # second chance: folio_check_references → activate/rotate
            page.referenced = False
            lst.move_tail(page)
            continue
        lst.del_item(page)
        k._mod_anon(page.memcg, -1)
        if swap_writepage(k, page):
            reclaimed += 1
        else:
            lst.add_tail(page)  # kept (activated)
            k._mod_anon(page.memcg, 1)
    return reclaimed


def try_to_free_mem_cgroup_pages(k: Kernel, target: MemCgroup, nr_pages: int,
                                 swappiness: int | None = None) -> int:
    """``try_to_free_mem_cgroup_pages(memcg, nr_pages, ..., MEMCG_RECLAIM_MAY_SWAP | PROACTIVE)`` (mm/vmscan.c,
    v6.12 … v7.0), simplified.

    Reclaims up to ``nr_pages`` anon pages from ``target``'s subtree and drives the zswap shrinker through
    ``shrink_slab`` when it is enabled. ``swappiness == 0`` scans no anon pages. Returns pages reclaimed.
    """
    reclaimed = 0
    scan_anon = swappiness != 0
    for priority in range(DEF_PRIORITY, -1, -1):
        memcg: MemCgroup | None = None
        while True:
            if k.tree.memcg_disabled:  # no memcg iteration: the root's (node) lists only, once per priority
                memcg = None if memcg is not None else k.tree.root
            else:
                memcg = k.tree.mem_cgroup_iter(target, memcg)
            if memcg is None:
                break
            for nid in range(k.config.nr_nodes):
                if scan_anon:
                    nr_scan = k.steps.anon_lru_size(memcg, nid) >> priority
                    if nr_scan:
                        reclaimed += k.steps.shrink_anon_list(memcg, nid, nr_scan, nr_pages - reclaimed)
                if k.config.shrinker_enabled:
                    shrink_slab_zswap(k, memcg, nid, priority)
            if reclaimed >= nr_pages:
                k.tree.mem_cgroup_iter_break(target, memcg)
                return reclaimed
        if reclaimed >= nr_pages:
            break
    return reclaimed


def memory_reclaim(k: Kernel, memcg: MemCgroup, nr_to_reclaim: int, swappiness: int | None) -> None:
    """The ``memory.reclaim`` loop (``memory_reclaim`` / ``user_proactive_reclaim``; kernel-semantics §1.14).

    6.12 reclaims in batches of ``min(remaining, SWAP_CLUSTER_MAX)``; newer kernels use ``remaining / 4``.
    A zero-progress round consumes one of MAX_RECLAIM_RETRIES retries; the zero-progress round after they are
    exhausted fails with EAGAIN. A pending signal fails with EINTR.
    """
    quarter = bool(k.config.extra.get("reclaim_batch_quarter", True))
    nr_retries = MAX_RECLAIM_RETRIES
    nr_reclaimed = 0
    try:
        while nr_reclaimed < nr_to_reclaim:
            remaining = nr_to_reclaim - nr_reclaimed
            batch = max(remaining // 4, 1) if quarter else min(remaining, SWAP_CLUSTER_MAX)
            batch = min(max(batch, min(SWAP_CLUSTER_MAX, remaining)), remaining)
            if k.signal_pending:
                raise OSError(errno.EINTR, "memory.reclaim interrupted")
            got = k.try_to_free_mem_cgroup_pages(memcg, batch, swappiness)
            k.run_pending_work()  # the kworker runs shrink_worker while the reclaimer yields between batches
            if got == 0:
                if nr_retries == 0:
                    raise OSError(errno.EAGAIN, "memory.reclaim made no progress")
                nr_retries -= 1
            nr_reclaimed += got
    finally:
        k.run_pending_work()
