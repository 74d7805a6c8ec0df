"""The per-memcg steps that the writeback drivers call, behind one small interface.

The drivers — ``shrink_worker`` in every form (writeback.py), the proactive drivers of v1–v5 (proactive.py),
the reclaim of a subtree (``vmscan.try_to_free_mem_cgroup_pages``) — exist once and call only these steps; the reference core implements them with the list_lru walk of
:mod:`zswaplab.kernel.writeback`, the compiled core (:mod:`zswaplab.scale.fastkernel`) with its numba walks.
Every step counts ``shrink_memcg_calls`` where the kernel function it models is ``shrink_memcg``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .proactive import zswap_proactive_shrink_memcg
from .vmscan import shrink_anon_list
from .writeback import proactive_walk_arg, shrink_memcg, shrink_memcg_batched, shrink_memcg_v4

if TYPE_CHECKING:
    from .memcg import MemCgroup
    from .system import Kernel


class ShrinkSteps(Protocol):
    """One implementation per core. ``proactive`` selects the profile's proactive walk argument
    (``zswap_shrink_walk_arg``: second-chance bypass, where the proactive counter is added)."""

    def shrink_memcg(self, memcg: MemCgroup | None) -> int:
        """``shrink_memcg(memcg)`` v6.12 … 7.2: 0, -EAGAIN or -ENOENT."""
        ...

    def shrink_memcg_v4(self, memcg: MemCgroup | None, nr_to_writeback: int, proactive: bool) -> int:
        """``shrink_memcg(memcg, nr_to_writeback)`` (series v4 1/5): bytes written or -ENOENT."""
        ...

    def shrink_memcg_batched(self, memcg: MemCgroup | None, nr_to_scan: int, proactive: bool) -> int:
        """``shrink_memcg(memcg, nr_to_scan)`` (series v5 2/6 = Jul-14 2/2): bytes written or -ENOENT."""
        ...

    def proactive_shrink_memcg(self, memcg: MemCgroup, nr_to_write: int, cutoff_ns: int | None) -> int:
        """``zswap_proactive_shrink_memcg`` (series v1 2/3, v2/v3 2/4): pages written or -ENOENT."""
        ...

    def count_proactive_bytes(self, memcg: MemCgroup, nbytes: int) -> None:
        """``mod_memcg_state(memcg, MEMCG_ZSWPWB_PROACTIVE_B, bytes)`` (series v5 5/6)."""
        ...

    def anon_lru_size(self, memcg: MemCgroup, nid: int) -> int:
        """``lruvec_lru_size`` (mm/vmscan.c, v6.12 … v7.2) of the memcg's anon LRU on node ``nid`` (what
        ``get_scan_count`` shifts by the priority)."""
        ...

    def shrink_anon_list(self, memcg: MemCgroup, nid: int, nr_scan: int, want: int) -> int:
        """The model's ``shrink_folio_list`` (mm/vmscan.c, v6.12 … v7.2) over one anon LRU: scan ``nr_scan``,
        reclaim at most ``want``."""
        ...


class ReferenceSteps:
    """The reference core's steps: the Python list_lru walks of writeback.py and proactive.py."""

    def __init__(self, k: Kernel) -> None:
        self.k = k

    def shrink_memcg(self, memcg: MemCgroup | None) -> int:
        return shrink_memcg(self.k, memcg)

    def shrink_memcg_v4(self, memcg: MemCgroup | None, nr_to_writeback: int, proactive: bool) -> int:
        return shrink_memcg_v4(self.k, memcg, nr_to_writeback, proactive_walk_arg(self.k) if proactive else None)

    def shrink_memcg_batched(self, memcg: MemCgroup | None, nr_to_scan: int, proactive: bool) -> int:
        return shrink_memcg_batched(self.k, memcg, nr_to_scan, proactive_walk_arg(self.k) if proactive else None)

    def proactive_shrink_memcg(self, memcg: MemCgroup, nr_to_write: int, cutoff_ns: int | None) -> int:
        return zswap_proactive_shrink_memcg(self.k, memcg, nr_to_write, cutoff_ns)

    def count_proactive_bytes(self, memcg: MemCgroup, nbytes: int) -> None:
        memcg.stat.zswpwb_proactive_b += nbytes

    def anon_lru_size(self, memcg: MemCgroup, nid: int) -> int:
        return len(self.k.anon_lru.list_of(memcg.id, nid))

    def shrink_anon_list(self, memcg: MemCgroup, nid: int, nr_scan: int, want: int) -> int:
        return shrink_anon_list(self.k, memcg, nid, nr_scan, want)


__all__ = ["ReferenceSteps", "ShrinkSteps"]
