"""Proactive zswap writeback: each version of the 2026 series, with pluggable cursor strategies.

Models the series "mm/zswap: Implement per-cgroup proactive writeback" (kernel-semantics §2.1–§2.5, §3.2–§3.6):
``zswap_proactive_writeback`` of v1/v2/v3 (per-memcg ``zswap_wb_iter`` cursor, page budget, batch 128),
``zswap_try_to_writeback(..., proactive=true)`` of v4 (compressed-bytes budget passed as pages, fresh local walk)
and ``zswap_proactive_writeback`` of v5 (exact bytes, ``zswap_shrink_one_memcg`` with shared scans/failures).

The cursor strategy is pluggable across versions (``KernelConfig.strategy``):

* ``restart`` — a local ``mem_cgroup_iter`` walk from the target at every call (v4/v5 ``zswap_iter_local``);
* ``per-memcg`` — the v1–v3 ``zswap_wb_iter`` persistent cursor on the target memcg, with the ancestor-walk
  offline cleanup;
* ``per-memcg-global-lock`` — the same cursors guarded by the one global lock (what the review agreed before v4
  dropped them). Calls here are sequential, so its results equal ``per-memcg``; the concurrency package
  measures the difference;
* ``batch-each-then-check`` — one batch from each memcg of the subtree, then check the goal, start over
  (the reviewer's alternative, §3.3): the goal is checked only at the end of each full pass.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .constants import NSEC_PER_SEC, PAGE_SIZE
from .list_lru import WalkBudget
from .memcg import MemCgroup, mem_cgroup_zswap_writeback_enabled
from .strategies import CURSOR_STRATEGIES
from .writeback import (
    EBUSY_STOP,
    WB_ITER,
    ZswapShrinkState,
    _walk,
    proactive_walk_arg,
    zswap_mem_cgroup_iter,
    zswap_memcg_offline_cleanup_wb_iter,
    zswap_shrink_one_memcg,
)

if TYPE_CHECKING:
    from .system import Kernel


# ------------------------------------------------------------------------------------------ cursors
class ProactiveCursor:
    """How the proactive driver picks the next memcg of the target's subtree.

    ``next()`` returns an online memcg with an extra reference (the caller puts it) or ``None`` at the end of a
    full pre-order pass; ``finish()`` releases what the walk still holds.
    """

    check_goal_per_memcg = True

    def __init__(self, k: Kernel, root: MemCgroup) -> None:
        self.k = k
        self.root = root

    def next(self) -> MemCgroup | None:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self) -> None:
        pass


class RestartCursor(ProactiveCursor):
    """``zswap_iter_local(root, prev)`` (v4 3/5) / the v5 driver's local iterator: a fresh walk every call."""

    def __init__(self, k: Kernel, root: MemCgroup) -> None:
        super().__init__(k, root)
        self.it: MemCgroup | None = None

    def next(self) -> MemCgroup | None:
        tree = self.k.tree
        while True:
            self.it = tree.mem_cgroup_iter(self.root, self.it)
            if self.it is None or tree.mem_cgroup_tryget_online(self.it):
                return self.it

    def finish(self) -> None:
        self.k.tree.mem_cgroup_iter_break(self.root, self.it)
        self.it = None


class BatchEachCursor(RestartCursor):
    """``batch-each-then-check``: a restart walk whose driver checks the goal only at the end of a pass."""

    check_goal_per_memcg = False


class PerMemcgCursor(ProactiveCursor):
    """``zswap_mem_cgroup_iter(root)`` (v1 1/3, v3 1/4): the persistent ``root->zswap_wb_iter.pos``.

    Each advance takes the cursor's lock once (``proactive_cursor_lock`` counts acquisitions): the per-memcg
    spinlock, or the one global lock of ``per-memcg-global-lock``."""

    def next(self) -> MemCgroup | None:
        self.k.counters["proactive_cursor_lock"] += 1
        return zswap_mem_cgroup_iter(self.k, self.root)


# the cursor classes a strategy names (``CursorStrategy.cursor``, zswaplab.kernel.strategies)
CURSORS: dict[str, type[ProactiveCursor]] = {"restart": RestartCursor, "batch-each": BatchEachCursor,
                                             "per-memcg": PerMemcgCursor}


def make_cursor(k: Kernel, root: MemCgroup) -> ProactiveCursor:
    return CURSORS[CURSOR_STRATEGIES[k.params.strategy or "restart"].cursor](k, root)


def install_profile_hooks(k: Kernel) -> None:
    """Register the v1–v3 offline cleanup (the ancestor walk) when per-memcg cursors exist: the proactive
    strategy uses them, or the profile's ``shrink_worker`` keeps its cursor in the root's ``zswap_wb_iter``."""
    persistent = k.params.strategy is not None and CURSOR_STRATEGIES[k.params.strategy].persistent
    if persistent or k.config.worker_root_wb_iter:
        k.tree.offline_hooks.append(lambda m: zswap_memcg_offline_cleanup_wb_iter(k, m))


def release_cursors(k: Kernel) -> None:
    """Drop every per-memcg cursor reference (tests use it to check references return to baseline)."""
    for m in k.tree.all_memcgs():
        pos = m.ext.pop(WB_ITER, None)
        if pos is not None:
            k.tree.mem_cgroup_iter_break(m, pos)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ v1 / v2 / v3
def zswap_proactive_shrink_memcg(k: Kernel, memcg: MemCgroup, nr_to_write: int, cutoff_ns: int | None) -> int:
    """``zswap_proactive_shrink_memcg(memcg, [cutoff,] nr_to_write)`` (v1 2/3, v2 2/4, v3 2/4; kernel-semantics §2.1).

    Per node: scan at most ``min(list length, nr_to_write * SCAN_RATIO)`` entries in walks of ``WB_BATCH``;
    stop at the goal; an -EEXIST stop moves on to the next node. Returns pages written or ``-ENOENT``.
    """
    if not mem_cgroup_zswap_writeback_enabled(memcg, k.config.zswap_enabled) or not memcg.online():
        return -errno.ENOENT
    batch, ratio = k.params.wb_batch, k.params.scan_ratio
    written = 0
    lid = k.lru_id(memcg)
    for nid in range(k.config.nr_nodes):
        arg = proactive_walk_arg(k, cutoff_ns)
        nr_to_scan = k.zswap_lru.list_lru_count_one(lid, nid)
        if nr_to_scan == 0:
            continue
        nr_to_scan = min(nr_to_scan, (nr_to_write - written) * ratio)
        scanned = 0
        while scanned < nr_to_scan:
            walk = min(batch, nr_to_scan - scanned)
            if k.signal_pending:
                return written
            scanned += walk
            written += _walk(k, memcg, nid, arg, WalkBudget(walk))
            if written >= nr_to_write:
                return written
            if arg.encountered_page_in_swapcache:
                break
    return written


def zswap_proactive_writeback_v123(k: Kernel, root: MemCgroup | None, nr_max: int, cutoff_ns: int | None = None) -> int:
    """``zswap_proactive_writeback(memcg, nr_max[, cutoff])`` of v1/v2/v3 (kernel-semantics §2.1–§2.3).

    Returns 0 or ``-EAGAIN``/``-EINTR``: v1/v2 succeed if anything was written, v3 only if all of it was.
    """
    if root is None:  # node-level reclaim (user_proactive_reclaim with a pgdat): if (!memcg) return -EINVAL;
        return -errno.EINVAL
    if nr_max == 0:  # if (!nr_to_writeback) return 0;
        return 0
    cursor = make_cursor(k, root)
    batch = k.params.wb_batch
    written = 0
    s = ZswapShrinkState()
    ret = 0
    try:
        while written < nr_max or not cursor.check_goal_per_memcg:
            if k.signal_pending:
                return -errno.EINTR
            m = cursor.next()
            if m is None:
                if not cursor.check_goal_per_memcg and written >= nr_max:
                    break
                if s.end_of_pass():
                    ret = -errno.EAGAIN
                    break
                continue
            want = min(nr_max - written, batch) if cursor.check_goal_per_memcg else batch
            shrunk = k.steps.proactive_shrink_memcg(m, want, cutoff_ns)
            k.tree.mem_cgroup_put(m)
            if shrunk == -errno.ENOENT:
                continue
            written += max(shrunk, 0)
            if s.attempted(shrunk <= 0):
                ret = -errno.EAGAIN
                break
    finally:
        cursor.finish()
        k.counters["proactive_pages_written"] += written
    if k.params.success == "any":
        return 0 if written else -errno.EAGAIN
    return ret if written < nr_max else 0


# ------------------------------------------------------------------------------------------ v4
def zswap_proactive_writeback_v4(k: Kernel, memcg: MemCgroup | None, nr_to_writeback: int) -> int:
    """``zswap_proactive_writeback(memcg, nr)`` → ``zswap_try_to_writeback(memcg, 0, nr, true)`` (v4 3/5; §2.4).

    Budget = ``nr`` pages worth of compressed bytes; ``lower = ceil(bytes_written / PAGE_SIZE)``.
    """
    if memcg is None:
        return -errno.EINVAL
    if not mem_cgroup_zswap_writeback_enabled(memcg, k.config.zswap_enabled):
        return -errno.EINVAL
    if nr_to_writeback == 0:
        return 0
    cursor = make_cursor(k, memcg)
    lower, upper = 0, nr_to_writeback
    bytes_written = 0
    s = ZswapShrinkState()
    ret = 0
    try:
        while lower < upper or not cursor.check_goal_per_memcg:  # v4 3/5 checks no signal here
            it = cursor.next()
            if it is None:
                if not cursor.check_goal_per_memcg and lower >= upper:
                    break
                if s.end_of_pass():
                    ret = -errno.EAGAIN
                    break
                continue
            want = min(upper - lower, k.params.wb_batch) if cursor.check_goal_per_memcg else k.params.wb_batch
            shrunk = k.steps.shrink_memcg_v4(it, want, True)
            k.tree.mem_cgroup_put(it)
            if shrunk == -errno.ENOENT:
                continue
            if shrunk > 0:
                bytes_written += shrunk
                lower = -(-bytes_written // PAGE_SIZE)
            if s.attempted(shrunk <= 0):
                ret = -errno.EAGAIN
                break
    finally:
        cursor.finish()
        k.counters["proactive_bytes_written"] += bytes_written
    return ret


# ------------------------------------------------------------------------------------------ v5
def zswap_proactive_writeback_v5(k: Kernel, memcg: MemCgroup | None, bytes_to_writeback: int) -> int:
    """``zswap_proactive_writeback(memcg, bytes)`` (v5 4/6 + 5/6; kernel-semantics §2.5).

    Local iterator from the target, ``zswap_shrink_one_memcg`` with the shared scans/failures state (batch 64
    scanned entries per memcg visit, 16 cumulative failures → -EAGAIN), ``zswpwb_proactive_b`` added to the
    *iterated* memcg. Returns 0 iff at least ``bytes`` were written.
    """
    if memcg is None:
        return -errno.EINVAL
    if not mem_cgroup_zswap_writeback_enabled(memcg, k.config.zswap_enabled):
        return -errno.EINVAL
    if bytes_to_writeback == 0:
        return 0
    cursor = make_cursor(k, memcg)
    s = ZswapShrinkState()
    written = 0
    ret = 0
    try:
        while written < bytes_to_writeback or not cursor.check_goal_per_memcg:
            if k.signal_pending:
                ret = -errno.EINTR
                break
            it = cursor.next()
            if it is None and not cursor.check_goal_per_memcg and written >= bytes_to_writeback:
                break
            shrunk = zswap_shrink_one_memcg(k, it, s, k.params.wb_batch, proactive=True)
            if shrunk > 0:
                written += shrunk
                assert it is not None
                k.steps.count_proactive_bytes(it, shrunk)  # 5/6: on the iterated memcg
            k.tree.mem_cgroup_put(it)
            if shrunk == EBUSY_STOP:
                ret = -errno.EAGAIN
                break
    finally:
        cursor.finish()
        k.counters["proactive_bytes_written"] += written
    return ret


# ------------------------------------------------------------------------------------------ entry points
DRIVERS = {"v1-v3": zswap_proactive_writeback_v123, "v4": zswap_proactive_writeback_v4,
           "v5": zswap_proactive_writeback_v5}


def proactive_writeback(k: Kernel, memcg: MemCgroup | None, nbytes: int, age_seconds: int | None = None) -> int:
    """Dispatch a parsed request to the profile's driver (``ProactiveParams.driver``). ``nbytes`` is the byte size
    the user wrote, converted to the driver's budget unit; ``memcg`` is None for node-level reclaim
    (``/sys/devices/system/node/nodeN/reclaim``). Without CONFIG_ZSWAP the series' ``zswap_proactive_writeback``
    stub returns -EOPNOTSUPP."""
    if not k.config.config_zswap:
        return -errno.EOPNOTSUPP
    p = k.params
    if p.driver is None:
        return -errno.EINVAL
    budget = nbytes if p.budget_unit == "bytes" else nbytes // PAGE_SIZE
    if p.interface == "file":  # v1: "[max=<bytes>] <age>"
        if age_seconds is None:
            return -errno.EINVAL
        cutoff = k.clock_ns - age_seconds * NSEC_PER_SEC
        if cutoff <= 0:
            return 0  # nothing can be that old
        return zswap_proactive_writeback_v123(k, memcg, budget, cutoff)
    return DRIVERS[p.driver](k, memcg, budget)
