"""Scenarios run both in the VM (real Linux 6.12) and on the model, as plain data.

A scenario is a dict ``{"name", "description", "params"?, "snapshot_cgroups"?, "steps": [...]}``; each step is a
dict with an ``op`` (the operations and their fields are listed in ``docs/validation.md``, "Scenario steps").
Sizes follow the selftests: ``PAGES_PER_MB = 256`` 4 KiB pages. Everything is single-process-per-cgroup and
free of timing (no hot set, one vCPU), which is what made the kernel's counters repeat exactly.
"""

from __future__ import annotations

import copy
from typing import Any

PAGE_SIZE = 4096
PAGES_PER_MB = 256


def mb(n: int) -> int:
    return n * PAGES_PER_MB


def _mkdirs(*paths: str) -> list[dict[str, Any]]:
    return [{"op": "mkdir", "cgroup": p} for p in paths]


def selftest_zswap_usage() -> dict[str, Any]:
    """test_zswap.c #1 test_zswap_usage: memory.max=1M, 4 MB one byte per page -> zswpout grows."""
    cg = "/no_shrink_test"
    return {"name": "selftest_zswap_usage", "description": selftest_zswap_usage.__doc__,
            "steps": _mkdirs(cg) + [
                {"op": "write", "cgroup": cg, "file": "memory.max", "value": "1M"},
                {"op": "spawn", "proc": "p", "cgroup": cg},
                {"op": "alloc", "proc": "p", "region": "m", "pages": mb(4), "pattern": "byte"},
                {"op": "kill", "proc": "p"},
            ]}


def selftest_swapin_nozswap() -> dict[str, Any]:
    """test_zswap.c #2 test_swapin_nozswap: memory.max=24M, zswap.max=0, 32 MB written then read back:
    swap.peak >= 8 MB and zswpout == 0."""
    cg = "/no_zswap_test"
    return {"name": "selftest_swapin_nozswap", "description": selftest_swapin_nozswap.__doc__,
            "steps": _mkdirs(cg) + [
                {"op": "write", "cgroup": cg, "file": "memory.max", "value": "24M"},
                {"op": "write", "cgroup": cg, "file": "memory.zswap.max", "value": "0"},
                {"op": "spawn", "proc": "p", "cgroup": cg},
                {"op": "alloc", "proc": "p", "region": "m", "pages": mb(32), "pattern": "byte"},
                {"op": "touch", "proc": "p", "region": "m"},
                {"op": "kill", "proc": "p"},
            ]}


def selftest_zswapin() -> dict[str, Any]:
    """test_zswap.c #3 test_zswapin: memory.max=8M, zswap.max=max, 32 MB written then read back:
    zswpin >= 24 MB worth of pages."""
    cg = "/zswapin_test"
    return {"name": "selftest_zswapin", "description": selftest_zswapin.__doc__,
            "steps": _mkdirs(cg) + [
                {"op": "write", "cgroup": cg, "file": "memory.max", "value": "8M"},
                {"op": "write", "cgroup": cg, "file": "memory.zswap.max", "value": "max"},
                {"op": "spawn", "proc": "p", "cgroup": cg},
                {"op": "alloc", "proc": "p", "region": "m", "pages": mb(32), "pattern": "byte"},
                {"op": "touch", "proc": "p", "region": "m"},
                {"op": "kill", "proc": "p"},
            ]}


def _attempt_writeback(cg: str, proc: str) -> list[dict[str, Any]]:
    """test_zswap.c attempt_writeback(): 1024 'half' pages, reclaim them all into zswap, read them back,
    zswap.max = usage/2, reclaim all again."""
    size = str(1024 * PAGE_SIZE)
    return [
        {"op": "spawn", "proc": proc, "cgroup": cg},
        {"op": "alloc", "proc": proc, "region": "m", "pages": 1024, "pattern": "half"},
        {"op": "reclaim", "cgroup": cg, "value": size},
        {"op": "read", "cgroup": cg, "file": "memory.zswap.current", "var": "usage"},
        {"op": "touch", "proc": proc, "region": "m"},
        {"op": "write", "cgroup": cg, "file": "memory.zswap.max", "value_from": {"var": "usage", "div": 2},
         "note": "usage/2, usage read before the pages were read back"},
        {"op": "reclaim", "cgroup": cg, "value": size},
        {"op": "touch", "proc": proc, "region": "m"},
        {"op": "kill", "proc": proc},
    ]


def selftest_zswap_writeback(enabled: bool) -> dict[str, Any]:
    """test_zswap.c #4/#5 test_zswap_writeback_{enabled,disabled}: attempt_writeback in a cgroup with
    memory.zswap.writeback=wb, then again in a child with writeback=1 (the parent's setting must win)."""
    wb = 1 if enabled else 0
    cg, child = "/zswap_writeback_test", "/zswap_writeback_test/zswap_writeback_test_child"
    note = "the zswap.max written in the first half is ~usage/2 of the *first* pass"
    return {"name": f"selftest_zswap_writeback_{'enabled' if enabled else 'disabled'}",
            "description": selftest_zswap_writeback.__doc__,
            "steps": _mkdirs(cg) + [
                {"op": "write", "cgroup": cg, "file": "memory.zswap.writeback", "value": str(wb)},
                *_attempt_writeback(cg, "p"),
                {"op": "write", "cgroup": cg, "file": "memory.zswap.max", "value": "max", "note": note},
                {"op": "mkdir", "cgroup": child},
                {"op": "write", "cgroup": child, "file": "memory.zswap.writeback", "value": "1"},
                *_attempt_writeback(child, "c"),
            ]}


def selftest_no_invasive_cgroup_shrink() -> dict[str, Any]:
    """test_zswap.c #7 test_no_invasive_cgroup_shrink: a cgroup over its memory.zswap.max writes back only its
    own entries (zswpwb > 0 there, == 0 in the control group)."""
    wb, ctl = "/per_memcg_wb_test1", "/per_memcg_wb_test2"
    return {"name": "selftest_no_invasive_cgroup_shrink", "description": selftest_no_invasive_cgroup_shrink.__doc__,
            "steps": _mkdirs(wb, ctl) + [
                {"op": "write", "cgroup": wb, "file": "memory.max", "value": "1M"},
                {"op": "write", "cgroup": wb, "file": "memory.max", "value": "32M"},
                {"op": "write", "cgroup": wb, "file": "memory.zswap.max", "value": "64K"},
                {"op": "write", "cgroup": ctl, "file": "memory.max", "value": "32M"},
                {"op": "spawn", "proc": "control", "cgroup": ctl},
                {"op": "alloc", "proc": "control", "region": "m", "pages": mb(64), "pattern": "byte"},
                {"op": "spawn", "proc": "wb", "cgroup": wb},
                {"op": "alloc", "proc": "wb", "region": "m", "pages": mb(64), "pattern": "byte"},
                {"op": "kill", "proc": "wb"},
                {"op": "kill", "proc": "control"},
            ]}


def reclaim_push() -> dict[str, Any]:
    """memory.reclaim on a parent pushes its children's cold anon memory into zswap; probes of the keys the
    6.12 parser accepts and rejects (zswap_writeback_only, swappiness=0/200/max)."""
    p, c1, c2 = "/parent", "/parent/c1", "/parent/c2"
    return {"name": "reclaim_push", "description": reclaim_push.__doc__,
            "steps": _mkdirs(p, c1, c2) + [
                {"op": "spawn", "proc": "p1", "cgroup": c1},
                {"op": "spawn", "proc": "p2", "cgroup": c2},
                {"op": "alloc", "proc": "p1", "region": "m", "pages": mb(96), "pattern": "ratio3", "seed": 1},
                {"op": "alloc", "proc": "p2", "region": "m", "pages": mb(96), "pattern": "ratio3", "seed": 2},
                {"op": "reclaim", "cgroup": p, "value": "50M"},
                {"op": "reclaim", "cgroup": c1, "value": "10M zswap_writeback_only"},
                {"op": "reclaim", "cgroup": c1, "value": "10M swappiness=max"},
                {"op": "reclaim", "cgroup": c1, "value": "10M swappiness=0"},
                {"op": "reclaim", "cgroup": c1, "value": "10M swappiness=200"},
                {"op": "touch", "proc": "p1", "region": "m"},
                {"op": "touch", "proc": "p2", "region": "m"},
            ]}


def _zswap_max_lowered(cg: str, alloc_mb: int, seed: int, stored: str) -> list[dict[str, Any]]:
    """A process in ``cg`` allocates ``alloc_mb`` of ratio3 pages, ``stored`` of them are pushed into zswap
    (all referenced, freshly stored), then memory.zswap.max is lowered to 1M, far below the usage."""
    return _mkdirs(cg) + [
        {"op": "spawn", "proc": "p", "cgroup": cg},
        {"op": "alloc", "proc": "p", "region": "m", "pages": mb(alloc_mb), "pattern": "ratio3", "seed": seed},
        {"op": "reclaim", "cgroup": cg, "value": stored},
        {"op": "write", "cgroup": cg, "file": "memory.zswap.max", "value": "1M"},
    ]


def zswap_max_store_path() -> dict[str, Any]:
    """memory.zswap.max lowered far below usage: the pool does not shrink; each new store first clears one
    referenced bit (store rejected -> the page goes to disk); writeback starts only after every existing entry
    has been passed once, then each store writes one entry back and is accepted."""
    c = "/zmax"
    steps = _zswap_max_lowered(c, 64, 3, "16M")
    steps += [{"op": "reclaim", "cgroup": c, "value": "4M"} for _ in range(6)]
    steps += [{"op": "touch", "proc": "p", "region": "m"}, {"op": "kill", "proc": "p"}]
    return {"name": "zswap_max_store_path", "description": zswap_max_store_path.__doc__, "steps": steps}


def writeback_disabled_subtree() -> dict[str, Any]:
    """memory.zswap.writeback=0 on a parent disables writeback for its whole subtree (a child's 1 does not
    override it): over zswap.max, stores are rejected and the pages stay in memory (memory.reclaim -> EAGAIN);
    incompressible pages are rejected by 6.12's zswap (reject_compress_poor) and stay in memory under
    writeback=0 but go to the swap device under writeback=1; a sibling subtree with writeback=1 writes back."""
    off, on = "/wb_off", "/wb_on"
    steps = _mkdirs(off, f"{off}/c", f"{off}/rand", on, f"{on}/c", f"{on}/rand") + [
        {"op": "write", "cgroup": off, "file": "memory.zswap.writeback", "value": "0"},
        {"op": "write", "cgroup": f"{off}/c", "file": "memory.zswap.writeback", "value": "1"},
    ]
    for top, tag in ((off, "off"), (on, "on")):
        cg, rand = f"{top}/c", f"{top}/rand"
        steps += [
            {"op": "spawn", "proc": f"p{tag}", "cgroup": cg},
            {"op": "alloc", "proc": f"p{tag}", "region": "m", "pages": mb(8), "pattern": "ratio3", "seed": 5},
            {"op": "reclaim", "cgroup": cg, "value": "8M"},
            {"op": "write", "cgroup": cg, "file": "memory.zswap.max", "value": "1M"},
            {"op": "alloc", "proc": f"p{tag}", "region": "n", "pages": mb(16), "pattern": "ratio3", "seed": 6},
            {"op": "reclaim", "cgroup": cg, "value": "16M"},
            {"op": "touch", "proc": f"p{tag}", "region": "m"},
            {"op": "touch", "proc": f"p{tag}", "region": "n"},
            {"op": "spawn", "proc": f"r{tag}", "cgroup": rand},
            {"op": "alloc", "proc": f"r{tag}", "region": "r", "pages": mb(4), "pattern": "random", "seed": 7},
            {"op": "reclaim", "cgroup": rand, "value": "4M"},
            {"op": "touch", "proc": f"r{tag}", "region": "r"},
        ]
    return {"name": "writeback_disabled_subtree", "description": writeback_disabled_subtree.__doc__,
            "steps": steps}


def global_pool_limit() -> dict[str, Any]:
    """max_pool_percent lowered below the pool size: stores hit the global limit (pool_limit_hit), are rejected
    and queue shrink_worker, which writes entries back (second chance: referenced entries are rotated first)."""
    c = "/pool"
    steps = _mkdirs(c) + [
        {"op": "spawn", "proc": "p", "cgroup": c},
        {"op": "alloc", "proc": "p", "region": "m", "pages": mb(96), "pattern": "ratio3", "seed": 9},
        {"op": "reclaim", "cgroup": c, "value": "40M"},
        {"op": "param", "name": "max_pool_percent", "value": "1"},
    ]
    for _ in range(4):
        steps += [{"op": "reclaim", "cgroup": c, "value": "8M"}, {"op": "sleep", "seconds": 0.5}]
    steps += [{"op": "param", "name": "max_pool_percent", "value": "20"},
              {"op": "touch", "proc": "p", "region": "m"}, {"op": "kill", "proc": "p"}]
    return {"name": "global_pool_limit", "description": global_pool_limit.__doc__, "steps": steps}


def swapin_after_writeback() -> dict[str, Any]:
    """Pages written back from zswap to disk (and pages rejected to disk) are read back intact: every page of
    every region is verified (bad == 0), zswpin + pswpin account for the faults."""
    c = "/swapin"
    return {"name": "swapin_after_writeback", "description": swapin_after_writeback.__doc__,
            "steps": _mkdirs(c) + [
                {"op": "spawn", "proc": "p", "cgroup": c},
                {"op": "alloc", "proc": "p", "region": "a", "pages": mb(32), "pattern": "ratio3", "seed": 11},
                {"op": "reclaim", "cgroup": c, "value": "32M"},
                {"op": "write", "cgroup": c, "file": "memory.zswap.max", "value": "2M"},
                {"op": "alloc", "proc": "p", "region": "b", "pages": mb(64), "pattern": "ratio2", "seed": 12},
                {"op": "reclaim", "cgroup": c, "value": "64M"},
                {"op": "touch", "proc": "p", "region": "a"},
                {"op": "touch", "proc": "p", "region": "b"},
                {"op": "kill", "proc": "p"},
            ]}


def calibration() -> dict[str, Any]:
    """Compressed length per workload pattern (lzo on this kernel): 8192 pages of each pattern pushed into
    zswap in its own cgroup; memory.zswap.current / zswapped pages = the mean compressed length (the few pages
    of the workload process itself that are stored too change the mean by < 1 byte at this size)."""
    steps: list[dict[str, Any]] = []
    for pat in ("byte", "half", "ratio2", "ratio3"):
        cg = f"/cal_{pat}"
        steps += _mkdirs(cg) + [
            {"op": "spawn", "proc": pat, "cgroup": cg},
            {"op": "alloc", "proc": pat, "region": "m", "pages": mb(32), "pattern": pat, "seed": 21},
            {"op": "reclaim", "cgroup": cg, "value": "32M"},
        ]
    return {"name": "calibration", "description": calibration.__doc__, "steps": steps}


def global_pool_threshold() -> dict[str, Any]:
    """The global pool limit drives shrink_worker down to the acceptance threshold. First the entries lose
    their referenced bit: with memory.zswap.max far below usage every store makes shrink_memcg() pass one
    entry and is rejected (the page goes to disk), and 40M of stores pass each of the ~10k entries once. Then,
    with zswap.max lifted, accept_threshold_percent=50 and max_pool_percent=1 (the pool is ~1.8% of RAM), the
    first store is rejected at the global limit and queues shrink_worker, which writes the unreferenced
    entries back until the pool is at or below the threshold. Checkable end state: pool_total_size <= 50% of
    1% of RAM, and written_back_pages covers the excess (pool before - threshold, in entries)."""
    c = "/poolthr"
    steps = _zswap_max_lowered(c, 96, 41, "40M") + [
        {"op": "reclaim", "cgroup": c, "value": "40M"},
        {"op": "write", "cgroup": c, "file": "memory.zswap.max", "value": "max"},
        {"op": "param", "name": "accept_threshold_percent", "value": "50"},
        {"op": "param", "name": "max_pool_percent", "value": "1"},
        {"op": "reclaim", "cgroup": c, "value": "1M"},
        {"op": "sleep", "seconds": 6},  # the worker writes ~2,500 entries/s under TCG: let it finish
        {"op": "reclaim", "cgroup": c, "value": "1M"},
        {"op": "sleep", "seconds": 6},
        {"op": "param", "name": "max_pool_percent", "value": "20"},
        {"op": "param", "name": "accept_threshold_percent", "value": "90"},
        {"op": "touch", "proc": "p", "region": "m"},
        {"op": "kill", "proc": "p"},
    ]
    return {"name": "global_pool_threshold", "description": global_pool_threshold.__doc__, "steps": steps}


def dynamic_shrinker() -> dict[str, Any]:
    """zswap's dynamic shrinker (shrinker_enabled=Y, zswap_shrinker_count/scan) writes back cold entries
    while memory.reclaim pushes memory into zswap, and again when memory.max is lowered under the cgroup's
    usage; protected entries (nr_zswap_protected) are skipped; every page reads back intact."""
    c = "/shrink"
    return {"name": "dynamic_shrinker", "description": dynamic_shrinker.__doc__,
            "steps": _mkdirs(c) + [
                {"op": "param", "name": "shrinker_enabled", "value": "Y"},
                {"op": "spawn", "proc": "p", "cgroup": c},
                {"op": "alloc", "proc": "p", "region": "m", "pages": mb(64), "pattern": "ratio3", "seed": 51},
                {"op": "reclaim", "cgroup": c, "value": "32M"},
                {"op": "reclaim", "cgroup": c, "value": "16M"},
                {"op": "reclaim", "cgroup": c, "value": "16M"},
                {"op": "alloc", "proc": "p", "region": "n", "pages": mb(32), "pattern": "ratio3", "seed": 52},
                {"op": "write", "cgroup": c, "file": "memory.max", "value": "16M"},
                {"op": "write", "cgroup": c, "file": "memory.max", "value": "8M"},
                {"op": "write", "cgroup": c, "file": "memory.max", "value": "max"},
                {"op": "touch", "proc": "p", "region": "m"},
                {"op": "touch", "proc": "p", "region": "n"},
                {"op": "kill", "proc": "p"},
                {"op": "param", "name": "shrinker_enabled", "value": "N"},
            ]}


def offline_reparent() -> dict[str, Any]:
    """rmdir of a cgroup whose pages are in zswap (its process moved to a sibling first, so the charges stay):
    the entries are reparented to the parent (its list_lru and memory.zswap.current keep them), a later
    memory.zswap.max on the parent writes back from the parent's LRU (zswpwb there), the global shrink_worker's
    cursor moves past the offline memcg, and every page still reads back intact."""
    p, a, b = "/off", "/off/a", "/off/b"
    return {"name": "offline_reparent", "description": offline_reparent.__doc__,
            "steps": _mkdirs(p, a, b) + [
                {"op": "spawn", "proc": "p", "cgroup": a},
                {"op": "alloc", "proc": "p", "region": "m", "pages": mb(16), "pattern": "ratio3", "seed": 61},
                {"op": "reclaim", "cgroup": a, "value": "16M"},
                {"op": "move", "proc": "p", "cgroup": b},
                {"op": "rmdir", "cgroup": a},
                {"op": "write", "cgroup": p, "file": "memory.zswap.max", "value": "2M"},
                {"op": "alloc", "proc": "p", "region": "n", "pages": mb(16), "pattern": "ratio3", "seed": 62},
                {"op": "reclaim", "cgroup": p, "value": "8M"},
                {"op": "reclaim", "cgroup": p, "value": "8M"},
                {"op": "write", "cgroup": p, "file": "memory.zswap.max", "value": "max"},
                {"op": "param", "name": "max_pool_percent", "value": "1"},
                {"op": "alloc", "proc": "p", "region": "o", "pages": mb(48), "pattern": "ratio3", "seed": 63},
                {"op": "reclaim", "cgroup": b, "value": "48M"},
                {"op": "sleep", "seconds": 1},
                {"op": "param", "name": "max_pool_percent", "value": "20"},
                {"op": "touch", "proc": "p", "region": "m"},
                {"op": "touch", "proc": "p", "region": "n"},
                {"op": "kill", "proc": "p"},
            ]}


def zswap_max_rotation() -> dict[str, Any]:
    """The store-path rotation phase of memory.zswap.max, step by step: with 4096 entries (all referenced,
    freshly stored) and zswap.max far below usage, each store over the limit makes shrink_memcg() pass one
    entry (second chance: the referenced bit is cleared and the entry rotated), writes nothing back, and the
    store is rejected (the page goes to the swap device): zswpwb stays 0 and pswpout grows by the stores,
    until every entry has been passed once; only then does writeback start."""
    c = "/zrot"
    steps = _zswap_max_lowered(c, 40, 71, "16M")
    steps += [{"op": "reclaim", "cgroup": c, "value": "1M"} for _ in range(8)]
    steps += [{"op": "reclaim", "cgroup": c, "value": "4M"} for _ in range(4)]
    steps += [{"op": "touch", "proc": "p", "region": "m"}, {"op": "kill", "proc": "p"}]
    return {"name": "zswap_max_rotation", "description": zswap_max_rotation.__doc__, "steps": steps}


def pool_hysteresis() -> dict[str, Any]:
    """The acceptance-threshold hysteresis of the global pool limit (zswap_check_limits): once a store finds
    the pool at max_pool_percent, zswap_pool_reached_full stays set, and every store is rejected, until the
    pool is at or below accept_threshold_percent of the limit, not merely below the limit. Writeback is off
    for the cgroup (memory.zswap.writeback=0), so shrink_worker cannot shrink it and rejected pages stay in
    memory. 32M of entries (~1.4% of RAM) are stored, the limit is set to 1% with a 50% threshold, a store
    latches it, then half of the entries are loaded back (the pool falls to ~0.7%, between threshold and
    limit): the next 4M of stores are all rejected (zswpout does not move)."""
    c = "/hyst"
    steps = _mkdirs(c) + [
        {"op": "write", "cgroup": c, "file": "memory.zswap.writeback", "value": "0"},
        {"op": "spawn", "proc": "p", "cgroup": c},
        {"op": "alloc", "proc": "p", "region": "a", "pages": mb(16), "pattern": "ratio3", "seed": 81},
        {"op": "alloc", "proc": "p", "region": "b", "pages": mb(16), "pattern": "ratio3", "seed": 82},
        {"op": "reclaim", "cgroup": c, "value": "32M"},
        {"op": "param", "name": "accept_threshold_percent", "value": "50"},
        {"op": "param", "name": "max_pool_percent", "value": "1"},
        {"op": "alloc", "proc": "p", "region": "c", "pages": mb(4), "pattern": "ratio3", "seed": 83},
        {"op": "reclaim", "cgroup": c, "value": "4M"},
        {"op": "touch", "proc": "p", "region": "b"},
        {"op": "reclaim", "cgroup": c, "value": "4M"},
        {"op": "param", "name": "max_pool_percent", "value": "20"},
        {"op": "param", "name": "accept_threshold_percent", "value": "90"},
        {"op": "touch", "proc": "p", "region": "a"},
        {"op": "touch", "proc": "p", "region": "c"},
        {"op": "kill", "proc": "p"},
    ]
    return {"name": "pool_hysteresis", "description": pool_hysteresis.__doc__, "steps": steps}


# Writes whose parsing differs between hand-written parsers and the kernel's (memparse, kstrtoint,
# page_counter_memparse, match_token): value as sent (code points < 256 are sent as those bytes) and a read-back.
PARSE_CASES: tuple[tuple[str, str], ...] = (
    ("memory.zswap.max", ""),  # a 0-byte write
    ("memory.zswap.max", "1M\xa0"),  # 0xA0 after the number
    ("memory.zswap.max", "\xa01M"),
    ("memory.zswap.max", "K"),  # a suffix with no digits
    ("memory.zswap.max", "\n"),
    ("memory.zswap.max", "8E"),  # over PAGE_COUNTER_MAX
    ("memory.max", "8E"),
    ("memory.zswap.max", "max"),
    ("memory.zswap.writeback", "18446744073709551616"),  # out of unsigned long range
    ("memory.zswap.writeback", "2147483648"),  # out of int range
    ("memory.zswap.writeback", "-2147483649"),
    ("memory.zswap.writeback", " 1\n"),
    ("memory.reclaim", "1M swappiness=+10"),
    ("memory.reclaim", "1M swappiness=" + "0" * 23 + "1"),  # 24 characters
    ("memory.reclaim", "1M swappiness=" + "0" * 22 + "1"),  # 23 characters
    ("memory.reclaim", "1M swappiness=-"),
    ("memory.reclaim", "1M swappiness=201"),
    ("memory.reclaim", "1M swappiness=max"),
    ("memory.reclaim", "1M zswap_writeback_only"),
    ("memory.reclaim", "1M source=zswap"),
    ("memory.reclaim", "0"),
    ("memory.reclaim", ""),
)


def parse_probes() -> dict[str, Any]:
    """The kernel's parsing of cgroup files, probed write by write on an empty cgroup (the return code, and
    for the limit files the value read back): 0-byte writes, 0xA0 around numbers, suffixes without digits,
    limits over PAGE_COUNTER_MAX, integers out of range, and memory.reclaim's swappiness= argument."""
    c = "/parse"
    steps: list[dict[str, Any]] = _mkdirs(c)
    for file, value in PARSE_CASES:
        steps.append({"op": "reclaim", "cgroup": c, "value": value} if file == "memory.reclaim" else
                     {"op": "write", "cgroup": c, "file": file, "value": value})
        if file != "memory.reclaim":
            steps.append({"op": "read", "cgroup": c, "file": file})
            steps.append({"op": "write", "cgroup": c, "file": file, "value": "max" if file != "memory.zswap.writeback"
                          else "1", "note": "reset"})
    return {"name": "parse_probes", "description": parse_probes.__doc__, "steps": steps}


AGENT_POLICY = """
[agent]
interval = "1s"
[[target]]
path = "/agent_parent"
step = "1M"
step_interval = "1s"
guard_scope = "children"
[target.guardrails]
refault_rate = "64K/s"
"""
AGENT_METRICS_PORT = 9177
# the agent's own parsers applied to the real files, next to the guest driver's reference parse of the same text
PARSE_WITH_AGENT = """
import json
from zswaplab.agent.stats import parse_memory_stat, parse_pressure
from zswaplab.vm.guest import parse_kv, parse_pressure as reference_pressure
base = "/sys/fs/cgroup/agent_parent/c1"
stat, psi = open(base + "/memory.stat").read(), open(base + "/memory.pressure").read()
m, p = parse_memory_stat(stat), parse_pressure(psi)
print(json.dumps({"stat": m.values, "bad_lines": m.bad_lines, "stat_reference": parse_kv(stat),
                  "pressure": None if p is None else p._asdict(),
                  "pressure_reference": reference_pressure(psi)}))
"""


def agent_on_real_kernel() -> dict[str, Any]:
    """``zswaplab agent --backend cgroupfs`` against a real stock tree: capability detection finds no proactive
    writeback interface and falls back to PSI-paced memory.reclaim (swappiness=max where the kernel takes it);
    it parses the real memory.stat / memory.pressure; --dry-run and the metrics endpoint work."""
    p, c = "/agent_parent", "/agent_parent/c1"
    agent = ["{python}", "-m", "zswaplab.cli", "agent", "--config", "{tmp}/agent.toml", "--backend", "cgroupfs"]
    return {"name": "agent_on_real_kernel", "description": agent_on_real_kernel.__doc__,
            "steps": _mkdirs(p, c) + [
                {"op": "spawn", "proc": "p", "cgroup": c},
                {"op": "alloc", "proc": "p", "region": "m", "pages": mb(16), "pattern": "ratio3", "seed": 31},
                {"op": "reclaim", "cgroup": p, "value": "8M"},
                {"op": "touch", "proc": "p", "region": "m", "first": 0, "count": mb(2)},
                {"op": "exec", "argv": ["{python}", "-c", PARSE_WITH_AGENT], "timeout": 120},
                {"op": "write_file", "path": "{tmp}/agent.toml", "text": AGENT_POLICY},
                {"op": "exec", "argv": [*agent, "--once", "--dry-run", "--log-level", "debug"], "timeout": 400},
                {"op": "exec", "argv": [*agent, "--cycles", "5", "--metrics-port", str(AGENT_METRICS_PORT)],
                 "timeout": 180,
                 "scrape": {"url": f"http://127.0.0.1:{AGENT_METRICS_PORT}/metrics", "within": 120,
                            "until": "zswaplab_agent_interface_info{"}},
                {"op": "kill", "proc": "p"},
            ]}


SCENARIOS = {
    s["name"]: s for s in (
        selftest_zswap_usage(), selftest_swapin_nozswap(), selftest_zswapin(),
        selftest_zswap_writeback(True), selftest_zswap_writeback(False), selftest_no_invasive_cgroup_shrink(),
        reclaim_push(), zswap_max_store_path(), writeback_disabled_subtree(), global_pool_limit(),
        swapin_after_writeback(), calibration(), agent_on_real_kernel(), global_pool_threshold(),
        dynamic_shrinker(), offline_reparent(), zswap_max_rotation(), parse_probes(), pool_hysteresis(),
    )
}


def get(name: str) -> dict[str, Any]:
    """A deep copy of the named scenario (KeyError lists the known names)."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return copy.deepcopy(SCENARIOS[name])

# scenarios whose steps the model cannot execute (exec of the agent): kernel-only
MODEL_EXCLUDED = frozenset({"agent_on_real_kernel"})
