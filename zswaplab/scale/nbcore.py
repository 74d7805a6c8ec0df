"""The fast core's hot loops, compiled with numba (``cache=True``).

Every function takes the state ``A`` (``layout.State``: ``pm, pc, ps, pf, pp, pn, pt, MC, G, K, KF, LOG``; see
:mod:`zswaplab.scale.layout`), is compiled without numba's reference-counting runtime (``_nrt=False``: it
allocates nothing; only ``subtree_sum``, called from Python, keeps the runtime; with it, every array bound to a
name or passed to a call costs two atomic updates per call), and mirrors one oracle function of
:mod:`zswaplab.kernel` line by line; the docstrings name the kernel function and version each models. Only the
subset the fast core supports is here: one NUMA node, memcg enabled, no dynamic shrinker, no writeback fault
injection (writeback always succeeds).
"""

from __future__ import annotations

import errno
import math

import numpy as np
from numba import njit

from zswaplab.kernel.constants import (
    DEF_PRIORITY,
    MAX_RECLAIM_RETRIES,
    PAGE_COUNTER_MAX,
    PAGE_SHIFT,
    PAGE_SIZE,
)

from .layout import (
    A_HEAD,
    C_SHRINK_MEMCG_CALLS,
    C_WAKEUPS,
    CHARGE_DEFER,
    CHARGE_OK,
    CHARGE_OOM,
    D_POOL_LIMIT_HIT,
    D_REJECT_COMPRESS_FAIL,
    D_STORED,
    D_STORED_INCOMP,
    D_WRITTEN_BACK,
    DISK,
    F_OBJCG,
    F_REF,
    FREED,
    G_CLOCK,
    G_FULL,
    G_LOG_N,
    G_LOG_OVF,
    G_NEXT_PAGE,
    G_OVER,
    G_QUEUED,
    G_RETRIES,
    G_STATUS,
    G_SWAP_USED,
    G_TOTAL_BYTES,
    G_WALK_BYTES,
    G_WALK_LEFT,
    H_SWAP,
    H_USAGE,
    H_ZSWAP,
    K_BATCH,
    K_DISK_NS,
    K_FORM,
    K_INCOMP_AS_IS,
    K_MAX_PAGES,
    K_RATIO,
    K_ROOT,
    K_STORE_NR,
    K_SWAP_PAGES,
    K_THR_PAGES,
    K_V1,
    K_ZLOAD_NS,
    K_ZSWAP_ENABLED,
    MMAX,
    NCHILD,
    ONLINE,
    PARENT,
    PSTAT_BYTES_OWNER,
    PSTAT_PAGES,
    RAM,
    S_ANON,
    S_PGMAJ,
    S_PRO,
    S_PRO_B,
    S_PSWPIN,
    S_PSWPOUT,
    S_SWAP,
    S_ZSWAP_B,
    S_ZSWAP_INCOMP,
    S_ZSWAPPED,
    S_ZSWPIN,
    S_ZSWPOUT,
    S_ZSWPWB,
    SMAX,
    SPEAK,
    STALL,
    V_PSWPIN,
    V_PSWPOUT,
    V_ZSWPIN,
    V_ZSWPOUT,
    V_ZSWPWB,
    V_ZSWPWB_PRO,
    WB,
    Z_HEAD,
    ZERO,
    ZMAX,
    ZSWAP,
)

# the model's constants (numba freezes module globals at compile time)
ENOENT = errno.ENOENT
EAGAIN = errno.EAGAIN
PCMAX = PAGE_COUNTER_MAX
NOT_REF = np.uint8(0xFE)


# ------------------------------------------------------------------ intrusive lists (include/linux/list.h)
@njit(cache=True, inline="always", _nrt=False)
def _add_tail(A, m, h, x):
    t = A.MC[m, h + 1]
    A.pp[x] = t
    A.pn[x] = -1
    if t == -1:
        A.MC[m, h] = x
    else:
        A.pn[t] = x
    A.MC[m, h + 1] = x
    A.MC[m, h + 2] += 1


@njit(cache=True, inline="always", _nrt=False)
def _del(A, m, h, x):
    p = A.pp[x]
    n = A.pn[x]
    if p == -1:
        A.MC[m, h] = n
    else:
        A.pn[p] = n
    if n == -1:
        A.MC[m, h + 1] = p
    else:
        A.pp[n] = p
    A.pp[x] = -1
    A.pn[x] = -1
    A.MC[m, h + 2] -= 1


@njit(cache=True, inline="always", _nrt=False)
def _move_tail(A, m, h, x):
    if A.MC[m, h + 1] == x:
        return
    _del(A, m, h, x)
    _add_tail(A, m, h, x)


# ------------------------------------------------------------------ gauges (system.Kernel._mod_*)
@njit(cache=True, inline="always", _nrt=False)
def mod_memcg_zswap(A, m, dbytes, dpages, dincomp):
    """``obj_cgroup_charge_zswap`` / ``obj_cgroup_uncharge_zswap`` + MEMCG_ZSWAP_* (mm/memcontrol.c, v6.8+)."""
    A.MC[m, S_ZSWAP_B] += dbytes
    A.MC[m, S_ZSWAPPED] += dpages
    A.MC[m, S_ZSWAP_INCOMP] += dincomp
    a = m
    while a != -1:
        A.MC[a, H_ZSWAP] += dbytes
        A.MC[a, H_USAGE] += dbytes
        a = A.MC[a, PARENT]


@njit(cache=True, inline="always", _nrt=False)
def mod_anon(A, m, d):
    A.MC[m, S_ANON] += d
    a = m
    while a != -1:
        A.MC[a, H_USAGE] += d * PAGE_SIZE
        a = A.MC[a, PARENT]


@njit(cache=True, inline="always", _nrt=False)
def mod_swap(A, m, d):
    A.MC[m, S_SWAP] += d
    a = m
    while a != -1:
        A.MC[a, H_SWAP] += d
        if A.MC[a, H_SWAP] > A.MC[a, SPEAK]:
            A.MC[a, SPEAK] = A.MC[a, H_SWAP]
        a = A.MC[a, PARENT]


@njit(cache=True, inline="always", _nrt=False)
def writeback_enabled(A, m):
    """``mem_cgroup_zswap_writeback_enabled`` (mm/memcontrol.c, v6.8+); ``m == -1`` stands for NULL."""
    if A.K[K_ZSWAP_ENABLED] == 0 or m == -1:
        return True
    a = m
    while a != -1:
        if A.MC[a, WB] == 0:
            return False
        a = A.MC[a, PARENT]
    return True


@njit(cache=True, inline="always", _nrt=False)
def zswap_total_pages(A):
    """``zswap_total_pages()`` (v6.10+): ceil(bytes * frag / PAGE_SIZE)."""
    return math.ceil(A.G[G_TOTAL_BYTES] * A.KF[0] / PAGE_SIZE)


# ------------------------------------------------------------------ entries (mm/zswap.c)
@njit(cache=True, inline="always", _nrt=False)
def zswap_entry_free(A, p):
    """``zswap_entry_free`` (v6.10+): off the LRU, pool bytes, objcg uncharge."""
    m = A.pm[p]
    _del(A, m, Z_HEAD, p)
    length = np.int64(A.pc[p])
    A.G[G_TOTAL_BYTES] -= length
    A.G[D_STORED] -= 1
    incomp = 1 if length == PAGE_SIZE else 0
    if incomp:
        A.G[D_STORED_INCOMP] -= 1
    if A.pf[p] & F_OBJCG:
        mod_memcg_zswap(A, m, -length, -1, -incomp)


@njit(cache=True, inline="always", _nrt=False)
def zswap_writeback_entry(A, p, proactive, pstat):
    """``zswap_writeback_entry`` (v6.12+; kernel-semantics §1.8) for the success case, + the series' proactive counters."""
    m = A.pm[p]
    length = np.int64(A.pc[p])
    if A.pf[p] & F_OBJCG:
        A.MC[m, S_ZSWPWB] += 1
        if proactive:
            if pstat == PSTAT_PAGES:
                A.MC[m, S_PRO] += 1
            elif pstat == PSTAT_BYTES_OWNER:
                A.MC[m, S_PRO_B] += length
    if proactive and pstat == PSTAT_PAGES:
        A.G[V_ZSWPWB_PRO] += 1  # v1–v3: the vm event counts entries without an objcg too
    A.G[V_ZSWPWB] += 1
    A.G[D_WRITTEN_BACK] += 1
    zswap_entry_free(A, p)
    A.ps[p] = DISK
    A.pf[p] = 0
    A.MC[m, S_PSWPOUT] += 1
    A.G[V_PSWPOUT] += 1
    i = A.G[G_LOG_N]
    if i < A.LOG.shape[0]:
        A.LOG[i, 0] = A.G[G_CLOCK]
        A.LOG[i, 1] = m
        A.LOG[i, 2] = p
        A.LOG[i, 3] = length | (np.int64(1) << 16 if proactive else np.int64(0))
        A.G[G_LOG_N] = i + 1
    else:
        A.G[G_LOG_OVF] += 1
    return length


@njit(cache=True, _nrt=False)
def list_lru_walk_one(A, m, budget, proactive, has_cutoff, cutoff, bypass, pstat):
    """``__list_lru_walk_one`` (mm/list_lru.c, v6.8+; kernel-semantics §1.6) with ``shrink_memcg_cb`` (v6.12+ second chance;
    v1 age cutoff / second-chance bypass, kernel-semantics §2.1) as the callback.

    Returns the number of isolated entries; ``G[G_WALK_LEFT]`` = budget left, ``G[G_WALK_BYTES]`` += bytes
    written (scratch slots: no array is allocated per call).
    A written-back entry is ``LRU_REMOVED_RETRY``: the walk restarts from the head.
    """
    isolated = 0
    left = budget
    item = A.MC[m, Z_HEAD]
    while item != -1:
        nxt = A.pn[item]
        if left == 0:
            break
        left -= 1
        if proactive and has_cutoff and A.pt[item] > cutoff:
            _move_tail(A, m, Z_HEAD, item)
            item = nxt
            continue
        if A.pf[item] & F_REF:
            A.pf[item] = A.pf[item] & NOT_REF
            if not (proactive and bypass):
                _move_tail(A, m, Z_HEAD, item)
                item = nxt
                continue
        A.G[G_WALK_BYTES] += zswap_writeback_entry(A, item, proactive, pstat)
        isolated += 1
        item = A.MC[m, Z_HEAD]
    A.G[G_WALK_LEFT] = left
    return isolated


@njit(cache=True, inline="always", _nrt=False)
def not_candidate(A, m):
    return (not writeback_enabled(A, m)) or A.MC[m, ONLINE] == 0


@njit(cache=True, _nrt=False)
def shrink_memcg_mainline(A, m):
    """``shrink_memcg(memcg)`` (mainline v6.12 … mid-2026; kernel-semantics §1.9), one node."""
    A.G[C_SHRINK_MEMCG_CALLS] += 1
    if not_candidate(A, m):
        return -ENOENT
    A.G[G_WALK_BYTES] = 0
    shrunk = list_lru_walk_one(A, m, 1, False, False, 0, False, 0)
    scanned = 1 - A.G[G_WALK_LEFT]
    if scanned == 0:
        return -ENOENT
    return 0 if shrunk else -EAGAIN


@njit(cache=True, _nrt=False)
def shrink_memcg_v4(A, m, nr_to_writeback, proactive, bypass, pstat):
    """``shrink_memcg(memcg, nr_to_writeback)`` (series v4 1/5; kernel-semantics §2.4), one node. Bytes written or -ENOENT."""
    A.G[C_SHRINK_MEMCG_CALLS] += 1
    target = nr_to_writeback << PAGE_SHIFT
    if not_candidate(A, m):
        return -ENOENT
    batch = A.K[K_BATCH]
    factor = A.K[K_RATIO]
    A.G[G_WALK_BYTES] = 0
    n = A.MC[m, Z_HEAD + 2]
    if n == 0:
        return -ENOENT
    remain = -(-(target - A.G[G_WALK_BYTES]) // PAGE_SIZE)
    n = min(n, remain * factor)
    scanned = 0
    while scanned < n:
        walk = min(batch, n - scanned)
        scanned += walk
        list_lru_walk_one(A, m, walk, proactive, False, 0, bypass, pstat)
        if A.G[G_WALK_BYTES] >= target:
            return A.G[G_WALK_BYTES]
    return A.G[G_WALK_BYTES]


@njit(cache=True, _nrt=False)
def shrink_memcg_batched(A, m, nr_to_scan, proactive, bypass, pstat):
    """``shrink_memcg(memcg, nr_to_scan)`` (series v5 2/6 = Jul-14 2/2; kernel-semantics §2.5), one node."""
    A.G[C_SHRINK_MEMCG_CALLS] += 1
    remaining = nr_to_scan
    if not_candidate(A, m):
        return -ENOENT
    A.G[G_WALK_BYTES] = 0
    walk = min(remaining, A.MC[m, Z_HEAD + 2])
    if walk != 0:
        remaining -= walk
        list_lru_walk_one(A, m, walk, proactive, False, 0, bypass, pstat)
        remaining += A.G[G_WALK_LEFT]
    if remaining == nr_to_scan:
        return -ENOENT
    return A.G[G_WALK_BYTES]


@njit(cache=True, _nrt=False)
def proactive_shrink_memcg_v123(A, m, nr_to_write, has_cutoff, cutoff, bypass, pstat):
    """``zswap_proactive_shrink_memcg`` (series v1 2/3, v2 2/4, v3 2/4; kernel-semantics §2.1), one node. Pages or -ENOENT."""
    if not_candidate(A, m):
        return -ENOENT
    batch = A.K[K_BATCH]
    ratio = A.K[K_RATIO]
    written = 0
    A.G[G_WALK_BYTES] = 0
    nr_to_scan = A.MC[m, Z_HEAD + 2]
    if nr_to_scan == 0:
        return written
    nr_to_scan = min(nr_to_scan, (nr_to_write - written) * ratio)
    scanned = 0
    while scanned < nr_to_scan:
        walk = min(batch, nr_to_scan - scanned)
        scanned += walk
        written += list_lru_walk_one(A, m, walk, True, has_cutoff, cutoff, bypass, pstat)
        if written >= nr_to_write:
            return written
    return written


# ------------------------------------------------------------------ store (mm/zswap.c)
@njit(cache=True, inline="always", _nrt=False)
def obj_cgroup_may_zswap(MC, m):
    """``obj_cgroup_may_zswap`` (mm/memcontrol.c, v6.8+; kernel-semantics §1.4): ancestors up to, not including, the root."""
    a = m
    while a != -1 and MC[a, PARENT] != -1:
        mx = MC[a, ZMAX]
        if mx != PCMAX:
            if mx == 0:
                return False
            if MC[a, H_ZSWAP] // PAGE_SIZE >= mx:
                return False
        a = MC[a, PARENT]
    return True


@njit(cache=True, inline="always", _nrt=False)
def zswap_check_limits(A):
    """``zswap_check_limits`` (v6.10+; kernel-semantics §1.3): True when the store must be rejected."""
    cur = zswap_total_pages(A)
    if cur >= A.K[K_MAX_PAGES]:
        A.G[D_POOL_LIMIT_HIT] += 1
        A.G[G_FULL] = 1
    elif A.G[G_FULL] != 0 and cur <= A.K[K_THR_PAGES]:
        A.G[G_FULL] = 0
    return A.G[G_FULL] != 0


@njit(cache=True, inline="always", _nrt=False)
def _reject(A):
    if A.G[G_FULL] != 0:
        if A.G[G_QUEUED] == 0:
            A.G[C_WAKEUPS] += 1  # queue_work(shrink_wq, &zswap_shrink_work)
        A.G[G_QUEUED] = 1
    return False


@njit(cache=True, _nrt=False)
def zswap_store_shrink_memcg(A, m):
    """The memcg-limit branch of ``zswap_store`` (kernel-semantics §1.4) in the configured form."""
    form = A.K[K_FORM]
    if form == 0:
        return shrink_memcg_mainline(A, m) == 0
    if form == 1:
        return shrink_memcg_v4(A, m, 1, False, False, 0) > 0
    nr = A.K[K_STORE_NR]
    return shrink_memcg_batched(A, m, nr, False, False, 0) > 0


@njit(cache=True, inline="always", _nrt=False)
def zswap_store(A, p):
    """``zswap_store(folio)`` for a base page (v6.12 … v7.0; kernel-semantics §1.4)."""
    if A.K[K_ZSWAP_ENABLED] == 0:
        return False
    m = A.pm[p]
    hasobj = m != A.K[K_ROOT]
    if hasobj and not obj_cgroup_may_zswap(A.MC, m):
        if not zswap_store_shrink_memcg(A, m):
            return _reject(A)
    if zswap_check_limits(A):
        return _reject(A)
    length = np.int64(A.pc[p])
    if length >= PAGE_SIZE:
        if A.K[K_INCOMP_AS_IS] != 0 and writeback_enabled(A, m if hasobj else -1):
            length = PAGE_SIZE
        else:  # <= ~6.17: the compressor fails to fit PAGE_SIZE (reject_compress_fail)
            A.G[D_REJECT_COMPRESS_FAIL] += 1
            return _reject(A)
    A.G[G_TOTAL_BYTES] += length
    A.G[D_STORED] += 1
    incomp = 1 if length == PAGE_SIZE else 0
    if incomp:
        A.G[D_STORED_INCOMP] += 1
    if hasobj:
        mod_memcg_zswap(A, m, length, 1, incomp)
        A.MC[m, S_ZSWPOUT] += 1
    A.pf[p] = F_REF | (F_OBJCG if hasobj else 0)
    if A.K[K_V1] != 0:
        A.pt[p] = A.G[G_CLOCK]
    _add_tail(A, m, Z_HEAD, p)
    A.G[V_ZSWPOUT] += 1
    return True


# ------------------------------------------------------------------ swap + vmscan simplification
@njit(cache=True, inline="always", _nrt=False)
def swap_alloc(A, p):
    """``folio_alloc_swap`` + ``mem_cgroup_try_charge_swap``."""
    if A.G[G_SWAP_USED] >= A.K[K_SWAP_PAGES]:
        return False
    a = A.pm[p]
    while a != -1:
        if A.MC[a, PARENT] != -1 and A.MC[a, H_SWAP] + 1 > A.MC[a, SMAX]:
            return False
        a = A.MC[a, PARENT]
    A.G[G_SWAP_USED] += 1
    mod_swap(A, A.pm[p], 1)
    return True


@njit(cache=True, inline="always", _nrt=False)
def swap_free(A, p):
    """``swap_free`` / ``mem_cgroup_uncharge_swap`` with ``zswap_invalidate`` of any entry."""
    if A.ps[p] == ZSWAP:
        zswap_entry_free(A, p)
    A.G[G_SWAP_USED] -= 1
    mod_swap(A, A.pm[p], -1)


@njit(cache=True, inline="always", _nrt=False)
def swap_writepage(A, p):
    """``shrink_folio_list`` → ``add_to_swap`` → ``swap_writepage`` (v6.12+): True if the page left RAM."""
    if not swap_alloc(A, p):
        return False
    if A.pc[p] == 0:
        A.ps[p] = ZERO
        return True
    if zswap_store(A, p):
        A.ps[p] = ZSWAP
        return True
    m = A.pm[p]
    if not writeback_enabled(A, m):
        A.G[G_SWAP_USED] -= 1  # swap_free: no entry was stored
        mod_swap(A, m, -1)
        return False
    A.ps[p] = DISK
    A.MC[m, S_PSWPOUT] += 1
    A.G[V_PSWPOUT] += 1
    return True


@njit(cache=True, _nrt=False)
def shrink_anon_list(A, m, nr_scan, want):
    """The model's ``shrink_folio_list`` over one anon LRU (vmscan simplification, docs/kernel-model.md)."""
    reclaimed = 0
    while nr_scan > 0 and reclaimed < want:
        p = A.MC[m, A_HEAD]
        if p == -1:
            break
        nr_scan -= 1
        if A.pf[p] & F_REF:
            A.pf[p] = A.pf[p] & NOT_REF
            _move_tail(A, m, A_HEAD, p)
            continue
        _del(A, m, A_HEAD, p)
        mod_anon(A, m, -1)
        if swap_writepage(A, p):
            reclaimed += 1
        else:
            _add_tail(A, m, A_HEAD, p)
            mod_anon(A, m, 1)
    return reclaimed


@njit(cache=True, _nrt=False)
def reclaim_leaf(A, m, nr_pages):
    """``try_to_free_mem_cgroup_pages`` for a memcg without children (simplified vmscan, priorities 12 … 0)."""
    reclaimed = 0
    for priority in range(DEF_PRIORITY, -1, -1):
        nr_scan = A.MC[m, A_HEAD + 2] >> priority
        if nr_scan:
            reclaimed += shrink_anon_list(A, m, nr_scan, nr_pages - reclaimed)
        if reclaimed >= nr_pages:
            return reclaimed
    return reclaimed


@njit(cache=True, inline="always", _nrt=False)
def try_charge(A, m, n, retries):
    """``try_charge_memcg``: reclaim from the memcg over ``memory.max`` (here: only a leaf; a memcg with children
    is handed back to Python with ``CHARGE_DEFER``), MAX_RECLAIM_RETRIES zero-progress rounds, then OOM."""
    while True:
        over = -1
        a = m
        while a != -1:
            mx = A.MC[a, MMAX]
            if mx != PCMAX and (A.MC[a, H_USAGE] + n * PAGE_SIZE + PAGE_SIZE - 1) // PAGE_SIZE > mx:
                over = a
                break
            a = A.MC[a, PARENT]
        if over == -1:
            return CHARGE_OK
        if A.MC[over, NCHILD] != 0:
            A.G[G_OVER] = over
            A.G[G_RETRIES] = retries
            return CHARGE_DEFER
        got = reclaim_leaf(A, over, n)
        if got == 0:
            if retries == 0:
                A.G[G_OVER] = over
                return CHARGE_OOM
            retries -= 1


@njit(cache=True, inline="always", _nrt=False)
def swapin(A, p):
    """``do_swap_page`` after the charge: ``zswap_load`` (exclusive) or a disk read, swap slot freed."""
    m = A.pm[p]
    st = A.ps[p]
    if st == ZSWAP:
        if A.pf[p] & F_OBJCG:
            A.MC[m, S_ZSWPIN] += 1
        A.G[V_ZSWPIN] += 1
        zswap_entry_free(A, p)
        A.MC[m, STALL] += A.K[K_ZLOAD_NS]
    elif st == DISK:
        A.MC[m, S_PSWPIN] += 1
        A.MC[m, S_PGMAJ] += 1
        A.G[V_PSWPIN] += 1
        A.MC[m, STALL] += A.K[K_DISK_NS]
    A.G[G_SWAP_USED] -= 1
    mod_swap(A, m, -1)
    A.ps[p] = RAM
    A.pf[p] = F_REF
    _add_tail(A, m, A_HEAD, p)
    mod_anon(A, m, 1)


@njit(cache=True, _nrt=False)
def touch(A, ids, start):
    """``Kernel.touch``: resident pages get the referenced bit, swapped ones fault in. Stops at the index of a
    page whose charge needs Python (``G[G_STATUS]`` = CHARGE_DEFER / CHARGE_OOM); returns ``len(ids)`` when done."""
    for i in range(start, ids.shape[0]):
        p = ids[i]
        st = A.ps[p]
        if st == RAM:
            A.pf[p] = A.pf[p] | F_REF
            continue
        if st == FREED:
            continue
        r = try_charge(A, A.pm[p], 1, MAX_RECLAIM_RETRIES)
        if r != CHARGE_OK:
            A.G[G_STATUS] = r
            return i
        swapin(A, p)
    return ids.shape[0]


@njit(cache=True, inline="always", _nrt=False)
def new_page(A, m, p, clen):
    A.pm[p] = m
    A.pc[p] = clen
    A.ps[p] = RAM
    A.pf[p] = F_REF
    _add_tail(A, m, A_HEAD, p)
    mod_anon(A, m, 1)


@njit(cache=True, _nrt=False)
def alloc(A, m, first, clens, start):
    """``Kernel.alloc``: charge (maybe reclaim), then a new referenced page at the anon LRU tail."""
    for i in range(start, clens.shape[0]):
        r = try_charge(A, m, 1, MAX_RECLAIM_RETRIES)
        if r != CHARGE_OK:
            A.G[G_STATUS] = r
            return i
        new_page(A, m, first + i, clens[i])
    return clens.shape[0]


@njit(cache=True, _nrt=False)
def free_pages(A, ids):
    """``Kernel.free``: unmap pages (swap slots freed, zswap entries invalidated)."""
    for i in range(ids.shape[0]):
        p = ids[i]
        st = A.ps[p]
        if st == RAM:
            _del(A, A.pm[p], A_HEAD, p)
            mod_anon(A, A.pm[p], -1)
        elif st != FREED:
            swap_free(A, p)
        A.ps[p] = FREED


@njit(cache=True, _nrt=False)
def replay(A, m, objpage, objs, clens, start):
    """Trace replay: event ``i`` on object ``objs[i]`` is ``alloc(m, 1)`` if the object has no live page, else
    ``touch([page])``; each is one top-level operation. Returns at the index where Python must act (a deferred
    charge: ``G[G_STATUS]`` != 0; or queued ``shrink_worker`` after event i: returns i + 1, status 0)."""
    A.G[G_STATUS] = 0
    for i in range(start, objs.shape[0]):
        o = objs[i]
        p = objpage[o]
        if p == 0 or A.ps[p] == FREED:
            r = try_charge(A, m, 1, MAX_RECLAIM_RETRIES)
            if r != CHARGE_OK:
                A.G[G_STATUS] = r
                return i
            p = A.G[G_NEXT_PAGE]
            A.G[G_NEXT_PAGE] = p + 1
            new_page(A, m, p, clens[o])
            objpage[o] = p
        else:
            st = A.ps[p]
            if st == RAM:
                A.pf[p] = A.pf[p] | F_REF
            else:
                r = try_charge(A, A.pm[p], 1, MAX_RECLAIM_RETRIES)
                if r != CHARGE_OK:
                    A.G[G_STATUS] = r
                    return i
                swapin(A, p)
        if A.G[G_QUEUED] != 0:
            return i + 1
    return objs.shape[0]


@njit(cache=True)
def subtree_sum(MC, ids, col0, ncol):
    out = np.zeros(ncol, np.int64)
    for i in range(ids.shape[0]):
        for c in range(ncol):
            out[c] += MC[ids[i], col0 + c]
    return out
