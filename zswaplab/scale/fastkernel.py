"""``FastKernel``: the kernel model on a struct-of-arrays layout with numba-compiled hot loops.

Same public surface as :class:`zswaplab.kernel.Kernel` (``fs`` facade, ``alloc``/``touch``/``free``/``advance``,
``debugfs()``, ``counters``, ``vm_events``, ``writeback_log``, ``tree``) and the same semantics — checked
against the oracle by the differential tests in ``tests/scale``. What is not hot is reused from the oracle:
the memcg tree and ``mem_cgroup_iter`` (``MemcgTree``), profiles, PSI, the cgroupfs parsing and every driver —
``shrink_worker`` in each form and the proactive drivers run the model's code over :class:`FastSteps`, the
compiled per-memcg steps (``zswaplab.kernel.steps.ShrinkSteps``). Supported subset (anything else raises :class:`UnsupportedConfig`): ``nr_nodes == 1``, memcg enabled,
no dynamic shrinker, no writeback fault injection, no pending signals.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from zswaplab.kernel import proactive, vmscan
from zswaplab.kernel.cgroupfs import (
    CHILD_FILES,
    ROOT_FILES,
    CgroupFS,
)
from zswaplab.kernel.config import KernelConfig
from zswaplab.kernel.constants import (
    NSEC_PER_SEC,
    PAGE_COUNTER_MAX,
    PAGE_SIZE,
)
from zswaplab.kernel.memcg import CssState, MemCgroup, MemcgStats, MemcgTree
from zswaplab.kernel.page import PageState
from zswaplab.kernel.profiles import resolve
from zswaplab.kernel.system import HierGauges, Kernel, OOMKill
from zswaplab.kernel.writeback import shrink_worker
from zswaplab.kernel.zswap import ZswapDebugfs

from . import layout as L
from . import nbcore as nb

_STATES = (PageState.RAM, PageState.ZSWAP, PageState.DISK, PageState.ZERO, PageState.FREED)
_KNOBS = {"zswap_max": L.ZMAX, "memory_max": L.MMAX, "swap_max": L.SMAX}


class UnsupportedConfig(ValueError):
    """The configuration is outside the subset the fast core implements (see the module docstring)."""


class FastMemCgroup(MemCgroup):
    """A :class:`MemCgroup` whose knobs, state and swap peak are mirrored into the fast core's ``MC`` row."""

    _fk: FastKernel

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        fk = self.__dict__.get("_fk")
        if fk is None:
            return
        col = _KNOBS.get(name)
        if col is not None:
            fk.MC[self.id, col] = int(value)
        elif name == "zswap_writeback":
            fk.MC[self.id, L.WB] = int(bool(value))
        elif name == "state":
            fk.MC[self.id, L.ONLINE] = int(value is CssState.ONLINE)
            if value is CssState.RELEASED and self.parent is not None:
                fk.MC[self.parent.id, L.NCHILD] -= 1

    @property  # type: ignore[override]
    def swap_peak(self) -> int:
        fk = self.__dict__.get("_fk")
        return int(fk.MC[self.id, L.SPEAK]) if fk is not None else int(self.__dict__.get("_speak", 0))

    @swap_peak.setter
    def swap_peak(self, v: int) -> None:
        fk = self.__dict__.get("_fk")
        if fk is None:
            self.__dict__["_speak"] = v
        else:
            fk.MC[self.id, L.SPEAK] = v


class FastMemcgTree(MemcgTree):
    """``MemcgTree`` whose ``css_next_descendant_pre`` finds the next sibling in O(1) (the kernel follows
    ``css->sibling``; the oracle's ``list.index`` is O(siblings)). Same results."""

    _idx: dict[int, int]

    def css_next_descendant_pre(self, pos: MemCgroup | None, root: MemCgroup) -> MemCgroup | None:  # type: ignore[override]
        """``css_next_descendant_pre(pos, root)`` (kernel/cgroup/cgroup.c), as ``MemcgTree``'s."""
        if pos is None:
            return root
        if pos.children:
            return pos.children[0]
        idx = self._idx
        while pos is not root:
            parent = pos.parent
            assert parent is not None
            sib = parent.children
            i = idx.get(pos.id, -1)
            if not (0 <= i < len(sib) and sib[i] is pos):
                for j, c in enumerate(sib):
                    idx[c.id] = j
                i = idx[pos.id]
            if i + 1 < len(sib):
                return sib[i + 1]
            pos = parent
        return None


class FastPage:
    """A view of one page of the fast core (what ``Kernel.alloc`` returns as ``Page`` objects)."""

    __slots__ = ("k", "id")

    def __init__(self, k: FastKernel, pid: int) -> None:
        self.k = k
        self.id = pid

    @property
    def state(self) -> PageState:
        return _STATES[int(self.k.ps[self.id])]

    @property
    def memcg(self) -> MemCgroup:
        return self.k.tree.by_id[int(self.k.pm[self.id])]

    @property
    def clen(self) -> int:
        return int(self.k.pc[self.id])

    @property
    def referenced(self) -> bool:
        return bool(self.k.pf[self.id] & L.F_REF)

    @property
    def tag(self) -> str:
        return self.k.tag_names[int(self.k.ptag[self.id])]

    @property
    def nid(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FastPage) and other.k is self.k and other.id == self.id

    def __hash__(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<fastpage {self.id} {self.state.value} {self.memcg.path}>"


class PageIds:
    """The pages of one ``alloc`` call (consecutive ids ``first`` … ``first + n - 1``), iterating as
    :class:`FastPage` views; ``ids`` (an int64 array) is built on first use, not per ``alloc``."""

    def __init__(self, k: FastKernel, first: int, n: int) -> None:
        self.k = k
        self.first = first
        self.n = n
        self._ids: np.ndarray | None = None

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = np.arange(self.first, self.first + self.n, dtype=np.int64)
        return self._ids

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[FastPage]:
        k = self.k
        return (FastPage(k, i) for i in range(self.first, self.first + self.n))

    def __getitem__(self, i: int) -> FastPage:
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return FastPage(self.k, self.first + i)


class _PagesView:
    """``Kernel.pages`` (id → live page) over the arrays."""

    def __init__(self, k: FastKernel) -> None:
        self.k = k

    def get(self, pid: int, default: Any = None) -> FastPage | Any:
        k = self.k
        if 1 <= pid < k.next_page and k.ps[pid] != L.FREED:
            return FastPage(k, pid)
        return default

    def __contains__(self, pid: object) -> bool:
        return isinstance(pid, int) and self.get(pid) is not None

    def __len__(self) -> int:
        return int(np.count_nonzero(self.k.ps[1:self.k.next_page] != L.FREED))

    def keys(self) -> list[int]:
        k = self.k
        return [int(i) + 1 for i in np.flatnonzero(k.ps[1:k.next_page] != L.FREED)]


class _WritebackLog:
    """``Kernel.writeback_log`` as a lazy sequence of ``(clock_ns, owner_path, page_id, length, proactive)``."""

    def __init__(self, k: FastKernel) -> None:
        self.k = k

    def __len__(self) -> int:
        return int(self.k.G[L.G_LOG_N])

    def _row(self, i: int) -> tuple[int, str, int, int, bool]:
        r = self.k.LOG[i]
        return (int(r[0]), self.k.tree.by_id[int(r[1])].path, int(r[2]), int(r[3]) & 0xFFFF, bool(r[3] >> 16))

    def __getitem__(self, s: int | slice) -> Any:
        n = len(self)
        if isinstance(s, slice):
            return [self._row(i) for i in range(*s.indices(n))]
        if s < 0:
            s += n
        if not 0 <= s < n:
            raise IndexError(s)
        return self._row(s)

    def __iter__(self) -> Iterator[tuple[int, str, int, int, bool]]:
        return (self._row(i) for i in range(len(self)))


def _clip_lengths(lens: np.ndarray) -> np.ndarray:
    """Compressed lengths as the core stores them: uint16, clipped to PAGE_SIZE (one pass, no int64 copy)."""
    if lens.size and lens.min() < 0:
        raise ValueError("compressed lengths must be >= 0")
    out = np.empty(lens.shape, np.uint16)
    np.minimum(lens, PAGE_SIZE, out=out, casting="unsafe")
    return out


def _ids_of(pages: Any) -> np.ndarray:
    if isinstance(pages, PageIds):
        return pages.ids
    if isinstance(pages, np.ndarray):
        return pages.astype(np.int64, copy=False)
    return np.fromiter((p.id if isinstance(p, FastPage) else int(p) for p in pages), dtype=np.int64)


class FastKernel(Kernel):
    """The fast core (see the module docstring for the supported subset)."""

    def __init__(self, config: KernelConfig | None = None, seed: int = 0, *, pages_hint: int = 1024,
                 keep_log: bool = True) -> None:
        cfg, params = resolve(config or KernelConfig())
        if cfg.nr_nodes != 1:
            raise UnsupportedConfig("FastKernel supports nr_nodes == 1 only")
        if cfg.memcg_disabled:
            raise UnsupportedConfig("FastKernel needs the memory controller (memcg_disabled=False)")
        if not cfg.config_zswap:
            raise UnsupportedConfig("FastKernel needs CONFIG_ZSWAP (config_zswap=True)")
        if cfg.shrinker_enabled:
            raise UnsupportedConfig("FastKernel does not model the dynamic zswap shrinker (shrinker_enabled)")
        self.keep_log = keep_log
        self.MC = np.zeros((16, L.NCOL), np.int64)
        self.G = np.zeros(L.NG, np.int64)
        self.K = np.zeros(L.NK, np.int64)
        self.KF = np.zeros(1, np.float64)
        self.LOG = np.zeros((0, L.LOG_COLS), np.int64)
        self.v1 = params.interface == "file"
        self._alloc_pages(max(16, pages_hint))
        self.G[L.G_NEXT_PAGE] = 1
        self.tag_names: list[str] = [""]
        self._tag_ids: dict[str, int] = {"": 0}
        self._ready = False
        super().__init__(config, seed)
        self.tree.__class__ = FastMemcgTree
        self.tree._idx = {}  # type: ignore[attr-defined]
        self._ready = True
        root = self.tree.root
        self._adopt(root)
        K, c = self.K, self.config
        K[L.K_SWAP_PAGES] = c.swap_pages
        K[L.K_ZSWAP_ENABLED] = int(c.zswap_enabled)
        K[L.K_MAX_PAGES] = c.totalram_pages * c.max_pool_percent // 100
        K[L.K_THR_PAGES] = K[L.K_MAX_PAGES] * c.accept_threshold_percent // 100
        K[L.K_INCOMP_AS_IS] = int(bool(c.incompressible_store_as_is))
        K[L.K_FORM] = L.FORMS[c.shrink_memcg_form or "mainline"]
        K[L.K_STORE_NR] = c.store_shrink_nr or 1
        K[L.K_BATCH] = self.params.wb_batch
        K[L.K_RATIO] = self.params.scan_ratio
        K[L.K_ROOT] = root.id
        K[L.K_ZLOAD_NS] = c.zswap_load_ns
        K[L.K_DISK_NS] = c.disk_swapin_ns
        K[L.K_V1] = int(self.v1)
        self.KF[0] = c.frag_factor
        self.fs = FastCgroupFS(self)
        self.steps = FastSteps(self)
        self.pages = _PagesView(self)  # type: ignore[assignment]
        self.writeback_log = _WritebackLog(self)  # type: ignore[assignment]
        self._repack()

    # ------------------------------------------------------------------ storage
    def _alloc_pages(self, cap: int) -> None:
        self.pm = np.zeros(cap, np.int32)
        self.pc = np.zeros(cap, np.uint16)
        self.ps = np.full(cap, L.FREED, np.uint8)
        self.pf = np.zeros(cap, np.uint8)
        self.pp = np.full(cap, -1, np.int32)
        self.pn = np.full(cap, -1, np.int32)
        self.pt = np.zeros(cap if self.v1 else 1, np.int64)
        self.ptag = np.zeros(cap, np.uint8)

    def _grow_pages(self, need: int) -> None:
        cap = self.pm.shape[0]
        if need <= cap:
            return
        new = max(need, cap * 2)
        if new > np.iinfo(np.int32).max:
            raise MemoryError("FastKernel page ids are int32")
        for name, fill in (("pm", 0), ("pc", 0), ("ps", L.FREED), ("pf", 0), ("pp", -1), ("pn", -1), ("ptag", 0)):
            old = getattr(self, name)
            arr = np.full(new, fill, old.dtype)
            arr[:cap] = old
            setattr(self, name, arr)
        if self.v1:
            arr = np.zeros(new, np.int64)
            arr[:cap] = self.pt
            self.pt = arr
        self._repack()

    def _ensure_log(self, extra: int) -> None:
        if not self.keep_log:
            return
        n = int(self.G[L.G_LOG_N])
        bound = n + extra + int(self.G[L.D_STORED]) + int(self.MC[:, L.S_ANON].sum())
        if bound > self.LOG.shape[0]:
            arr = np.zeros((max(bound, 2 * self.LOG.shape[0], 1024), L.LOG_COLS), np.int64)
            arr[:n] = self.LOG[:n]
            self.LOG = arr
            self._repack()

    def _repack(self) -> None:
        self.A = L.State(self.pm, self.pc, self.ps, self.pf, self.pp, self.pn, self.pt, self.MC, self.G, self.K,
                         self.KF, self.LOG)

    def _check_log(self) -> None:
        if self.keep_log and self.G[L.G_LOG_OVF]:
            raise RuntimeError("FastKernel writeback log overflow (internal error)")

    @property
    def next_page(self) -> int:
        return int(self.G[L.G_NEXT_PAGE])

    @property
    def clock_ns(self) -> int:  # type: ignore[override]
        return int(self.G[L.G_CLOCK])

    @clock_ns.setter
    def clock_ns(self, v: int) -> None:
        self.G[L.G_CLOCK] = v

    @property
    def shrink_work_queued(self) -> bool:  # type: ignore[override]
        return bool(self.G[L.G_QUEUED])

    @shrink_work_queued.setter
    def shrink_work_queued(self, v: bool) -> None:
        self.G[L.G_QUEUED] = int(v)

    @property
    def swap_used(self) -> int:  # type: ignore[override]
        return int(self.G[L.G_SWAP_USED])

    @swap_used.setter
    def swap_used(self, v: int) -> None:
        self.G[L.G_SWAP_USED] = v

    def bytes_per_entry(self) -> float:
        """Bytes of per-page state (all page arrays) divided by their capacity."""
        arrs = [self.pm, self.pc, self.ps, self.pf, self.pp, self.pn, self.ptag]
        if self.v1:
            arrs.append(self.pt)
        return sum(a.itemsize for a in arrs)

    # ------------------------------------------------------------------ memcg bookkeeping
    def _adopt(self, m: MemCgroup) -> None:
        if m.id >= self.MC.shape[0]:
            arr = np.zeros((max(m.id + 1, 2 * self.MC.shape[0]), L.NCOL), np.int64)
            arr[: self.MC.shape[0]] = self.MC
            self.MC = arr
            self._repack()
        row = self.MC[m.id]
        row[:] = 0
        row[L.PARENT] = -1 if m.parent is None else m.parent.id
        row[L.ONLINE] = int(m.online())
        row[L.WB] = int(m.zswap_writeback)
        row[L.ZMAX] = m.zswap_max
        row[L.MMAX] = m.memory_max
        row[L.SMAX] = m.swap_max
        row[L.SPEAK] = m.__dict__.get("swap_peak", 0)
        row[L.A_HEAD] = row[L.A_HEAD + 1] = row[L.Z_HEAD] = row[L.Z_HEAD + 1] = -1
        object.__setattr__(m, "__class__", FastMemCgroup)
        m.__dict__.pop("swap_peak", None)
        object.__setattr__(m, "_fk", self)
        if m.parent is not None:
            self.MC[m.parent.id, L.NCHILD] += 1

    def _init_memcg(self, m: MemCgroup) -> None:
        super()._init_memcg(m)
        if self._ready:
            self._adopt(m)

    def hier(self, m: MemCgroup) -> HierGauges:
        r = self.MC[m.id]
        return HierGauges(usage_b=int(r[L.H_USAGE]), zswap_b=int(r[L.H_ZSWAP]), swap=int(r[L.H_SWAP]))

    def memory_current(self, memcg: MemCgroup) -> int:
        return int(self.MC[memcg.id, L.H_USAGE])

    def stats_of(self, memcg: MemCgroup) -> MemcgStats:
        ids = np.fromiter((m.id for m in memcg.subtree()), dtype=np.int64)
        tot = nb.subtree_sum(self.MC, ids, L.S0, len(L.STAT_FIELDS))
        return MemcgStats(**{f: int(v) for f, v in zip(L.STAT_FIELDS, tot, strict=True)})

    def local_stats(self, memcg: MemCgroup) -> MemcgStats:
        r = self.MC[memcg.id, L.S0:L.S0 + len(L.STAT_FIELDS)]
        return MemcgStats(**{f: int(v) for f, v in zip(L.STAT_FIELDS, r, strict=True)})

    def _flush_psi(self) -> None:
        col = self.MC[:, L.STALL]
        for mid in np.flatnonzero(col):
            m = self.tree.by_id.get(int(mid))
            if m is not None:
                self.psi.stall(m, int(col[mid]))
        col[:] = 0

    def _reparent(self, memcg: MemCgroup) -> None:
        """``memcg_reparent_objcgs`` + ``memcg_reparent_list_lrus`` at offline + the model's simplifications
        (as :meth:`Kernel._reparent`): lists spliced to the parent's heads, pages and local stats move up."""
        self._flush_psi()
        parent = self._reparent_objcgs(memcg)
        MC, d, p = self.MC, memcg.id, parent.id
        for h in (L.Z_HEAD, L.A_HEAD):
            self._splice_head(d, p, h)
        n = self.next_page
        pm = self.pm[:n]
        pm[pm == d] = p
        s = slice(L.S0, L.S0 + len(L.STAT_FIELDS))
        MC[p, s] += MC[d, s]
        MC[d, s] = 0
        MC[d, L.H_USAGE] = MC[d, L.H_ZSWAP] = MC[d, L.H_SWAP] = 0

    def _splice_head(self, d: int, p: int, h: int) -> None:
        """``list_splice_init(&child, &parent)``: the child's list goes to the HEAD of the parent's."""
        MC, pp, pn = self.MC, self.pp, self.pn
        if MC[d, h + 2] == 0:
            return
        first, last = MC[d, h], MC[d, h + 1]
        pfirst = MC[p, h]
        pn[last] = pfirst
        if pfirst == -1:
            MC[p, h + 1] = last
        else:
            pp[pfirst] = last
        MC[p, h] = first
        pp[first] = -1
        MC[p, h + 2] += MC[d, h + 2]
        MC[d, h] = MC[d, h + 1] = -1
        MC[d, h + 2] = 0

    # ------------------------------------------------------------------ charging
    def _serve_charge(self, memcg: MemCgroup) -> None:
        """Finish a charge the compiled code handed back (``CHARGE_DEFER``) or raise its OOM."""
        status = int(self.G[L.G_STATUS])
        over = self.tree.by_id[int(self.G[L.G_OVER])]
        if status == L.CHARGE_OOM:
            raise OOMKill(over)
        if not over.children:  # a stale child count: it was released
            self.MC[over.id, L.NCHILD] = 0
        self.try_charge(memcg, 1, int(self.G[L.G_RETRIES]))

    def try_to_free_mem_cgroup_pages(self, target: MemCgroup, nr_pages: int, swappiness: int | None = None) -> int:
        """The shared driver ``vmscan.try_to_free_mem_cgroup_pages`` over this core's steps; for a memcg without
        children, the compiled ``reclaim_leaf`` (the same priority loop on one list, also run by the compiled
        charge path without returning to Python; checked against the driver by the differential tests)."""
        if swappiness != 0 and not target.children:
            return int(nb.reclaim_leaf(self.A, target.id, nr_pages))
        return vmscan.try_to_free_mem_cgroup_pages(self, target, nr_pages, swappiness)

    def memory_reclaim(self, memcg: MemCgroup, nr_to_reclaim: int, swappiness: int | None) -> None:
        """The oracle's ``vmscan.memory_reclaim`` loop over this core's compiled reclaim. The writeback log is sized
        once up front: reclaim never adds pages, and each writeback uses up the stored entry it logs."""
        self._ensure_log(0)
        vmscan.memory_reclaim(self, memcg, nr_to_reclaim, swappiness)

    # ------------------------------------------------------------------ workload entry points
    def _tag_id(self, tag: str) -> int:
        t = self._tag_ids.get(tag)
        if t is None:
            if len(self.tag_names) >= 255:
                raise ValueError("FastKernel supports at most 255 distinct page tags")
            t = self._tag_ids[tag] = len(self.tag_names)
            self.tag_names.append(tag)
        return t

    def alloc(self, where: MemCgroup | str, n: int, clen: Any = PAGE_SIZE // 4, nid: int = 0,
              tag: str = "") -> PageIds:
        """``Kernel.alloc``; ``clen`` may also be a numpy array of ``n`` lengths (drawn by the caller)."""
        memcg = self._memcg(where)
        if n <= 0:
            self.run_pending_work()
            return PageIds(self, self.next_page, 0)
        rng_state = None
        if callable(clen):
            rng_state = self.rng.getstate()
            lens = np.fromiter((int(clen(self.rng)) for _ in range(n)), dtype=np.int64, count=n)
        elif isinstance(clen, np.ndarray):
            if clen.shape != (n,):
                raise ValueError(f"clen array has shape {clen.shape}, expected ({n},)")
            lens = clen
        else:
            lens = np.full(n, int(clen), np.int64)
        lens = _clip_lengths(lens)
        first = self.next_page
        self._grow_pages(first + n)
        self._ensure_log(n)
        tid = self._tag_id(tag)
        i = 0
        while True:
            i = int(nb.alloc(self.A, memcg.id, first, lens, i))
            if i == n:
                break
            try:
                self._serve_charge(memcg)
            except OOMKill as e:
                self._sync_out()
                self._finish_alloc(first, i, tid)
                if rng_state is not None:  # the oracle drew only the lengths of the pages it created
                    self.rng.setstate(rng_state)
                    for _ in range(i):
                        clen(self.rng)
                e.pages = list(PageIds(self, first, i))
                raise
            nb.new_page(self.A, memcg.id, first + i, lens[i])
            i += 1
        self._finish_alloc(first, n, tid)
        self.run_pending_work()
        return PageIds(self, first, n)

    def _finish_alloc(self, first: int, n: int, tid: int) -> None:
        self.ptag[first:first + n] = tid
        self.G[L.G_NEXT_PAGE] = first + n

    def touch(self, pages: Iterable[Any]) -> None:
        """``Kernel.touch``: resident pages referenced, swapped-out ones fault back in."""
        ids = _ids_of(pages)
        self._check_ids(ids)
        self._ensure_log(len(ids))
        i = 0
        try:
            while True:
                i = int(nb.touch(self.A, ids, i))
                if i == len(ids):
                    break
                p = int(ids[i])
                memcg = self.tree.by_id[int(self.pm[p])]
                self._serve_charge(memcg)
                nb.swapin(self.A, p)
                i += 1
        finally:
            self._sync_out()  # also when an OOM interrupts the touch
        self.run_pending_work()

    def _check_ids(self, ids: np.ndarray) -> None:
        if ids.size and (ids.min() < 1 or ids.max() >= self.next_page):
            raise ValueError("page id out of range")

    def free(self, pages: Iterable[Any]) -> None:
        ids = _ids_of(pages)
        self._check_ids(ids)
        nb.free_pages(self.A, ids)
        self._sync_out()

    def free_page(self, p: Any) -> None:
        self.free([p])

    def replay(self, where: MemCgroup | str, objs: np.ndarray, obj_clen: np.ndarray,
               objpage: np.ndarray | None = None) -> np.ndarray:
        """Replay a trace of dense object indexes: each event allocates the object's page (first access or
        after it was freed) or touches it, as one top-level operation (pending work runs after each).
        Returns the object → page id map."""
        memcg = self._memcg(where)
        objs = np.ascontiguousarray(objs, dtype=np.int64)
        lens = _clip_lengths(np.asarray(obj_clen))
        if objpage is None:
            objpage = np.zeros(len(lens), np.int64)
        nobj = int(np.count_nonzero(objpage == 0))
        self._grow_pages(self.next_page + nobj + 1)
        try:
            self._replay_loop(memcg, objs, lens, objpage)
        finally:
            self._sync_out()
        return objpage

    def _replay_loop(self, memcg: MemCgroup, objs: np.ndarray, lens: np.ndarray, objpage: np.ndarray) -> None:
        i, n = 0, len(objs)
        while i < n:
            self._ensure_log(min(n - i, 1 << 20))
            j = int(nb.replay(self.A, memcg.id, objpage, objs[: i + (1 << 20)], lens, i))
            if self.G[L.G_STATUS] != 0:
                o = int(objs[j])
                p = int(objpage[o])
                if p == 0 or self.ps[p] == L.FREED:
                    self._serve_charge(memcg)
                    p = self.next_page
                    self.G[L.G_NEXT_PAGE] = p + 1
                    nb.new_page(self.A, memcg.id, p, lens[o])
                    objpage[o] = p
                else:
                    self._serve_charge(self.tree.by_id[int(self.pm[p])])
                    nb.swapin(self.A, p)
                j += 1
            i = j
            self.run_pending_work()

    # ------------------------------------------------------------------ async work and time
    def queue_shrink_work(self) -> None:
        if not self.G[L.G_QUEUED]:
            self.G[L.C_WAKEUPS] += 1
        self.G[L.G_QUEUED] = 1

    def run_pending_work(self) -> None:
        rounds = 0
        while self.G[L.G_QUEUED] and rounds < 4:
            self.G[L.G_QUEUED] = 0
            self._ensure_log(0)
            shrink_worker(self)
            rounds += 1
        self._sync_out()

    def advance(self, seconds: float) -> None:
        dt = int(round(seconds * NSEC_PER_SEC))
        if dt < 0:
            raise ValueError("time cannot go backwards")
        self.G[L.G_CLOCK] += dt
        self._flush_psi()
        self.psi.advance(self.clock_ns)
        self.run_pending_work()

    def inject_writeback(self, swp: int, kind: str) -> None:
        raise UnsupportedConfig("FastKernel does not support writeback fault injection")

    def _sync_out(self) -> None:
        """Copy the compiled code's event counters into the ``counters`` / ``vm_events`` Counters."""
        self._check_log()
        G = self.G
        for name, slot in L.COUNTER_SLOTS.items():
            if G[slot]:
                self.counters[name] = int(G[slot])
        for name, slot in L.VM_SLOTS.items():
            if G[slot]:
                self.vm_events[name] = int(G[slot])

    # ------------------------------------------------------------------ reading state
    def debugfs(self) -> dict[str, int]:
        d = ZswapDebugfs()
        for name, slot in L.DEBUGFS_SLOTS.items():
            setattr(d, name, int(self.G[slot]))
        return d.as_dict(int(nb.zswap_total_pages(self.A)) * PAGE_SIZE,
                         bool(self.config.incompressible_store_as_is))

    def zswap_total_pages(self) -> int:
        return int(nb.zswap_total_pages(self.A))

    def page_states(self) -> np.ndarray:
        return self.ps[1:self.next_page].copy()

    # ------------------------------------------------------------------ writeback drivers
    def proactive_writeback(self, memcg: MemCgroup | None, nbytes: int, age_seconds: int | None = None) -> int:
        """The model's ``proactive.proactive_writeback`` (drivers and cursors shared) over :class:`FastSteps`."""
        self._ensure_log(0)
        return proactive.proactive_writeback(self, memcg, nbytes, age_seconds=age_seconds)


_PSTAT = {None: L.PSTAT_NONE, "pages": L.PSTAT_PAGES, "bytes_owner": L.PSTAT_BYTES_OWNER}


class FastSteps:
    """The compiled core's implementation of :class:`zswaplab.kernel.steps.ShrinkSteps`: the model's drivers
    (``shrink_worker`` in every form, the proactive drivers) call these per memcg visit."""

    def __init__(self, k: FastKernel) -> None:
        self.k = k
        p = k.params
        self._bypass = bool(p.bypass_second_chance)
        self._pstat = _PSTAT[p.walk_stat]

    def shrink_memcg(self, memcg: MemCgroup | None) -> int:
        assert memcg is not None  # the fast core needs memcg enabled
        return int(nb.shrink_memcg_mainline(self.k.A, memcg.id))

    def shrink_memcg_v4(self, memcg: MemCgroup | None, nr_to_writeback: int, proactive: bool) -> int:
        assert memcg is not None
        bypass, pstat = (self._bypass, self._pstat) if proactive else (False, L.PSTAT_NONE)
        return int(nb.shrink_memcg_v4(self.k.A, memcg.id, nr_to_writeback, proactive, bypass, pstat))

    def shrink_memcg_batched(self, memcg: MemCgroup | None, nr_to_scan: int, proactive: bool) -> int:
        assert memcg is not None
        bypass, pstat = (self._bypass, self._pstat) if proactive else (False, L.PSTAT_NONE)
        return int(nb.shrink_memcg_batched(self.k.A, memcg.id, nr_to_scan, proactive, bypass, pstat))

    def proactive_shrink_memcg(self, memcg: MemCgroup, nr_to_write: int, cutoff_ns: int | None) -> int:
        return int(nb.proactive_shrink_memcg_v123(self.k.A, memcg.id, nr_to_write, cutoff_ns is not None,
                                                  cutoff_ns if cutoff_ns is not None else 0, self._bypass,
                                                  self._pstat))

    def count_proactive_bytes(self, memcg: MemCgroup, nbytes: int) -> None:
        self.k.MC[memcg.id, L.S_PRO_B] += nbytes

    def anon_lru_size(self, memcg: MemCgroup, nid: int) -> int:
        return int(self.k.MC[memcg.id, L.A_HEAD + 2])  # one node

    def shrink_anon_list(self, memcg: MemCgroup, nid: int, nr_scan: int, want: int) -> int:
        return int(nb.shrink_anon_list(self.k.A, memcg.id, nr_scan, want))


class FastCgroupFS(CgroupFS):
    """The cgroupfs facade of a :class:`FastKernel`: the oracle's parsing, the fast core's actions."""

    k: FastKernel

    def __init__(self, kernel: FastKernel) -> None:
        super().__init__(kernel)
        self._paths: dict[str, MemCgroup] = {}

    def _lookup(self, path: str) -> MemCgroup:
        """As ``CgroupFS._lookup``, with a cache of path → online memcg (the oracle scans children by name)."""
        m = self._paths.get(path)
        if m is not None and m.online():
            return m
        m = super()._lookup(path)
        self._paths[path] = m
        return m

    def _check_file(self, m: MemCgroup, file: str) -> None:
        """As ``CgroupFS._check_file`` (a name in ``listdir``), without listing every child for a real file."""
        files = ROOT_FILES if m.is_root else CHILD_FILES
        if file in files or (file == "memory.zswap.proactive_writeback" and not m.is_root
                             and self.k.params.interface == "file"):
            return
        super()._check_file(m, file)

    def read(self, path: str, file: str) -> str:
        if file == "memory.pressure":
            self.k._flush_psi()
        return super().read(path, file)

    def rmdir(self, path: str) -> None:
        try:
            super().rmdir(path)
        finally:
            self.k._sync_out()

    def write(self, path: str, file: str, text: str | bytes) -> None:
        try:
            super().write(path, file, text)
        finally:
            self.k._sync_out()

    def _reclaim_to_limit(self, m: MemCgroup) -> None:
        self.k._ensure_log(0)  # see FastKernel.memory_reclaim
        super()._reclaim_to_limit(m)

    def _proactive_writeback(self, m: MemCgroup | None, nr_bytes: int, age_seconds: int | None = None) -> int:
        return self.k.proactive_writeback(m, nr_bytes, age_seconds=age_seconds)

    def _reclaim(self, m: MemCgroup, nr_pages: int, swappiness: int | None) -> None:
        self.k.memory_reclaim(m, nr_pages, swappiness)


ClenFn = Callable[[random.Random], int]
__all__ = ["FastCgroupFS", "FastKernel", "FastPage", "PageIds", "UnsupportedConfig", "PAGE_COUNTER_MAX"]
