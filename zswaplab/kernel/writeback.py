"""zswap writeback: the LRU callback, ``zswap_writeback_entry``, ``shrink_memcg`` in each form, ``shrink_worker``
with its global cursor, and the offline cleanup of that cursor.

Models mm/zswap.c (kernel-semantics §1.7–§1.11 for mainline v6.12 … mid-2026; §2.4–§2.5 for the series' reworked
``shrink_memcg`` and worker). Which form runs is chosen by ``KernelConfig.shrink_memcg_form``:
``"mainline"`` (one entry per node), ``"v4"`` (v4 1/5, scan factor) or ``"batched"`` (v5 2/6 = Jul-14 2/2).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .constants import MAX_RECLAIM_RETRIES, PAGE_SHIFT, PAGE_SIZE
from .list_lru import LruList, LruStatus, WalkBudget, list_lru_walk_one
from .memcg import MemCgroup, mem_cgroup_zswap_writeback_enabled
from .page import PageState
from .zswap import ZswapEntry, zswap_accept_thr_pages, zswap_entry_free

if TYPE_CHECKING:
    from .system import Kernel

NR_ZSWAP_WB_BATCH = 64  # v4 1/5, v5 2/6, Jul-14 2/2


@dataclass
class ShrinkWalkArg:
    """The callback argument: mainline's ``bool *encountered_page_in_swapcache`` grown into the series'
    ``struct zswap_shrink_walk_arg`` (v1 adds ``cutoff_time``/``proactive``; v4+ adds ``bytes_written``).

    ``proactive_stat`` says where a proactive writeback is counted inside ``zswap_writeback_entry``:
    ``"pages"`` (v1–v3 ``ZSWPWB_PROACTIVE`` event on the objcg), ``"bytes_owner"`` (v4 ``MEMCG_ZSWPWB_PROACTIVE_B`` on
    the owning memcg) or ``None`` (mainline; v5 counts in its driver instead).
    """

    encountered_page_in_swapcache: bool = False
    bytes_written: int = 0
    proactive: bool = False
    cutoff_ns: int | None = None
    bypass_second_chance: bool = False
    proactive_stat: str | None = None


def proactive_walk_arg(k: Kernel, cutoff_ns: int | None = None) -> ShrinkWalkArg:
    """The profile's ``zswap_shrink_walk_arg`` for a proactive walk (v1 2/3, v3 3/4, v4 3/5)."""
    return ShrinkWalkArg(proactive=True, cutoff_ns=cutoff_ns, bypass_second_chance=k.params.bypass_second_chance,
                         proactive_stat=k.params.walk_stat)


# ------------------------------------------------------------------------------------------ entry writeback
def zswap_writeback_entry(k: Kernel, entry: ZswapEntry, swp: int, arg: ShrinkWalkArg | None) -> int:
    """``zswap_writeback_entry(entry, swpentry)`` (v6.12+; kernel-semantics §1.8).

    Outcomes: 0 (written to the swap device), ``-EEXIST`` (the slot already has a swap-cache folio — a racing
    swapin), ``-ENOMEM`` (folio allocation failed, or the entry vanished under us). Failures are injected with
    :meth:`Kernel.inject_writeback`; otherwise writeback succeeds instantly.
    """
    fault = k.take_writeback_fault(swp)
    if fault == "eexist":
        return -errno.EEXIST
    if fault == "enomem":
        return -errno.ENOMEM
    if fault == "vanished":  # concurrently invalidated: the page was freed, the entry with it
        k.free_page(entry.page)
        return -errno.ENOMEM
    page = entry.page
    k.zswap.tree.pop(swp, None)
    owner = entry.objcg.memcg if entry.objcg is not None else None
    proactive_stat = arg.proactive_stat if arg is not None and arg.proactive else None
    if owner is not None:
        owner.stat.zswpwb += 1
        if proactive_stat == "pages":
            owner.stat.zswpwb_proactive += 1  # count_objcg_events(objcg, ZSWPWB_PROACTIVE, 1)
        elif proactive_stat == "bytes_owner":
            owner.stat.zswpwb_proactive_b += entry.length
    if proactive_stat == "pages":
        k.vm_events["zswpwb_proactive"] += 1  # v1–v3: count_vm_event(ZSWPWB_PROACTIVE), objcg or not
    k.vm_events["zswpwb"] += 1
    k.zswap.stats.written_back_pages += 1
    zswap_entry_free(k, entry)
    # __swap_writepage: the page now lives on the swap device
    page.state = PageState.DISK
    page.wb_time_ns = k.clock_ns
    page.memcg.stat.pswpout += 1
    k.vm_events["pswpout"] += 1
    k.writeback_log.append(
        (k.clock_ns, owner.path if owner is not None else "/", page.id, entry.length, bool(arg and arg.proactive))
    )
    return 0


def shrink_memcg_cb(k: Kernel, entry: ZswapEntry, lst: LruList, arg: ShrinkWalkArg | None) -> LruStatus:
    """``shrink_memcg_cb`` (v6.12+ second chance; kernel-semantics §1.7; v1 proactive age/second-chance rules §2.1).

    A referenced entry loses the bit and rotates; otherwise it is rotated to the tail *before* writeback
    (so a failure leaves it rotated) and written back. ``-EEXIST`` stops the walk only when the caller passed
    an argument (the dynamic shrinker in mainline; every path in v4+).
    """
    proactive = arg is not None and arg.proactive
    if proactive and arg is not None and arg.cutoff_ns is not None and entry.store_time_ns > arg.cutoff_ns:
        return LruStatus.LRU_ROTATE  # v1: too young
    if entry.referenced:
        entry.referenced = False
        if not (proactive and arg is not None and arg.bypass_second_chance):
            return LruStatus.LRU_ROTATE
    lst.move_tail(entry)
    swp = entry.swp
    length = entry.length
    rc = zswap_writeback_entry(k, entry, swp, arg)
    if rc != 0:
        k.zswap.stats.reject_reclaim_fail += 1
        if rc == -errno.EEXIST and arg is not None:
            arg.encountered_page_in_swapcache = True
            return LruStatus.LRU_STOP
        return LruStatus.LRU_RETRY
    if arg is not None:
        arg.bytes_written += length
    return LruStatus.LRU_REMOVED_RETRY


def _walk(k: Kernel, memcg: MemCgroup | None, nid: int, arg: ShrinkWalkArg | None, budget: WalkBudget) -> int:
    lst = k.zswap_lru.list_of(k.lru_id(memcg), nid)
    return list_lru_walk_one(lst, lambda e, lst: shrink_memcg_cb(k, e, lst, arg), budget)


def _not_candidate(k: Kernel, memcg: MemCgroup | None) -> bool:
    if not mem_cgroup_zswap_writeback_enabled(memcg, k.config.zswap_enabled):
        return True
    return memcg is not None and not memcg.online()


# ------------------------------------------------------------------------------------------ shrink_memcg forms
def shrink_memcg(k: Kernel, memcg: MemCgroup | None) -> int:
    """``shrink_memcg(memcg)`` — mainline v6.12 … mid-2026 (kernel-semantics §1.9).

    Walks one entry on each node's list of ``memcg`` (its own lists only). Returns 0 if something was written
    back, ``-EAGAIN`` if entries were scanned but none written, ``-ENOENT`` if writeback is disabled, the memcg
    is offline or every list was empty.
    """
    k.counters["shrink_memcg_calls"] += 1
    if _not_candidate(k, memcg):
        return -errno.ENOENT
    shrunk = scanned = 0
    for nid in range(k.config.nr_nodes):
        b = WalkBudget(1)
        shrunk += _walk(k, memcg, nid, None, b)
        scanned += 1 - b.nr_to_walk
    if scanned == 0:
        return -errno.ENOENT
    return 0 if shrunk else -errno.EAGAIN


def shrink_memcg_v4(
    k: Kernel, memcg: MemCgroup | None, nr_to_writeback: int, arg: ShrinkWalkArg | None = None
) -> int:
    """``shrink_memcg(memcg, nr_to_writeback)`` — series v4 1/5 (kernel-semantics §2.4).

    Budget = ``nr_to_writeback * PAGE_SIZE`` compressed bytes; per node scans at most
    ``min(list length, remaining pages * scan factor)`` entries in sub-walks of the batch size. Returns bytes
    written (>= 0) or ``-ENOENT``.
    """
    k.counters["shrink_memcg_calls"] += 1
    arg = arg if arg is not None else ShrinkWalkArg()
    arg.bytes_written = 0
    target = nr_to_writeback << PAGE_SHIFT
    if _not_candidate(k, memcg):
        return -errno.ENOENT
    batch = k.params.wb_batch
    factor = k.params.scan_ratio
    all_empty = True
    for nid in range(k.config.nr_nodes):
        arg.encountered_page_in_swapcache = False
        n = k.zswap_lru.list_lru_count_one(k.lru_id(memcg), nid)
        if n == 0:
            continue
        all_empty = False
        remain = -(-(target - arg.bytes_written) // PAGE_SIZE)
        n = min(n, remain * factor)
        scanned = 0
        while scanned < n:
            walk = min(batch, n - scanned)
            scanned += walk
            _walk(k, memcg, nid, arg, WalkBudget(walk))
            if arg.bytes_written >= target:
                return arg.bytes_written
            if arg.encountered_page_in_swapcache:
                break
    if all_empty:
        return -errno.ENOENT
    return arg.bytes_written


def shrink_memcg_batched(
    k: Kernel, memcg: MemCgroup | None, nr_to_scan: int, arg: ShrinkWalkArg | None = None
) -> int:
    """``shrink_memcg(memcg, nr_to_scan)`` — series v5 2/6 and the Jul-14 2/2 final form (kernel-semantics §2.5).

    Scans at most ``nr_to_scan`` entries in total, each per-node list at most once per call (budget capped by
    the list length), unused budget handed to the next node. Returns compressed bytes written (>= 0) or
    ``-ENOENT`` when not a candidate or nothing was scanned.
    """
    k.counters["shrink_memcg_calls"] += 1
    arg = arg if arg is not None else ShrinkWalkArg()
    arg.bytes_written = 0
    remaining = nr_to_scan
    if _not_candidate(k, memcg):
        return -errno.ENOENT
    for nid in range(k.config.nr_nodes):
        walk = min(remaining, k.zswap_lru.list_lru_count_one(k.lru_id(memcg), nid))
        if walk == 0:
            continue
        remaining -= walk
        b = WalkBudget(walk)
        _walk(k, memcg, nid, arg, b)
        remaining += b.nr_to_walk
        if remaining == 0:
            break
    if remaining == nr_to_scan:
        return -errno.ENOENT
    return arg.bytes_written


def zswap_store_shrink_memcg(k: Kernel, memcg: MemCgroup) -> bool:
    """The memcg-limit branch of ``zswap_store`` (kernel-semantics §1.4): True if the store may proceed.

    mainline: ``shrink_memcg(memcg) == 0``; v4: ``shrink_memcg(memcg, 1) > 0``; batched: ``shrink_memcg(memcg,
    n) > 0`` with n = 1 (Jul-14) or the number of nodes (v5). The store then proceeds without re-checking the
    memcg limit (kernel-semantics §5 Q9).
    """
    form = k.config.shrink_memcg_form
    if form == "mainline":
        return shrink_memcg(k, memcg) == 0
    if form == "v4":
        return shrink_memcg_v4(k, memcg, 1) > 0
    nr = k.config.store_shrink_nr or 1
    return shrink_memcg_batched(k, memcg, nr) > 0


# ------------------------------------------------------------------------------------------ cursors
WB_ITER = "zswap_wb_iter"  # MemCgroup.ext key of the v1–v3 per-memcg cursor position (``memcg->zswap_wb_iter.pos``)


def zswap_mem_cgroup_iter(k: Kernel, root: MemCgroup) -> MemCgroup | None:
    """``zswap_mem_cgroup_iter(root)`` (series v1 1/3, v2/v3 1/4): under ``root->zswap_wb_iter.lock``, advance
    ``root->zswap_wb_iter.pos`` with ``mem_cgroup_iter`` to the next online memcg (extra reference taken) or
    ``None`` at the end of a full pass. ``shrink_worker`` of v1–v3 calls it on ``root_mem_cgroup``.
    """
    if k.tree.memcg_disabled:  # v3: if (mem_cgroup_disabled()) return NULL;
        return None
    while True:
        pos = k.tree.mem_cgroup_iter(root, root.ext.get(WB_ITER))  # type: ignore[arg-type]
        root.ext[WB_ITER] = pos
        if pos is None or k.tree.mem_cgroup_tryget_online(pos):
            return pos


def zswap_iter_global(k: Kernel) -> MemCgroup | None:
    """The locked cursor advance of ``shrink_worker``.

    v6.11 … 7.2 (and the series' v4/v5 ``zswap_iter_global``): under ``zswap_shrink_lock``, advance
    ``zswap_next_shrink`` with ``mem_cgroup_iter`` until an online memcg (extra ref taken with
    ``mem_cgroup_tryget_online``) or ``None`` (end of a full pass); the cursor keeps the iterator reference.
    v1–v3 (``worker_root_wb_iter``): ``zswap_mem_cgroup_iter(root_mem_cgroup)`` — the same cursor as a
    proactive request on the root cgroup.
    """
    if k.config.worker_root_wb_iter:
        return zswap_mem_cgroup_iter(k, k.tree.root)
    while True:
        memcg = k.tree.mem_cgroup_iter(None, k.zswap_next_shrink)
        k.zswap_next_shrink = memcg
        if memcg is None or k.tree.mem_cgroup_tryget_online(memcg):
            return memcg


def zswap_memcg_offline_cleanup(k: Kernel, memcg: MemCgroup) -> None:
    """``zswap_memcg_offline_cleanup(memcg)`` (v6.11 … 7.2): move the global cursor off a dying memcg."""
    if k.zswap_next_shrink is memcg:
        while True:
            k.zswap_next_shrink = k.tree.mem_cgroup_iter(None, k.zswap_next_shrink)
            if k.zswap_next_shrink is None or k.zswap_next_shrink.online():
                break


def zswap_memcg_offline_cleanup_wb_iter(k: Kernel, dead: MemCgroup) -> None:
    """``zswap_memcg_offline_cleanup(memcg)`` of series v1–v3 (1/3, 1/4): ``__zswap_memcg_offline_cleanup`` on
    the dying memcg and on every ancestor up to and including the root — each cursor still at ``dead`` advances
    to the next online memcg of its subtree."""
    p: MemCgroup | None = dead
    while p is not None:
        if p.ext.get(WB_ITER) is dead:
            while True:
                pos = k.tree.mem_cgroup_iter(p, p.ext.get(WB_ITER))  # type: ignore[arg-type]
                p.ext[WB_ITER] = pos
                if pos is None or pos.online():
                    break
        p = p.parent


# ------------------------------------------------------------------------------------------ shrink_worker
def shrink_worker(k: Kernel) -> None:
    """``shrink_worker(work)``: global pool-limit writeback down to the acceptance threshold, in the form the
    configuration selects (``KernelConfig.shrink_worker_form``)."""
    k.counters["shrink_worker_runs"] += 1
    form = k.config.shrink_worker_form
    if form == "mainline":
        _shrink_worker_mainline(k)
    elif form == "v4":
        zswap_try_to_writeback_global(k, zswap_accept_thr_pages(k), k.zswap_total_pages())
    else:
        _shrink_worker_v5(k)


def worker_shrink_memcg(k: Kernel, memcg: MemCgroup | None) -> tuple[int, bool]:
    """One ``shrink_memcg`` call of the mainline worker loop in the configured ``shrink_memcg`` form:
    (return value, counts as a failure). v6.11 … 7.2: ``shrink_memcg(memcg)``, failure ``ret != 0``; Jul-14 2/2:
    ``shrink_memcg(memcg, NR_ZSWAP_WB_BATCH)``, failure ``ret <= 0``."""
    form = k.config.shrink_memcg_form
    if form == "mainline":
        ret = k.steps.shrink_memcg(memcg)
        return ret, ret != 0
    if form == "v4":
        ret = k.steps.shrink_memcg_v4(memcg, k.params.wb_batch, False)
    else:
        ret = k.steps.shrink_memcg_batched(memcg, k.params.wb_batch, False)
    return ret, ret <= 0


def _shrink_worker_mainline(k: Kernel) -> None:
    """``shrink_worker`` v6.11 … 7.2 and the Jul-14 2026 series (1/2 + 2/2): ``do { … } while (zswap_total_pages()
    > thr)``. -ENOENT skips a memcg without counting it (``continue`` re-checks the threshold); a NULL memcg ends
    a pass. With ``memcg_disabled_fix`` (Jul-14 1/2 = v5 1/6, in 7.2) a NULL memcg while memcg is disabled falls
    through to ``shrink_memcg(NULL)``, the root list."""
    thr = zswap_accept_thr_pages(k)
    s = ZswapShrinkState()
    fall_through = k.tree.memcg_disabled and bool(k.config.memcg_disabled_fix)
    while True:
        memcg = zswap_iter_global(k)
        if memcg is None and not fall_through:
            if s.end_of_pass():
                break
        else:
            ret, failed = worker_shrink_memcg(k, memcg)
            k.tree.mem_cgroup_put(memcg)
            if ret != -errno.ENOENT and s.attempted(failed):
                break
        if not k.zswap_total_pages() > thr:
            break


@dataclass
class ZswapShrinkState:
    """``struct zswap_shrink_state { int scans; int failures; }`` (v5 3/6) — the ``attempts``/``failures`` pair that
    every writeback loop since v6.11 keeps (mainline ``shrink_worker``, the series' drivers).

    ``failures`` is cumulative for the whole walk and never reset on success; at MAX_RECLAIM_RETRIES the caller
    gives up. Both methods return True when the caller must give up.
    """

    scans: int = 0
    failures: int = 0

    def end_of_pass(self) -> bool:
        """A full pre-order pass ended (``mem_cgroup_iter`` returned NULL): a pass that attempted no memcg counts
        as a failure."""
        if self.scans == 0:
            self.failures += 1
            if self.failures == MAX_RECLAIM_RETRIES:
                return True
        self.scans = 0
        return False

    def attempted(self, failed: bool) -> bool:
        """A candidate memcg was tried; one that wrote nothing counts as a failure."""
        self.scans += 1
        if failed:
            self.failures += 1
            return self.failures == MAX_RECLAIM_RETRIES
        return False


EBUSY_STOP = -errno.EBUSY


def zswap_shrink_one_memcg(
    k: Kernel, memcg: MemCgroup | None, s: ZswapShrinkState, nr_to_scan: int = NR_ZSWAP_WB_BATCH,
    proactive: bool = False,
) -> int:
    """``zswap_shrink_one_memcg(memcg, state)`` (v5 3/6): one step of a caller-driven walk.

    ``memcg is None`` (with memcg enabled) marks the end of a full pass. Returns bytes written (>= 0) or
    ``-EBUSY`` when the caller must stop (16 cumulative failures, or memcg disabled and the root list empty).
    """
    disabled = k.tree.memcg_disabled
    if memcg is None and not disabled:
        return EBUSY_STOP if s.end_of_pass() else 0
    shrunk = k.steps.shrink_memcg_batched(memcg, nr_to_scan, proactive)
    if shrunk == -errno.ENOENT:
        return EBUSY_STOP if disabled else 0
    if s.attempted(shrunk <= 0):
        return EBUSY_STOP
    return shrunk


def _shrink_worker_v5(k: Kernel) -> None:
    """``shrink_worker`` of series v5 3/6 (not the Jul-14 patch, which keeps the mainline loop): ``while
    (zswap_total_pages() > thr)`` over ``zswap_shrink_one_memcg`` with batch 64; the memcg-disabled fallback
    (v5 1/6) is part of ``zswap_shrink_one_memcg``."""
    s = ZswapShrinkState()
    thr = zswap_accept_thr_pages(k)
    while k.zswap_total_pages() > thr:
        memcg = zswap_iter_global(k)
        ret = zswap_shrink_one_memcg(k, memcg, s, k.params.wb_batch)
        k.tree.mem_cgroup_put(memcg)
        if ret == EBUSY_STOP:
            break


def zswap_try_to_writeback_global(k: Kernel, lower: int, upper: int) -> None:
    """``zswap_try_to_writeback(lower_pages, upper_pages)`` non-proactive path (v4 2/5; kernel-semantics §2.4)."""
    s = ZswapShrinkState()
    while lower < upper:
        memcg = zswap_iter_global(k)
        if memcg is None:
            if s.end_of_pass():
                break
            continue
        shrunk = k.steps.shrink_memcg_v4(memcg, min(upper - lower, k.params.wb_batch), False)
        k.tree.mem_cgroup_put(memcg)
        upper = k.zswap_total_pages()
        if shrunk != -errno.ENOENT and s.attempted(shrunk <= 0):
            break


__all__ = [
    "NR_ZSWAP_WB_BATCH",
    "WB_ITER",
    "ShrinkWalkArg",
    "ZswapShrinkState",
    "proactive_walk_arg",
    "shrink_memcg",
    "shrink_memcg_batched",
    "shrink_memcg_cb",
    "shrink_memcg_v4",
    "shrink_worker",
    "zswap_iter_global",
    "zswap_mem_cgroup_iter",
    "zswap_memcg_offline_cleanup",
    "zswap_memcg_offline_cleanup_wb_iter",
    "zswap_shrink_one_memcg",
    "zswap_store_shrink_memcg",
    "zswap_writeback_entry",
]
