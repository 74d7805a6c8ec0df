"""The model's global state (what the kernel keeps in globals and per-memcg structures) and its entry points
for workloads: allocate, touch, free, advance the clock.

``Kernel`` is passed as the first argument to every model function, the way kernel C code reaches its globals.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import vmscan
from .cgroupfs import CgroupFS
from .config import KernelConfig
from .constants import MAX_RECLAIM_RETRIES, NSEC_PER_SEC, PAGE_SIZE
from .list_lru import MemcgListLru
from .memcg import MemCgroup, MemcgStats, MemcgTree
from .page import Page, PageState
from .proactive import install_profile_hooks
from .profiles import resolve
from .psi import Psi
from .steps import ReferenceSteps, ShrinkSteps
from .writeback import shrink_worker, zswap_memcg_offline_cleanup
from .zswap import ObjCgroup, ZswapPool, zswap_invalidate, zswap_load, zswap_total_pages


class OOMKill(RuntimeError):  # noqa: N818 - named after the kernel event
    """The charge could not be satisfied after MAX_RECLAIM_RETRIES reclaim attempts (memcg OOM)."""

    def __init__(self, memcg: MemCgroup) -> None:
        super().__init__(f"memcg OOM in {memcg.path}")
        self.memcg = memcg
        self.pages: list[Page] = []  # pages the interrupted allocation had already faulted in


@dataclass
class HierGauges:
    """Hierarchical gauges kept incrementally for limit checks (page_counter semantics)."""

    usage_b: int = 0  # memory.current: anon pages + zswap compressed bytes
    zswap_b: int = 0  # MEMCG_ZSWAP_B of the subtree (obj_cgroup_may_zswap)
    swap: int = 0  # swap slots charged (memory.swap.current, pages)


ClenSpec = int | Callable[[random.Random], int]


class Kernel:
    """One simulated machine: memcg tree, zswap pool and LRUs, anon LRUs, swap device, clock."""

    def __init__(self, config: KernelConfig | None = None, seed: int = 0) -> None:
        self.config, self.params = resolve(config or KernelConfig())
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock_ns = 0
        self.tree = MemcgTree(memcg_disabled=self.config.memcg_disabled)
        self.zswap = ZswapPool()
        self.zswap_lru = MemcgListLru(self.config.nr_nodes)
        self.anon_lru = MemcgListLru(self.config.nr_nodes)
        self.zswap_next_shrink: MemCgroup | None = None
        self._objcg: dict[int, ObjCgroup] = {}
        self._objcg_list: dict[int, list[ObjCgroup]] = {}
        self._hier: dict[int, HierGauges] = {}
        self.pages: dict[int, Page] = {}
        self._next_page = 1
        self.swap_used = 0
        self.vm_events: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.writeback_log: list[tuple[int, str, int, int, bool]] = []
        self.nr_disk_swapins: Counter[tuple[int, int]] = Counter()  # zswap_lruvec_state, per (memcg, nid)
        self.shrinker_deferred: Counter[tuple[int, int]] = Counter()
        self._wb_faults: dict[int, list[str]] = {}
        self.shrink_work_queued = False
        self.signal_pending = False
        self.psi = Psi()
        self.steps: ShrinkSteps = ReferenceSteps(self)  # the per-memcg steps the drivers call
        self._init_memcg(self.tree.root)
        self.tree.offline_hooks.append(lambda m: zswap_memcg_offline_cleanup(self, m))
        install_profile_hooks(self)
        self.tree.offline_hooks.append(self._reparent)
        self.fs = CgroupFS(self)

    # ------------------------------------------------------------------ memcg bookkeeping
    def _init_memcg(self, m: MemCgroup) -> None:
        oc = ObjCgroup(m)
        self._objcg[m.id] = oc
        self._objcg_list[m.id] = [oc]
        self._hier[m.id] = HierGauges()

    def mkdir(self, parent: MemCgroup, name: str) -> MemCgroup:
        m = self.tree.mkdir(parent, name)
        self._init_memcg(m)
        return m

    def hier(self, m: MemCgroup) -> HierGauges:
        return self._hier[m.id]

    def lru_id(self, memcg: MemCgroup | None) -> int:
        """The list_lru index of ``memcg`` (root and "memcg disabled" share the root list)."""
        if memcg is None or self.tree.memcg_disabled:
            return self.tree.root.id
        return memcg.id

    def lru_memcg_id(self, objcg: ObjCgroup | None) -> int:
        return self.lru_id(None if objcg is None else objcg.memcg)

    def get_obj_cgroup_from_page(self, page: Page) -> ObjCgroup | None:
        """``get_obj_cgroup_from_folio`` (v6.12 … v7.0): None when memcg is disabled or the page is charged to
        the root."""
        if self.tree.memcg_disabled or page.memcg.is_root:
            return None
        return self._objcg[page.memcg.id]

    def _reparent(self, memcg: MemCgroup) -> None:
        """``memcg_reparent_objcgs`` (v6.12 … v7.0) + ``memcg_reparent_list_lrus`` at offline, plus the model's simplifications:
        local stats fold into the parent, resident anon pages and swap charges move to the parent."""
        parent = self._reparent_objcgs(memcg)
        self.zswap_lru.reparent(memcg.id, parent.id)
        for nid in range(self.config.nr_nodes):
            lst = self.anon_lru.list_of(memcg.id, nid)
            for p in list(lst):
                p.memcg = parent
            self.anon_lru.reparent(memcg.id, parent.id)
        for p in self.pages.values():
            if p.memcg is memcg:
                p.memcg = parent
        parent.stat.add(memcg.stat)
        memcg.stat.clear()
        self._hier[memcg.id] = HierGauges()
        for key in [k for k in self.nr_disk_swapins if k[0] == memcg.id]:
            self.nr_disk_swapins[(parent.id, key[1])] += self.nr_disk_swapins.pop(key)

    def _reparent_objcgs(self, memcg: MemCgroup) -> MemCgroup:
        """``memcg_reparent_objcgs`` (v6.12 … v7.0): every objcg of the dying memcg now points at its parent."""
        parent = memcg.parent
        assert parent is not None
        for oc in self._objcg_list.pop(memcg.id, []):
            oc.memcg = parent
            self._objcg_list[parent.id].append(oc)
        self._objcg[memcg.id] = self._objcg[parent.id]
        return parent

    # ------------------------------------------------------------------ charging
    def try_to_free_mem_cgroup_pages(self, target: MemCgroup, nr_pages: int, swappiness: int | None = None) -> int:
        """``try_to_free_mem_cgroup_pages`` (mm/vmscan.c, v6.12 … v7.0, simplified): see
        :func:`vmscan.try_to_free_mem_cgroup_pages`; the fast core overrides it with its compiled reclaim."""
        return vmscan.try_to_free_mem_cgroup_pages(self, target, nr_pages, swappiness)

    def mod_memcg_zswap(self, memcg: MemCgroup, dbytes: int, dpages: int, dincomp: int) -> None:
        """``obj_cgroup_charge_zswap`` (v6.12 … v7.0) / ``obj_cgroup_uncharge_zswap`` + the MEMCG_ZSWAP_* stat updates."""
        st = memcg.stat
        st.zswap_b += dbytes
        st.zswapped += dpages
        st.zswap_incomp += dincomp
        for a in memcg.ancestors():
            h = self._hier[a.id]
            h.zswap_b += dbytes
            h.usage_b += dbytes

    def _mod_anon(self, memcg: MemCgroup, dpages: int) -> None:
        memcg.stat.anon += dpages
        for a in memcg.ancestors():
            self._hier[a.id].usage_b += dpages * PAGE_SIZE

    def _mod_swap(self, memcg: MemCgroup, dpages: int) -> None:
        memcg.stat.swap += dpages
        for a in memcg.ancestors():
            h = self._hier[a.id]
            h.swap += dpages
            if h.swap > a.swap_peak:
                a.swap_peak = h.swap

    def try_charge(self, memcg: MemCgroup, nr_pages: int = 1, retries: int = MAX_RECLAIM_RETRIES) -> None:
        """``try_charge_memcg`` (v6.12 … v7.0): over ``memory.max`` anywhere up the tree → reclaim from that memcg,
        retry up to MAX_RECLAIM_RETRIES times, then OOM."""
        while True:
            over = None
            for a in memcg.ancestors():
                if self.memory_current(a) + nr_pages * PAGE_SIZE > a.memory_max * PAGE_SIZE:
                    over = a
                    break
            if over is None:
                return
            got = self.try_to_free_mem_cgroup_pages(over, nr_pages)
            if got == 0:
                if retries == 0:
                    raise OOMKill(over)
                retries -= 1

    def swap_alloc(self, page: Page) -> bool:
        """``folio_alloc_swap`` (v6.12 … v7.0) + ``mem_cgroup_try_charge_swap``: False if the device or memory.swap.max is full."""
        if self.swap_used >= self.config.swap_pages:
            return False
        for a in page.memcg.ancestors():
            if not a.is_root and self._hier[a.id].swap + 1 > a.swap_max:
                return False
        self.swap_used += 1
        page.swp = page.id
        self._mod_swap(page.memcg, 1)
        return True

    def swap_free(self, page: Page) -> None:
        """``swap_free`` (v6.12 … v7.0) / ``mem_cgroup_uncharge_swap`` (and zswap_invalidate of any entry)."""
        if page.swp is None:
            return
        zswap_invalidate(self, page.swp)
        self.swap_used -= 1
        self._mod_swap(page.memcg, -1)
        page.swp = None

    # ------------------------------------------------------------------ workload entry points
    def _memcg(self, where: MemCgroup | str) -> MemCgroup:
        return self.tree.lookup(where) if isinstance(where, str) else where

    def alloc(self, where: MemCgroup | str, n: int, clen: ClenSpec = PAGE_SIZE // 4, nid: int = 0,
              tag: str = "") -> list[Page]:
        """Fault in ``n`` new anon pages charged to ``where`` (``alloc_anon`` in the selftests).

        ``clen`` is the compressed length in bytes (int or ``callable(rng) -> int``): 0 = zero-filled,
        >= PAGE_SIZE = incompressible. Charging over ``memory.max`` reclaims from the limited memcg first.
        """
        memcg = self._memcg(where)
        out: list[Page] = []
        for _ in range(n):
            try:
                self.try_charge(memcg, 1)
            except OOMKill as e:
                e.pages = out
                raise
            c = clen(self.rng) if callable(clen) else clen
            p = Page(self._next_page, memcg, nid % self.config.nr_nodes, int(c), tag)
            self._next_page += 1
            self.pages[p.id] = p
            p.referenced = True
            self.anon_lru.list_of(memcg.id, p.nid).add_tail(p)
            self._mod_anon(memcg, 1)
            out.append(p)
        self.run_pending_work()
        return out

    def touch(self, pages: Iterable[Page]) -> None:
        """Access pages: resident ones are marked referenced; swapped-out ones fault back in
        (``do_swap_page``: ``zswap_load`` first, else a disk read + ``zswap_folio_swapin``)."""
        for p in pages:
            if p.state is PageState.RAM:
                p.referenced = True
            elif p.state is not PageState.FREED:
                self._swapin(p)
        self.run_pending_work()

    def _swapin(self, p: Page) -> None:
        memcg = p.memcg
        self.try_charge(memcg, 1)
        if p.state is PageState.ZSWAP:
            ok = zswap_load(self, p)
            assert ok, "ZSWAP page without a zswap entry"
            self.psi.stall(memcg, self.config.zswap_load_ns)
        elif p.state is PageState.DISK:
            memcg.stat.pswpin += 1
            memcg.stat.pgfault_major += 1
            self.vm_events["pswpin"] += 1
            self.nr_disk_swapins[(self.lru_id(memcg), p.nid)] += 1  # zswap_folio_swapin
            self.psi.stall(memcg, self.config.disk_swapin_ns)
        self.swap_free(p)
        p.state = PageState.RAM
        p.referenced = True
        self.anon_lru.list_of(memcg.id, p.nid).add_tail(p)
        self._mod_anon(memcg, 1)

    def free_page(self, p: Page) -> None:
        if p.state is PageState.RAM:
            p.lru.del_item(p)
            self._mod_anon(p.memcg, -1)
        elif p.state is not PageState.FREED:
            self.swap_free(p)
        p.state = PageState.FREED
        self.pages.pop(p.id, None)

    def free(self, pages: Iterable[Page]) -> None:
        """Unmap pages (process exit / munmap): swap slots freed, zswap entries invalidated."""
        for p in pages:
            self.free_page(p)

    # ------------------------------------------------------------------ async work and time
    def queue_shrink_work(self) -> None:
        """``queue_work(shrink_wq, &zswap_shrink_work)`` (v6.12 … v7.0): single work item, idempotent while pending."""
        if not self.shrink_work_queued:
            self.counters["shrink_worker_wakeups"] += 1
        self.shrink_work_queued = True

    def run_pending_work(self) -> None:
        """Run the queued ``shrink_worker`` (the model runs async work at the end of each top-level operation)."""
        rounds = 0
        while self.shrink_work_queued and rounds < 4:
            self.shrink_work_queued = False
            shrink_worker(self)
            rounds += 1

    def advance(self, seconds: float) -> None:
        """Advance the simulated clock (PSI averages update every 2 s of simulated time)."""
        dt = int(round(seconds * NSEC_PER_SEC))
        if dt < 0:
            raise ValueError("time cannot go backwards")
        self.clock_ns += dt
        self.psi.advance(self.clock_ns)
        self.run_pending_work()

    # ------------------------------------------------------------------ fault injection
    def inject_writeback(self, swp: int, kind: str) -> None:
        """Make the next ``zswap_writeback_entry`` of slot ``swp`` fail: ``"eexist"`` (racing swapin),
        ``"enomem"`` (folio allocation failure) or ``"vanished"`` (entry invalidated concurrently)."""
        if kind not in ("eexist", "enomem", "vanished"):
            raise ValueError(f"unknown writeback fault {kind!r}")
        self._wb_faults.setdefault(swp, []).append(kind)

    def take_writeback_fault(self, swp: int) -> str | None:
        q = self._wb_faults.get(swp)
        if not q:
            return None
        kind = q.pop(0)
        if not q:
            del self._wb_faults[swp]
        return kind

    # ------------------------------------------------------------------ reading state
    def stats_of(self, memcg: MemCgroup) -> MemcgStats:
        """Hierarchical counters of ``memcg`` (what memory.stat prints): sum of local stats over the subtree."""
        total = MemcgStats()
        for m in memcg.subtree():
            total.add(m.stat)
        return total

    def debugfs(self) -> dict[str, int]:
        """``/sys/kernel/debug/zswap/*``."""
        return self.zswap.stats.as_dict(zswap_total_pages(self) * PAGE_SIZE,
                                        bool(self.config.incompressible_store_as_is))

    def zswap_total_pages(self) -> int:
        """``zswap_total_pages()`` of this core (the drivers call it; the fast core keeps the pool size in G)."""
        return zswap_total_pages(self)

    def memory_current(self, memcg: MemCgroup) -> int:
        return self._hier[memcg.id].usage_b
