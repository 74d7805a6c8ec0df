"""Scenario (a), repeated small budgets: the per-child splits derived BY HAND from the algorithms of kernel-semantics §2.3,
§2.5, §3.2 and §3.5 (second chance included), then checked against the simulator.

Common setup for every case below (the shipped scenarios/a_repeated_small_budgets.toml with its params set
small): a parent with N = 4 children c0..c3, each holding 512 pages in zswap, compressed to 1024 bytes each
(ratio 0.25), one NUMA node. Every entry was just stored, so every entry is ``referenced`` (second chance,
kernel-semantics §1.7: the first visit clears the bit and rotates the entry to the tail; only a second visit writes it
back). The budget is 16K per call, below one batch (64 entries x 1K = 64K for v5; v3's budget is
16K / 4096 = 4 pages, below its 128-page batch). 12 calls are made on the parent.

Facts used (kernel-semantics §1.6, §1.7, §2.3, §2.5):
* list_lru_walk_one costs one unit of budget per visited entry, rotated or written;
* a rotation of all entries of a list keeps their order;
* v5 shrink_memcg(memcg, 64) scans min(64, list length) entries and returns bytes written (0 when it only
  rotated; -ENOENT when the list is empty). The driver counts every 0-byte visit as a failure and every full
  pre-order pass with no candidate visit as a failure; failures are cumulative per call; at 16 → -EAGAIN;
  the parent itself has an empty list → -ENOENT → neither a visit nor a failure;
* v3 zswap_proactive_shrink_memcg returns 0 (not -ENOENT) for an empty list, so the parent's visit IS a failure
  (attempt with nothing written); per visit it scans min(list length, budget*16) = min(512, 4*16) = 64 entries
  and writes every unreferenced one of them (a walk overshoots the 4-page goal).
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from zswaplab.lab.adapter import kernel_available
from zswaplab.lab.runner import run_variant
from zswaplab.lab.schema import load_scenario

pytestmark = pytest.mark.skipif(not kernel_available(), reason="kernel model (issue 3 kernel half) not available")

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "a_repeated_small_budgets.toml"
C = ["/parent/c0", "/parent/c1", "/parent/c2", "/parent/c3"]
EAGAIN = errno.EAGAIN


def run(profile: str, strategy: str, wb_batch: int):
    sf = load_scenario(SCENARIO)
    (v,) = sf.variants(overrides={
        "profile": [profile], "strategy": [strategy], "wb_batch": [wb_batch], "budget": ["16K"],
        "nchildren": [4], "child_size": ["2M"], "calls": [12],
    })
    rec, m = run_variant(v, scenario_name=sf.name, snapshots=False)
    # preconditions of the derivations: 512 entries of 1024 bytes per child, nothing written yet
    assert rec.children == C
    assert rec.eligible == dict.fromkeys(C, 512 * 1024)
    return rec, m


def per_call(rec):
    return [(c.errno, {k: v for k, v in c.pages.items() if v}) for c in rec.calls]


def test_v5_restart_budget_below_one_batch():
    # Call 1: visits parent (-ENOENT, not counted), c0, c1, c2, c3: each rotates 64 referenced entries,
    #   writes 0 -> failures 1..4; end of pass (4 visits: no failure). Passes 2, 3, 4 the same -> failures
    #   5..16 -> -EAGAIN with 0 written. Each child has rotated 4 x 64 = 256 of its 512 entries.
    # Call 2: identical (fresh state), rotating the other 256 -> -EAGAIN, 0 written. Now every entry of every
    #   child is unreferenced, in the original order.
    # Call 3: parent (-ENOENT), c0 writes its 64 head entries = 64K >= 16K -> goal met, return 0.
    # Calls 3..10: c0 again each time (the walk restarts at the parent): 8 x 64 = 512 -> c0 drained.
    # Calls 11, 12: c0 empty (-ENOENT, skipped), c1 writes 64 each.
    rec, m = run("v5", "restart", 64)
    expect = [(EAGAIN, {}), (EAGAIN, {})] + [(0, {C[0]: 64})] * 8 + [(0, {C[1]: 64})] * 2
    assert per_call(rec) == expect
    assert m["pages"] == {C[0]: 512, C[1]: 128, C[2]: 0, C[3]: 0}
    assert m["starved_after"]["10"] == [C[1], C[2], C[3]]
    assert m["calls_until_all"] is None


def test_v5_per_memcg_cursor_round_robin():
    # Call 1 as restart (the cursor starts before the parent): parent, c0..c3 x 4 passes, failures 1..16,
    #   -EAGAIN; cursor left on c3. Each child rotated 256.
    # Call 2 (fresh failures): the cursor continues after c3 -> NULL = end of a pass with 0 visits -> failure 1;
    #   then passes c0..c3 (f2-5), c0..c3 (f6-9), c0..c3 (f10-13), c0, c1, c2 (f14-16) -> -EAGAIN, cursor on
    #   c2. c0, c1, c2 were visited 4 times (all 512 rotated, now all unreferenced in order); c3 only 3 times
    #   (64 referenced entries still at its head).
    # Call 3: c3 first: rotates its 64 referenced -> 0 bytes, failure 1; NULL (1 visit in the pass: no
    #   failure); parent -ENOENT; c0 writes 64 -> goal met. Cursor on c0.
    # Call 4: c1 writes 64. Call 5: c2 writes 64. Call 6: c3 writes 64 (its list is all unreferenced now).
    # Call 7: NULL (failure 1), parent, c0 writes 64. Then c1, c2, c3, (NULL) c0, c1 for calls 8..12.
    rec, m = run("v5", "per-memcg", 64)
    writers = [C[0], C[1], C[2], C[3], C[0], C[1], C[2], C[3], C[0], C[1]]
    assert per_call(rec) == [(EAGAIN, {}), (EAGAIN, {})] + [(0, {c: 64}) for c in writers]
    assert m["pages"] == {C[0]: 192, C[1]: 192, C[2]: 128, C[3]: 128}
    assert m["calls_until_all"] == 6
    assert m["starved_after"]["10"] == []


def test_v5_batch_each_then_check():
    # The goal is checked only at the end of a pass. Calls 1 and 2 are the two rotation calls of the restart
    # case (-EAGAIN, 0 written). Call 3: c0, c1, c2, c3 each write 64; at the end of the pass 256K >= 16K -> 0.
    # Calls 3..10 drain all four children evenly (8 x 64 = 512 each). Calls 11, 12: every list is empty, every
    # pass has no candidate -> 16 empty passes -> -EAGAIN, nothing written.
    rec, m = run("v5", "batch-each-then-check", 64)
    expect = [(EAGAIN, {}), (EAGAIN, {})] + [(0, dict.fromkeys(C, 64))] * 8 + [(EAGAIN, {})] * 2
    assert per_call(rec) == expect
    assert m["pages"] == dict.fromkeys(C, 512)
    assert m["jain"] == 1.0


def test_v3_restart_budget_below_one_batch():
    # v3 budget = 16K/4096 = 4 pages. A visit scans min(512, 4*16) = 64 entries.
    # Call 1: parent (empty list -> 0 -> failure 1), c0..c3 rotate 64 each (f2-5); pass 2: parent f6, c0..c3
    #   f7-10; pass 3: parent f11, c0..c3 f12-15; pass 4: parent f16 -> -EAGAIN. 3 visits x 64 = 192 rotated
    #   per child.
    # Call 2: same 16 failures, rotating entries 192..383 of each child -> -EAGAIN.
    # Call 3: parent f1, c0..c3 rotate 384..447 (f2-5), parent f6, c0..c3 rotate 448..511 (f7-10): all
    #   unreferenced now; parent f11, c0: the 64-entry walk writes 64 (>= 4) -> 0.
    # Calls 4..10: parent (failure), c0 writes 64 -> c0 drained after call 10 (8 x 64 = 512).
    # Calls 11, 12: parent, c0 (empty -> 0 -> failure), c1 writes 64.
    rec, m = run("v3", "restart", 128)
    expect = [(EAGAIN, {}), (EAGAIN, {})] + [(0, {C[0]: 64})] * 8 + [(0, {C[1]: 64})] * 2
    assert per_call(rec) == expect
    assert m["pages"] == {C[0]: 512, C[1]: 128, C[2]: 0, C[3]: 0}


def test_v3_per_memcg_cursor_round_robin():
    # v3's own cursor (zswap_wb_iter on the parent). Visits cost 64 scanned entries; the parent's empty list is a
    # failure; a NULL (end of pass) with no attempt in the pass is a failure too.
    # Call 1 as restart: parent f1, c0..c3 f2-5 | parent f6, c0..c3 f7-10 | parent f11, c0..c3 f12-15 |
    #   parent f16 -> -EAGAIN, cursor on the parent. Each child rotated 3 x 64 = 192.
    # Call 2 resumes after the parent: c0..c3 f1-4 | parent f5, c0..c3 f6-9 | parent f10, c0..c3 f11-14 |
    #   parent f15, c0 f16 -> -EAGAIN, cursor on c0. Rotated: c0 7 x 64 = 448, c1..c3 6 x 64 = 384.
    # Call 3 resumes after c0: c1, c2, c3 rotate (f1-3) | parent f4, c0 (now all 512 rotated) f5, c1, c2, c3
    #   (all rotated) f6-8 | parent f9, c0 writes 64 >= 4 -> 0, cursor on c0.
    # Calls 4, 5, 6: c1, c2, c3 write 64 each. Call 7: NULL (no attempt yet: f1), parent f2, c0 writes.
    # Calls 8..10: c1, c2, c3; call 11: c0; call 12: c1.
    rec, m = run("v3", "per-memcg", 128)
    writers = [C[0], C[1], C[2], C[3], C[0], C[1], C[2], C[3], C[0], C[1]]
    assert per_call(rec) == [(EAGAIN, {}), (EAGAIN, {})] + [(0, {c: 64}) for c in writers]
    assert m["pages"] == {C[0]: 192, C[1]: 192, C[2]: 128, C[3]: 128}
