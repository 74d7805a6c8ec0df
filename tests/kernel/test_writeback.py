"""zswap store limits, shrink_memcg, shrink_worker and offline handling (kernel-semantics §1.3–§1.11)."""

from __future__ import annotations

import errno

from zswaplab.kernel.page import PageState
from zswaplab.kernel.writeback import shrink_memcg, shrink_worker, zswap_iter_global
from zswaplab.kernel.zswap import (
    zswap_accept_thr_pages,
    zswap_check_limits,
    zswap_max_pages,
    zswap_total_pages,
)

from .helpers import kernel, pushed, stat


def test_hysteresis_latches_at_max_and_unlatches_at_threshold():
    k = kernel(totalram_pages=1000)  # max 200 pages, thr 180
    assert zswap_max_pages(k) == 200 and zswap_accept_thr_pages(k) == 180
    k.zswap.total_bytes = 199 * 4096
    assert not zswap_check_limits(k)
    k.zswap.total_bytes = 200 * 4096
    assert zswap_check_limits(k) and k.zswap.stats.pool_limit_hit == 1
    k.zswap.total_bytes = 181 * 4096
    assert zswap_check_limits(k)  # still latched above the threshold
    k.zswap.total_bytes = 180 * 4096
    assert not zswap_check_limits(k)
    k.zswap.total_bytes = 0


def test_shrink_memcg_second_chance_then_writeback():
    k = kernel()
    pushed(k, "/a", 4)
    a = k.tree.lookup("/a")
    assert shrink_memcg(k, a) == -errno.EAGAIN  # head referenced: rotated only
    assert shrink_memcg(k, a) == -errno.EAGAIN
    for _ in range(2):
        shrink_memcg(k, a)
    assert stat(k, "/a", "zswpwb") == 0
    assert shrink_memcg(k, a) == 0  # all four had their second chance
    assert stat(k, "/a", "zswpwb") == 1


def test_shrink_memcg_not_candidate_cases():
    k = kernel()
    k.fs.mkdir("/empty")
    assert shrink_memcg(k, k.tree.lookup("/empty")) == -errno.ENOENT
    pushed(k, "/a", 2)
    k.fs.write("/a", "memory.zswap.writeback", "0")
    assert shrink_memcg(k, k.tree.lookup("/a")) == -errno.ENOENT


def test_shrink_worker_gives_up_after_16_failures_on_referenced_entries():
    """Hao's observation: with one entry per node, a worker run rotates ~16 entries and exits."""
    k = kernel(totalram_pages=500)  # max 100 pool pages, threshold 90
    pushed(k, "/a", 95, clen=4000)  # 93 pool pages: above the threshold, all entries referenced
    k.zswap.pool_reached_full = True
    shrink_worker(k)
    assert k.debugfs()["written_back_pages"] == 0
    lst = k.zswap_lru.list_of(k.tree.lookup("/a").id, 0)
    assert sum(1 for e in lst if not e.referenced) == 16
    assert k.tree.ledger.held() == {k.zswap_next_shrink.id: 1}


def test_shrink_worker_writes_back_until_threshold():
    k = kernel(totalram_pages=2_000)  # max 400 pages, thr 360
    k.fs.mkdir("/a")
    pages = k.alloc("/a", 600, clen=4000)
    k.fs.write("/a", "memory.reclaim", str(600 * 4096))
    # pool filled: later stores were rejected (to disk) and the worker was queued
    assert k.debugfs()["pool_limit_hit"] > 0
    assert any(p.state is PageState.DISK for p in pages)
    assert k.counters["shrink_worker_runs"] >= 1


def test_memcg_disabled_worker_bug_and_fix():
    for fix, expect_written in ((False, False), (True, True)):
        k = kernel(memcg_disabled=True, memcg_disabled_fix=fix, totalram_pages=500)
        pushed(k, "/", 95, clen=4000)
        for e in k.zswap.tree.values():
            e.referenced = False
        k.zswap.pool_reached_full = True
        shrink_worker(k)
        assert (k.debugfs()["written_back_pages"] > 0) == expect_written


def test_cursor_skips_offline_and_cleanup_moves_it():
    k = kernel()
    for p in ("/a", "/b", "/c"):
        k.fs.mkdir(p)
    assert zswap_iter_global(k) is k.tree.root
    a = zswap_iter_global(k)
    k.tree.mem_cgroup_put(a)
    assert a.path == "/a" and k.zswap_next_shrink is a
    k.fs.rmdir("/a")  # zswap_memcg_offline_cleanup: cursor advances to the next online memcg
    assert k.zswap_next_shrink.path == "/b"
    assert k.tree.ledger.held() == {k.zswap_next_shrink.id: 1}
    k.fs.rmdir("/c")
    nxt = zswap_iter_global(k)
    assert nxt is None  # /c is gone; end of the pass
    assert k.tree.ledger.held() == {}


def test_offline_reparents_entries_to_parent_head_and_keeps_parent_stats():
    k = kernel()
    k.fs.mkdir("/p")
    pushed(k, "/p", 3)
    pushed(k, "/p/c", 2)
    before = k.fs.read("/p", "memory.stat")
    child_entries = [e for e in k.zswap_lru.list_of(k.tree.lookup("/p/c").id, 0)]
    k.fs.rmdir("/p/c")
    plist = list(k.zswap_lru.list_of(k.tree.lookup("/p").id, 0))
    assert plist[:2] == child_entries and len(plist) == 5
    assert all(e.objcg.memcg.path == "/p" for e in plist)
    assert k.fs.read("/p", "memory.stat") == before


def test_pool_total_matches_entries():
    k = kernel()
    pushed(k, "/a", 10, clen=1500)
    assert zswap_total_pages(k) == -(-(10 * 1500) // 4096)
    assert k.debugfs()["stored_pages"] == 10
