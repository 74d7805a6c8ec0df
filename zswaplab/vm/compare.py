"""Model vs kernel: compare the records of one scenario, run on a real kernel in the VM (several boots) and on
the model, step by step.

For every step and every scenario cgroup the comparison takes the counters of :data:`COUNTERS` and the kernel's
*envelope* over its recorded boots (lowest and highest value). The model must lie inside the envelope widened by
the kernel's own boot-to-boot range at that step, and at least by the counter family's small floor
(:data:`FLOOR`); a new boot of the kernel is held to the envelope widened by the scenario's largest range of the
counter (:func:`scenario_spread`). Return
codes, read-back values and lost pages are exact. A value outside is either explained by exactly one documented
:data:`DEVIATIONS` entry -- a named mechanism, limited to the scenarios, steps, cgroups and counters where it
acts, and to the size of difference it can cause (``bound``) -- or it is a failure. ``docs/validation.md``
explains the tolerances and the deviations; ``render_markdown`` produces its tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PAGE_SIZE = 4096


@dataclass(frozen=True)
class Counter:
    """One compared quantity. ``scope`` "cgroup" = per scenario cgroup, "global" = once per step. ``floor`` is
    the least tolerance (in the counter's unit) when every boot agreed exactly; ``exact`` counters have none
    and ignore the spread."""

    name: str
    unit: str
    scope: str
    read: Callable[[dict[str, Any], str | None], int | None]
    family: str
    why: str
    exact: bool = False


def _stat(key: str) -> Callable[[dict[str, Any], str | None], int | None]:
    def read(rec: dict[str, Any], cg: str | None) -> int | None:
        snap = rec.get("cgroups", {}).get(cg or "", {})
        return snap.get("memory.stat", {}).get(key)
    return read


def _file(name: str, div: int = 1) -> Callable[[dict[str, Any], str | None], int | None]:
    def read(rec: dict[str, Any], cg: str | None) -> int | None:
        v = rec.get("cgroups", {}).get(cg or "", {}).get(name)
        return v // div if isinstance(v, int) else None
    return read


def _section(section: str, key: str) -> Callable[[dict[str, Any], str | None], int | None]:
    def read(rec: dict[str, Any], cg: str | None) -> int | None:
        v = rec.get(section, {}).get(key)
        return v if isinstance(v, int) else None
    return read


def _pool_pages(rec: dict[str, Any], cg: str | None) -> int | None:
    v = rec.get("debugfs", {}).get("pool_total_size")
    return v // PAGE_SIZE if isinstance(v, int) else None


def _reject_compress(rec: dict[str, Any], cg: str | None) -> int | None:
    d = rec.get("debugfs", {})
    if "reject_compress_fail" not in d and "reject_compress_poor" not in d:
        return None
    return d.get("reject_compress_fail", 0) + d.get("reject_compress_poor", 0)


def _result(key: str) -> Callable[[dict[str, Any], str | None], int | None]:
    def read(rec: dict[str, Any], cg: str | None) -> int | None:
        v = rec.get("result", {}).get(key)
        return v if isinstance(v, int) else None
    return read


KNOB_FILES = frozenset({"memory.max", "memory.high", "memory.swap.max", "memory.zswap.max",
                        "memory.zswap.writeback"})


def _read_value(rec: dict[str, Any], cg: str | None) -> int | None:
    """The value a ``read`` step read back from a limit or knob file (the parser's result; "max" is -1).
    Reads of usage files (memory.zswap.current, ...) are compared through their own counters."""
    action = rec.get("action", {})
    if action.get("op") != "read" or action.get("file") not in KNOB_FILES:
        return None
    v = rec.get("result", {}).get("value")
    return -1 if v == "max" else v if isinstance(v, int) else None


COUNTERS: tuple[Counter, ...] = (
    Counter("rc", "errno", "global", _result("rc"), "exact",
            "exact: the return code of a knob write or memory.reclaim is the kernel's decision the model mirrors",
            exact=True),
    Counter("read", "value", "global", _read_value, "exact",
            "exact: a value read back from a cgroup file after a write (the parser's result)", exact=True),
    Counter("bad", "pages", "global", _result("bad"), "exact",
            "exact (0): no page may be lost or corrupted; the kernel side verifies every byte", exact=True),
    Counter("zswpout", "pages", "cgroup", _stat("zswpout"), "stores", "pages stored in zswap"),
    Counter("zswpin", "pages", "cgroup", _stat("zswpin"), "loads", "pages loaded from zswap"),
    Counter("zswpwb", "pages", "cgroup", _stat("zswpwb"), "writeback", "entries written back, per cgroup"),
    Counter("zswap_bytes", "bytes", "cgroup", _file("memory.zswap.current"), "bytes",
            "compressed bytes in zswap; the model stores the calibrated mean length of the pattern"),
    Counter("swap_pages", "pages", "cgroup", _file("memory.swap.current", PAGE_SIZE), "swap",
            "swap slots charged to the cgroup"),
    Counter("pswpout", "pages", "global", _section("vmstat", "pswpout"), "swap", "pages written to the swap device"),
    Counter("written_back_pages", "pages", "global", _section("debugfs", "written_back_pages"), "writeback",
            "entries written back, all cgroups"),
    Counter("pool_pages", "pages", "global", _pool_pages, "pool", "the zswap pool's size (debugfs pool_total_size)"),
    Counter("pool_limit_hit", "stores", "global", _section("debugfs", "pool_limit_hit"), "stores",
            "stores rejected at the global pool limit"),
    Counter("reject_compress", "stores", "global", _reject_compress, "stores",
            "debugfs reject_compress_fail + reject_compress_poor (6.12 counts an incompressible page as a "
            "compression failure, the model's 6.12 profile as 'poor'; the sum is the number of rejected attempts)"),
)
COUNTER_BY_NAME = {c.name: c for c in COUNTERS}

# The least tolerance per counter family where every boot agreed exactly: the kernel's per-CPU batching (an LRU
# add batch of 15 folios, the vmstat/memcg stat flush threshold of 64 events on 1 vCPU) makes a count read
# right after a step lag behind by up to these amounts, without any change between boots.
FLOOR: dict[str, int] = {"exact": 0, "stores": 16, "loads": 16, "writeback": 8, "swap": 16, "bytes": 16, "pool": 16}


def floor_of(counter: Counter, kernel_rec: dict[str, Any], cg: str | None) -> float:
    """``FLOOR`` in the counter's unit (bytes: that many entries at the kernel's mean compressed length)."""
    f = FLOOR[counter.family]
    return f * entry_unit(counter, kernel_rec, cg) if counter.unit == "bytes" else f


def entry_unit(counter: Counter, kernel_rec: dict[str, Any], cg: str | None) -> float:
    """One entry in the counter's unit: 1 for counts, the kernel's mean compressed length in this cgroup at
    this step for a byte counter (a page when the cgroup has nothing in zswap)."""
    if counter.unit != "bytes":
        return 1.0
    st = kernel_rec.get("cgroups", {}).get(cg or "", {}).get("memory.stat", {})
    entries = st.get("zswapped", 0) // PAGE_SIZE
    return st.get("zswap", 0) / entries if entries else PAGE_SIZE


Bound = Callable[["Counter", dict[str, Any], str | None], float]


def _first(steps: list[dict[str, Any]], match: tuple[tuple[str, str], ...], start: int = 0) -> int | None:
    return next((i for i in range(start, len(steps)) if all(str(steps[i].get(k)) == v for k, v in match)), None)


@dataclass(frozen=True)
class Deviation:
    """A documented, understood disagreement between a kernel and the model: a named mechanism, limited to the
    kernels, scenarios, cgroups, counters and steps where it acts, and to the difference it can cause.

    The step scope starts at the first step matching ``from_match`` (items of the step's action; or
    ``from_op``, or ``from_step``) and ends *before* the first later step matching ``to_match`` (or at the end).
    ``bound`` is the largest |model - kernel| the mechanism explains, in the counter's unit (a number, or a
    function of the kernel's step record and the cgroup); None means the mechanism changes the counter by an
    amount not bounded by the scenario (the cause text says why)."""

    id: str
    scenarios: tuple[str, ...]  # ("*",) = every scenario
    counters: tuple[str, ...]
    cause: str
    from_op: str | None = None
    from_step: int | None = None
    cgroups: tuple[str | None, ...] | None = None  # None = every cgroup and the global counters
    from_match: tuple[tuple[str, str], ...] | None = None
    to_match: tuple[tuple[str, str], ...] | None = None
    kernels: tuple[str, ...] = ("*",)
    bound: float | Bound | dict[str, float | Bound | None] | None = None  # a dict: per counter
    # the mechanism acts in the kernel's environment (the workload's page cache, I/O completion, when the
    # worker runs), so two boots of the same kernel can differ by it too: the repeatability check allows it
    varies_between_boots: bool = False
    # the part of an (otherwise model-only) mechanism that varies between boots, with its own bound: the
    # repeatability check allows it within this bound (e.g. I/O completion timing inside writeback-folio)
    between_boots: float | Bound | None = None

    def in_scope(self, kernel: str, scenario: str, steps: list[dict[str, Any]], step: int, counter: str,
                 cgroup: str | None) -> bool:
        if counter not in self.counters or ("*" not in self.scenarios and scenario not in self.scenarios):
            return False
        if "*" not in self.kernels and kernel not in self.kernels:
            return False
        if self.cgroups is not None and cgroup not in self.cgroups:
            return False
        start = 0
        if self.from_op is not None:
            first = _first(steps, (("op", self.from_op),))
            if first is None:
                return False
            start = first
        if self.from_step is not None:
            start = max(start, self.from_step)
        if self.from_match is not None:
            first = _first(steps, self.from_match, start)
            if first is None:
                return False
            start = first
        end = len(steps)
        if self.to_match is not None:
            stop = _first(steps, self.to_match, start + 1)
            end = stop if stop is not None else end
        return start <= step < end

    def limit(self, counter: Counter, kernel_rec: dict[str, Any], cgroup: str | None) -> float:
        """The largest |model - kernel| this deviation explains at this row (inf when unbounded)."""
        bound = self.bound.get(counter.name) if isinstance(self.bound, dict) else self.bound
        if bound is None:
            return float("inf")
        return float(bound(counter, kernel_rec, cgroup) if callable(bound) else bound)

    def explains(self, diff: float, counter: Counter, kernel_rec: dict[str, Any], cgroup: str | None) -> bool:
        return diff <= self.limit(counter, kernel_rec, cgroup)


def _relative(frac: float, pages: int) -> Bound:
    """``pages`` (entries at the kernel's mean compressed length for a byte counter) or ``frac`` of the
    kernel's value, whichever is larger."""

    def bound(counter: Counter, kernel_rec: dict[str, Any], cg: str | None) -> float:
        return max(pages * entry_unit(counter, kernel_rec, cg), frac * abs(counter.read(kernel_rec, cg) or 0))

    return bound


def _swapcached_bound(counter: Counter, kernel_rec: dict[str, Any], cg: str | None) -> float:
    cached = kernel_rec.get("cgroups", {}).get(cg or "", {}).get("memory.stat", {}).get("swapcached", 0)
    return cached // PAGE_SIZE + 256 if cached else 0


FOOTPRINT = (
    "the workload process itself, which the model does not have: memeater is a static binary whose page cache "
    "(71 pages) and own anon pages, stack and page tables (~50 pages) are charged to its cgroup. memory.reclaim "
    "drops the binary's file pages first (so a 32M request stores 8,128 region pages instead of 8,192: 64 "
    "fewer), and under a tight memory.max the process's own pages are reclaimed into zswap and faulted back "
    "repeatedly (zswpin 29-48, zswpout up to +243 in the selftests). It changes stores, loads, swap and pool "
    "bytes by at most 256 pages (twice the measured footprint) or 4%; it never writes anything back, so the "
    "writeback counters are not covered.")
# whether reclaim meets the written-back folio after its write completed (and frees it, counting it reclaimed
# instead of storing another page) depends on I/O completion timing, i.e. on the host's load: boots of one
# kernel at load ~1 and ~7 wrote back 1,101-1,123 (writeback_disabled_subtree, 6.12), 4,209-4,274
# (swapin_after_writeback, 6.12) and 1,064-1,484 entries (writeback_disabled_subtree, 7.2; stores 3,106-3,406)
def _written_back_bound(counter: Counter, kernel_rec: dict[str, Any], cg: str | None) -> float:
    """The entries written back so far (the cgroup's zswpwb, globally written_back_pages) plus 32: each one is
    a folio that reclaim may or may not have freed in time, shifting one store (and what follows) per folio."""
    if cg is None:
        wb = kernel_rec.get("debugfs", {}).get("written_back_pages", 0)
    else:
        wb = kernel_rec.get("cgroups", {}).get(cg, {}).get("memory.stat", {}).get("zswpwb", 0)
    return (wb + 32) * entry_unit(counter, kernel_rec, cg)


WRITEBACK_FOLIO_BETWEEN_BOOTS = _written_back_bound
WRITEBACK_FOLIO = (
    "zswap_writeback_entry() decompresses the entry into a new swap-cache folio charged to the memcg, "
    "writes it with PG_reclaim set, and reclaim frees that clean folio right after the write: it counts toward "
    "memory.reclaim's nr_reclaimed. Under memory.zswap.max each reclaimed page therefore costs one store + one "
    "writeback and the reclaim target is met after about half as many stores as in the model, whose writeback "
    "is instantaneous and never creates that folio (kernel: 512 stores + 512 writebacks per 4M reclaim in "
    "zswap_max_store_path; model: 1024 + 1024). Fewer stores also leave more of the older entries in zswap "
    "(later zswpin) instead of on disk. Unbounded: the difference grows with the request.")

_ALL_PAGES = ("zswpout", "zswpin", "swap_pages", "pswpout", "zswap_bytes")
_WB = ("zswpwb", "written_back_pages")

DEVIATIONS: tuple[Deviation, ...] = (
    # ---- background mechanisms (every scenario): a row's cause only when no scenario-specific one applies
    Deviation("process-footprint", ("*",), _ALL_PAGES, FOOTPRINT, from_op="alloc", bound=_relative(0.04, 256),
              varies_between_boots=True),
    Deviation(
        "zsmalloc-overhead", ("*",), ("pool_pages",),
        "debugfs pool_total_size counts zsmalloc's zspage pages: every object is rounded up to its size class "
        "and partly filled zspages are counted whole, so the kernel's pool is larger than the sum of the "
        "compressed lengths that the model counts (e.g. 8,128 45-byte objects: 189 pages on the kernel, 90 in "
        "the model; 8,192 307-byte objects: 650 against 614; 10,240 1,787-byte objects: within 3%). At most 160 "
        "pages or 6%.",
        bound=_relative(0.06, 160), varies_between_boots=True),
    Deviation(
        "swapcache", ("*",), ("swap_pages",),
        "a folio in the swap cache keeps its swap slot and memory.swap.current counts it: a page swapped in by "
        "a read fault stays there until the slot is reused or swap is half full (vm_swap_full()), and folios "
        "that reclaim has just stored can still be in the swap cache when the step ends (7.2 under memory.max: "
        "3.3-5.5 MB in test_zswap.c #7's control group). The model frees the slot at swap-in and has no swap "
        "cache. Bounded by the kernel's own memory.stat swapcached pages in that cgroup, plus the process "
        "footprint's 256 pages, which add up in the same counter; it explains nothing where swapcached is 0.",
        bound=_swapcached_bound, varies_between_boots=True),
    Deviation(
        "swapcache-clean-reclaim", ("*",), ("pswpout",),
        "a page swapped in from the swap device by a read fault is clean and still in the swap cache: when "
        "reclaim takes it again it is dropped without I/O (no pswpout), where the model, which freed the slot, "
        "writes it out again. zswap is not affected: zswap_load() frees the entry and dirties the folio. From "
        "the first read-back on; unbounded (up to every page read back from disk).",
        from_op="touch"),
    # ---- scenario-specific mechanisms
    *(Deviation("writeback-folio", (scenario,), _ALL_PAGES + _WB + ("pool_pages",),
                WRITEBACK_FOLIO, from_match=start, cgroups=cgroups, between_boots=WRITEBACK_FOLIO_BETWEEN_BOOTS)
      for scenario, start, cgroups in (
          ("zswap_max_store_path", (("op", "reclaim"), ("value", "4M")), None),
          ("swapin_after_writeback", (("op", "reclaim"), ("value", "64M")), None),
          ("writeback_disabled_subtree", (("op", "reclaim"), ("cgroup", "/wb_on/c"), ("value", "16M")),
           (None, "/wb_on", "/wb_on/c")),
      )),
    Deviation(
        "rejected-keeps-slot", ("writeback_disabled_subtree",), ("swap_pages",),
        "when zswap rejects a store and writeback is disabled, swap_writepage() returns AOP_WRITEPAGE_ACTIVATE: "
        "the folio is re-dirtied and activated but stays in the swap cache holding the swap slot it got from "
        "add_to_swap() (shrink_folio_list frees it only when swap is more than half full, mem_cgroup_swap_full), "
        "so memory.swap.current counts every rejected page (6164 pages vs the model's 2048 zswap entries after the "
        "16M reclaim). The model gives the slot back at once.",
        from_match=(("op", "reclaim"), ("cgroup", "/wb_off/c"), ("value", "16M")),
        cgroups=("/wb_off", "/wb_off/c", "/wb_off/rand")),
    Deviation(
        "disk-overreclaim", ("selftest_swapin_nozswap", "offline_reparent", "zswap_max_rotation"),
        ("swap_pages", "pswpout"),
        "pages rejected by zswap (zswap.max=0 or over memory.zswap.max) are written to the swap device, and "
        "reclaim counts them as reclaimed only once the virtio-blk write has completed; the charging task's or "
        "memory.reclaim's retries meanwhile write out more pages than needed, depending on I/O completion timing "
        "(pswpout during a 2048-page overage: 2176, 2177 and 2495 on three boots). The model writes exactly the "
        "pages it reclaims. At most 2,200 pages (one request's worth) per scenario.",
        from_op="alloc", to_match=(("op", "touch"),), bound=2200, varies_between_boots=True),
    Deviation(
        "footprint-shifts-writeback",
        ("selftest_zswap_writeback_enabled", "selftest_no_invasive_cgroup_shrink", "global_pool_threshold"), _WB,
        "the process footprint (process-footprint) reaches the writeback counters by changing how many entries "
        "one LRU pass has: memory.reclaim stores 64 fewer region pages on the kernel (it drops the binary's "
        "file pages first), so a pass of the referenced bits ends 64 stores earlier and the surplus stores "
        "write back. global_pool_threshold: 10,176 entries against 10,240, the 40M of rejected stores write "
        "back 89-118 entries on the kernel and none in the model, and the worker's later writeback agrees to "
        "within that offset. test_zswap.c #4 sets memory.zswap.max to half the usage read after the first pass: "
        "297,200 bytes on the kernel (a 36-page limit) against 314,368 (38 pages), so the kernel accepts ~480 "
        "stores before the limit where the model accepts 507 and writes back more (6.12: 47 against 10; 7.2: "
        "33-69; the parent counts the child's pass too). #7: the process's own pages count against "
        "memory.max=32M (2,880 against 2,914 written back). At most 128 entries.",
        from_op="alloc", bound=128, varies_between_boots=True),
    Deviation(
        "overreclaim-shifts-writeback", ("zswap_max_rotation",), ("zswpout",) + _WB,
        "disk-overreclaim moves the end of the rotation pass: the kernel's 1M requests reject more stores than "
        "they need (writes to disk in flight), so the pass of the ~4,030 referenced entries ends, and writeback "
        "starts, one or two 4M requests earlier than in the model (7.2: 271 entries written back in the first "
        "4M request against 0). The pass itself is exact on both (fact_zswap_max_rotation). At most 1,024 "
        "entries (one 4M request).",
        from_match=(("op", "reclaim"), ("value", "4M")), bound=1024, varies_between_boots=True),
    Deviation(
        "compress-retry-count", ("writeback_disabled_subtree",), ("reject_compress",),
        "with writeback disabled, incompressible pages can go nowhere and memory.reclaim keeps rescanning them "
        "until it gives up with EAGAIN: 6.12 (MGLRU) attempts to compress each of the 1024 pages ~41 times "
        "(42,368 failures), 7.2 ~69 times (70,495), the model's reclaim loop ~33 times (33,775). All three then "
        "fail with EAGAIN (compared exactly) and keep the pages; with writeback=1 6.12 and the 6.12 profile count "
        "exactly one failure per page and send the page to disk, 7.2 and its profile store it as-is. At most "
        "55% of the kernel's count. Between boots: 6.12 counted 43,355 once against 43,392 on every other boot "
        "(at most 1%).",
        from_match=(("op", "reclaim"), ("cgroup", "/wb_off/rand")), bound=_relative(0.55, 0),
        between_boots=_relative(0.01, 16)),
    Deviation(
        "compress-retry-count", ("pool_hysteresis",), ("pool_limit_hit",),
        "the same rescanning with the pool full instead of incompressible pages: writeback is disabled, so "
        "every page of the 4M request that finds the pool at its limit stays in memory and memory.reclaim "
        "rescans it until EAGAIN, each attempt counting one pool_limit_hit: 6.12 ~58 attempts per page "
        "(59,105-59,521), 7.2 ~76 (77,433-77,509), the model ~33 (33,775). The hysteresis itself is exact "
        "(fact_pool_hysteresis: the later request stores nothing and hits nothing). At most 60% of the "
        "kernel's count.",
        from_match=(("op", "reclaim"), ("value", "4M")), bound=_relative(0.6, 0),
        between_boots=_relative(0.01, 16)),
    Deviation(
        "shrink-worker-scheduling", ("global_pool_limit",),
        ("zswpout", "zswpin", "zswap_bytes", "swap_pages", "pswpout", "pool_pages", "pool_limit_hit") + _WB,
        "shrink_worker runs on an unbound workqueue concurrently with the reclaiming task: it is queued at every "
        "store rejected at the global limit and runs whenever the reclaimer yields, so on 6.12 it gets past "
        "the referenced bits (~2.8 LRU entries rotated or written per rejected store, measured) and writes back "
        "down to the acceptance threshold. The model runs queued work after each memory.reclaim batch "
        "(32 pages) and at the end of each top-level operation: 64 worker runs per 8M request, each "
        "ending after MAX_RECLAIM_RETRIES=16 rotations of referenced entries, i.e. 1,024 of the 10,240 "
        "referenced entries per request, so it writes nothing back here. global_pool_threshold checks the same "
        "worker with the referenced bits cleared first, where the schedule does not matter.",
        from_match=(("op", "param"), ("name", "max_pool_percent"), ("value", "1")), varies_between_boots=True),
    Deviation(
        "shrink-worker-scheduling", ("global_pool_threshold",),
        _ALL_PAGES + _WB + ("pool_pages", "pool_limit_hit"),
        "the same asynchronous worker, in the one step where it runs concurrently: the first store rejected at "
        "the global limit queues shrink_worker and the 1M request returns while the kernel's worker is still "
        "writing back (200-400 entries done), every other store of the request rejected to disk; the model runs "
        "the worker synchronously after the first 32-page batch, down to the threshold, and accepts the rest of "
        "the request's stores. After the sleep the two agree (written back within footprint-shifts-writeback).",
        from_match=(("op", "reclaim"), ("value", "1M")), to_match=(("op", "sleep"),), varies_between_boots=True),
    Deviation(
        "shrink-worker-scheduling", ("global_pool_threshold",), ("pool_limit_hit",),
        "the stores rejected at the limit while the worker ran concurrently (above) stay counted: "
        "pool_limit_hit is cumulative, so its difference lasts to the end of the scenario.",
        from_match=(("op", "reclaim"), ("value", "1M")), varies_between_boots=True),
    Deviation(
        "writeback-folio", ("global_pool_threshold",), _ALL_PAGES + ("pool_pages", "pool_limit_hit"),
        WRITEBACK_FOLIO.split(". Unbounded")[0] + ". Here: after the worker, the kernel's next 1M request is met "
        "by freeing the clean swap-cache folios its writeback left (no store at all), while the model stores "
        "256 pages, and the model's pool ends ~100 pages above the threshold (the synchronous worker finished "
        "before the rest of the first request's stores were accepted): at most 640 pages.",
        from_match=(("op", "sleep"),), bound=_relative(0.0, 640)),
    Deviation(
        "shrinker-open", ("dynamic_shrinker",), _ALL_PAGES + _WB + ("pool_pages",),
        "OPEN, NOT VALIDATED: the model's dynamic shrinker (zswap_shrinker_count/scan with the nr_zswap_protected "
        "decay) disagrees with both kernels: during the second 16M memory.reclaim it writes back 16,379 entries "
        "where the kernel writes back 5,300-6,200 of 11,700-12,000, and under memory.max=16M it stores 23,651 "
        "and leaves 3,171 pool pages where the kernel writes back nearly everything (24,400-24,600, pool 28-84 "
        "pages). Unbounded until the shrinker model is fixed; docs/validation.md lists it under not validated. "
        "Part of the cause is writeback-folio: on 7.2 the second 16M request (4,096 pages) stores only ~2,760 "
        "pages while the shrinker writes back 1,920, i.e. reclaim frees the written-back folios and counts them, "
        "which the model, without that folio, cannot do. Between boots (I/O timing, as writeback-folio): 7.2 "
        "stored 11,696-12,404 by the third request at host loads ~1 to ~7.",
        from_match=(("op", "reclaim"),), between_boots=WRITEBACK_FOLIO_BETWEEN_BOOTS),
    Deviation(
        "shrink-worker-scheduling", ("offline_reparent",),
        ("pool_limit_hit", "pswpout", "zswpout", "zswpin", "zswap_bytes", "swap_pages") + _WB,
        "the asynchronous worker once more: during the 48M request under max_pool_percent=1 the kernel's worker "
        "keeps the pool under the limit between the reclaimer's scheduling points, so far fewer stores hit the "
        "limit (552-1,076) than in the model (6,260), whose worker runs after each 32-page batch. How far the "
        "worker gets before the request returns depends on scheduling: 6.12 wrote back 1,482-1,488 entries "
        "(model 1,566), 7.2 6 to 1,203 across four boots; every entry written back is a pswpout, and the "
        "worker may still be writing when the pages are read back (6.12: pswpout 14,215-15,378 at the read-back "
        "over five boots). So does how many of the request's stores are accepted: 6.12 stored 6,094-6,987 pages "
        "in /off by the end of the request at host loads ~1 to ~7 (the rejected ones go to disk, and are read "
        "back from there). Unbounded.",
        from_match=(("op", "param"), ("name", "max_pool_percent"), ("value", "1")), varies_between_boots=True),
    Deviation(
        "swap-readahead", ("reclaim_push",), ("zswpin", "zswap_bytes"),
        "the swap-in path reads ahead neighbouring swap slots (swap_vma_readahead, page-cluster 3); slots of the "
        "sibling cgroup interleaved with the faulting one are loaded from zswap too and their zswpin is charged "
        "to the sibling (c2: 361 while c1's pages are read), whose entries leave zswap. The model has no "
        "readahead; the parent's zswpin total agrees within 8%.",
        from_op="touch", cgroups=("/parent", "/parent/c2"), bound=_relative(0.16, 1024)),
    Deviation(
        "reclaim-split", ("reclaim_push",), ("zswpout", "zswpin", "swap_pages", "zswap_bytes"),
        "memory.reclaim on the parent takes the 12,800 pages from its two children in a different split than "
        "the model (6.12: 7,360 + 5,440; model 6,959 + 5,841; the parent's total is exact): MGLRU reclaims each "
        "child's oldest generation in turn in batches of up to SWAP_CLUSTER_MAX per memcg per round, with the "
        "order depending on each child's generation state; the model visits the children in mem_cgroup_iter "
        "order with the 6.12 batch. At most 8% of a child's value.",
        from_match=(("op", "reclaim"), ("value", "50M")), cgroups=("/parent/c1", "/parent/c2"),
        bound=_relative(0.08, 256)),
)


@dataclass
class Row:
    scenario: str
    step: int
    action: str
    cgroup: str | None
    counter: str
    kernel: int | None  # the first recorded boot
    model: int | None
    rel_diff: float | None
    tolerance: str
    status: str  # "ok" | "dev:<id>" | "FAIL"
    kernel_lo: int | None = None  # the envelope over the recorded boots
    kernel_hi: int | None = None
    tol: float = 0.0
    excess: float = 0.0  # how far outside [lo - tol, hi + tol] the model is

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def describe_action(step: dict[str, Any]) -> str:
    op = step.get("op", "?")
    if op in ("write", "reclaim"):
        where = step.get("cgroup", "")
        what = step.get("file", "memory.reclaim")
        val = step.get("value", "<" + json.dumps(step.get("value_from")) + ">")
        return f"{what}={val} @{where}"
    if op == "param":
        return f"{step.get('name')}={step.get('value')}"
    if op == "alloc":
        return f"alloc {step.get('pages')}p {step.get('pattern')} ({step.get('proc')})"
    if op in ("touch", "free", "kill", "spawn"):
        return f"{op} {step.get('proc')}" + (f" {step['region']}" if "region" in step else "")
    if op == "sleep":
        return f"sleep {step.get('seconds')}s"
    if op == "mkdir":
        return f"mkdir {step.get('cgroup')}"
    return op


def rel_diff(k: int | None, m: int | None) -> float | None:
    if k is None or m is None:
        return None
    if k == m:
        return 0.0
    return abs(m - k) / max(abs(k), 1)


Records = list[dict[str, Any]]


def narrowest(found: list[Deviation], counter: Counter, kernel_rec: dict[str, Any],
              cg: str | None) -> list[Deviation]:
    """The row's cause among the deviations that explain it: a mechanism named for the scenario before a
    background one, then the one with the smallest bound at this row (an unbounded one last). More than one
    is returned only on a tie, which the tests forbid."""
    def key(d: Deviation) -> tuple[int, float]:
        return ("*" in d.scenarios, d.limit(counter, kernel_rec, cg))

    best = min(key(d) for d in found)
    return [d for d in found if key(d) == best]


def _steps(records: Records) -> Records:
    return [r for r in records if r.get("type") == "step"]


def scenario_spread(boots: list[Records]) -> dict[str, float]:
    """Per counter: the largest difference between two boots of the kernel at the same step and cgroup, over
    the whole scenario (0 with a single boot)."""
    per_boot = [_steps(b) for b in boots]
    out: dict[str, float] = {c.name: 0.0 for c in COUNTERS}
    for recs in zip(*per_boot, strict=True):
        for c in COUNTERS:
            for cg in ([None] if c.scope == "global" else list(recs[0].get("cgroups", {}))):
                vals = [v for v in (c.read(r, cg) for r in recs) if v is not None]
                if len(vals) > 1:
                    out[c.name] = max(out[c.name], max(vals) - min(vals))
    return out


def compare(scenario: str, kernel: Records | list[Records], model: Records,
            deviations: Iterable[Deviation] = (), kernel_name: str = "*", widen: str = "row") -> list[Row]:
    """Per step x cgroup x counter rows for one scenario. ``kernel`` is one run's records or a list of boots
    (records as written by guest.py; model records by model.py). ``deviations`` default to none: pass
    :data:`DEVIATIONS` to label the explained rows.

    The envelope [lowest, highest boot] is widened by ``widen``: "row" = the row's own boot-to-boot range (how
    much the kernel varies at that step: the model comparison), "scenario" = the largest range of the counter
    anywhere in the scenario (a looser bound for a *new boot* of the kernel, whose variation at a step the few
    recorded boots may not have shown: the repeatability check). Never less than the family's floor."""
    if widen not in ("row", "scenario"):
        raise ValueError(f"widen must be 'row' or 'scenario', not {widen!r}")
    boots: list[Records] = kernel if kernel and isinstance(kernel[0], list) else [kernel]  # type: ignore[list-item]
    kboots = [_steps(b) for b in boots]
    ms = _steps(model)
    for b in kboots:
        if len(b) != len(ms):
            raise ValueError(f"{scenario}: kernel has {len(b)} step records, model {len(ms)}")
    spread = scenario_spread(boots)
    steps = [r["action"] for r in kboots[0]]
    devs = list(deviations)
    rows: list[Row] = []
    for j, mr in enumerate(ms):
        krs = [b[j] for b in kboots]
        kr = krs[0]
        i = kr["step"]
        cgroups = list(kr.get("cgroups", {}))
        for c in COUNTERS:
            targets: list[str | None] = [None] if c.scope == "global" else list(cgroups)
            for cg in targets:
                kvals = [v for v in (c.read(r, cg) for r in krs) if v is not None]
                kv, mv = c.read(kr, cg), c.read(mr, cg)
                if not kvals and mv is None:
                    continue
                lo, hi = (min(kvals), max(kvals)) if kvals else (None, None)
                width = (hi - lo if kvals else 0) if widen == "row" else spread[c.name]  # type: ignore[operator]
                tol = 0.0 if c.exact else max(width, floor_of(c, kr, cg))
                if lo is None or hi is None or mv is None:
                    excess = float("inf")
                else:
                    excess = max(lo - tol - mv, mv - hi - tol, 0.0)
                status = "ok"
                if excess > 0:
                    diff = abs(mv - kv) if mv is not None and kv is not None else float("inf")
                    found = [d for d in devs if d.in_scope(kernel_name, scenario, steps, i, c.name, cg)
                             and d.explains(diff, c, kr, cg)]
                    status = "dev:" + "+".join(dict.fromkeys(d.id for d in narrowest(found, c, kr, cg))) \
                        if found else "FAIL"
                env = "" if lo == hi else f" over {lo:,}..{hi:,}" if lo is not None else ""
                tol_s = "exact" if c.exact else f"±{tol:,.0f}{env}"
                rows.append(Row(scenario, i, describe_action(kr["action"]), cg, c.name, kv, mv, rel_diff(kv, mv),
                                tol_s, status, lo, hi, tol, excess))
    return rows


def changed_rows(rows: list[Row]) -> list[Row]:
    """Rows whose kernel or model value changed since the previous step (what a step did), plus failures."""
    last: dict[tuple[str | None, str], tuple[int | None, int | None]] = {}
    out = []
    for r in rows:
        key = (r.cgroup, r.counter)
        prev = last.get(key, (0, 0) if r.counter not in ("rc", "bad") else (None, None))
        if r.counter in ("rc", "bad"):
            if r.kernel not in (0, None) or r.model not in (0, None) or r.status != "ok":
                out.append(r)
        elif (r.kernel, r.model) != prev or r.status == "FAIL":
            out.append(r)
        last[key] = (r.kernel, r.model)
    return out


@dataclass
class Summary:
    scenario: str
    rows: int
    ok: int
    deviations: dict[str, int] = field(default_factory=dict)
    failures: list[Row] = field(default_factory=list)
    tolerance: dict[str, float] = field(default_factory=dict)  # counter family -> the widest tolerance used


def summarize(scenario: str, rows: list[Row]) -> Summary:
    s = Summary(scenario, len(rows), sum(r.status == "ok" for r in rows))
    for r in rows:
        fam = COUNTER_BY_NAME[r.counter].family
        if fam != "exact":
            s.tolerance[fam] = max(s.tolerance.get(fam, 0.0), r.tol)
        if r.status.startswith("dev:"):
            s.deviations[r.status[4:]] = s.deviations.get(r.status[4:], 0) + 1
        elif r.status == "FAIL":
            s.failures.append(r)
    return s


def _fmt(v: int | None) -> str:
    return "–" if v is None else f"{v:,}"


def _describe_bound(bound: float | Bound | dict[str, Any] | None) -> str:
    if bound is None:
        return "unbounded"
    if isinstance(bound, dict):
        return "; ".join(f"{k}: {_describe_bound(v)}" for k, v in bound.items())
    if callable(bound):
        doc = (bound.__doc__ or "").split(":")[0].strip() if bound.__name__ != "bound" else ""
        return " ".join(doc.split()) or "see the cause"
    return f"{bound:,.0f}"


def _describe_scope(d: Deviation) -> str:
    parts = []
    if d.from_op:
        parts.append(f"from the first `{d.from_op}`")
    if d.from_step is not None:
        parts.append(f"from step {d.from_step}")
    if d.from_match:
        parts.append("from the first step with " + ", ".join(f"{k}={v}" for k, v in d.from_match))
    if d.to_match:
        parts.append("until the next step with " + ", ".join(f"{k}={v}" for k, v in d.to_match))
    if d.cgroups is not None:
        parts.append("cgroups " + ", ".join(c or "(global)" for c in d.cgroups))
    return "; ".join(parts) or "every step"


def between_boot_deviations(deviations: Iterable[Deviation] = DEVIATIONS) -> list[Deviation]:
    """What may separate two boots of one kernel (the repeatability check): the mechanisms that act in the
    kernel's environment, and the between-boots part of the others, each within its bound."""
    out = [d for d in deviations if d.varies_between_boots]
    out += [replace(d, bound=d.between_boots, varies_between_boots=True) for d in deviations
            if d.between_boots is not None and not d.varies_between_boots]
    return out


def render_deviations(deviations: Iterable[Deviation] = DEVIATIONS) -> str:
    """The deviation list of docs/validation.md, generated from :data:`DEVIATIONS` (one source)."""
    out = []
    for d in deviations:
        kind = "background" if "*" in d.scenarios else ", ".join(d.scenarios)
        kern = "both kernels" if "*" in d.kernels else ", ".join(d.kernels)
        between = f"; between boots: {_describe_bound(d.between_boots)}" if d.between_boots is not None else ""
        out.append(f"- **{d.id}** ({kind}; {kern}; {', '.join(d.counters)}; {_describe_scope(d)}; bound: "
                   f"{_describe_bound(d.bound)}{between}): {d.cause}")
    return "\n".join(out) + "\n"


def render_summary(results: dict[str, list[Row]]) -> str:
    """One line per scenario: how many values were compared, how many agreed within the tolerance, which
    deviations explained the rest, and how tight the tolerance of each counter family was."""
    fams = ("stores", "loads", "writeback", "swap", "pool", "bytes")
    heads = ("stores", "loads", "writeback", "swap", "pool pages", "zswap KiB")
    out = ["| scenario | values | within tolerance | deviations | unexplained | "
           + " | ".join(f"± {f}" for f in heads) + " |",
           "|---|---:|---:|---|---:|" + "---:|" * len(fams)]
    for name, rows in results.items():
        s = summarize(name, rows)
        devs = ", ".join(f"{k} ×{v}" for k, v in sorted(s.deviations.items())) or "–"
        tols = " | ".join("–" if f not in s.tolerance else f"{s.tolerance[f] / (1024 if f == 'bytes' else 1):,.0f}"
                          for f in fams)
        out.append(f"| {name} | {s.rows:,} | {s.ok:,} | {devs} | {len(s.failures)} | {tols} |")
    return "\n".join(out) + "\n"


def render_markdown(results: dict[str, list[Row]]) -> str:
    """The detailed comparison tables (only rows where a step changed something)."""
    out: list[str] = []
    for name, rows in results.items():
        s = summarize(name, rows)
        devs = ", ".join(f"{k} ×{v}" for k, v in sorted(s.deviations.items())) or "none"
        out.append(f"### {name}\n")
        out.append(f"{s.rows} compared values: {s.ok} within tolerance, documented deviations: {devs}, "
                   f"unexplained: {len(s.failures)}.\n")
        out.append("| step | action | cgroup | counter | kernel (boots) | model | rel. diff | tolerance | status |")
        out.append("|---:|---|---|---|---:|---:|---:|---|---|")
        for r in changed_rows(rows):
            rd = "–" if r.rel_diff is None else f"{r.rel_diff:.1%}"
            k = _fmt(r.kernel_lo) if r.kernel_lo == r.kernel_hi else f"{_fmt(r.kernel_lo)}..{_fmt(r.kernel_hi)}"
            out.append(f"| {r.step} | {r.action} | {r.cgroup or '(global)'} | {r.counter} | {k} | "
                       f"{_fmt(r.model)} | {rd} | {r.tolerance} | {r.status} |")
        out.append("")
    return "\n".join(out)


def load_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
