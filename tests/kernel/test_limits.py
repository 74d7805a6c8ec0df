"""Limits end to end: the global pool limit and ``shrink_worker``, ``memory.zswap.max`` on the store path,
``memory.zswap.writeback`` inheritance, the retry counting every loop shares, and more than one node.

These are the detectors of several mutations in zswaplab.kernel.mutations (tests/mutations/).
"""

from __future__ import annotations

import errno

from zswaplab.kernel.constants import MAX_RECLAIM_RETRIES, PAGE_SIZE
from zswaplab.kernel.writeback import ZswapShrinkState, shrink_memcg, shrink_memcg_batched
from zswaplab.kernel.zswap import zswap_accept_thr_pages, zswap_max_pages, zswap_total_pages

from .helpers import kernel, stat


def test_shrink_worker_drains_the_pool_to_the_acceptance_threshold():
    """mm/zswap.c ``zswap_store`` → ``zswap_check_limits`` latches the pool full at ``max_pool_percent`` and
    queues ``shrink_worker``, which writes back until ``zswap_total_pages() <= thr``."""
    k = kernel(totalram_pages=2_000)  # max 400 pages, threshold 360
    assert (zswap_max_pages(k), zswap_accept_thr_pages(k)) == (400, 360)
    k.fs.mkdir("/a")
    k.alloc("/a", 450, clen=4000)
    k.fs.write("/a", "memory.reclaim", str(450 * PAGE_SIZE))
    d = k.debugfs()
    assert d["pool_limit_hit"] >= 1 and k.zswap.pool_reached_full
    assert k.counters["shrink_worker_runs"] >= 1
    # fresh entries are referenced: the worker rotated some and gave up after 16 failures; now they are cold
    wb0 = d["written_back_pages"]
    pool0 = zswap_total_pages(k)
    assert pool0 > 360
    for e in k.zswap.tree.values():
        e.referenced = False
    k.queue_shrink_work()
    k.run_pending_work()
    assert zswap_total_pages(k) == 360  # stops at the first check that finds the pool at the threshold
    written = k.debugfs()["written_back_pages"] - wb0
    assert pool0 - 360 <= written <= pool0 - 360 + 2  # ~ one entry (4000 bytes) per page
    assert stat(k, "/a", "zswpwb") == k.debugfs()["written_back_pages"]


def test_pool_limit_is_max_pool_percent_of_ram():
    k = kernel(totalram_pages=1_000)  # 200 pages
    k.fs.mkdir("/a")
    k.fs.write("/a", "memory.zswap.writeback", "0")  # nothing leaves the pool: it stops at the limit
    k.alloc("/a", 300, clen=4000)
    try:
        k.fs.write("/a", "memory.reclaim", str(300 * PAGE_SIZE))
    except OSError as e:
        assert e.errno == errno.EAGAIN
    assert zswap_total_pages(k) == 200
    assert k.debugfs()["pool_limit_hit"] > 0


def test_store_path_shrinks_the_memcg_over_zswap_max():
    """``zswap_store``: over ``memory.zswap.max``, ``shrink_memcg(memcg)`` (rotate referenced entries first, then
    write back) before giving up on the store."""
    k = kernel()
    k.fs.mkdir("/a")
    k.fs.write("/a", "memory.zswap.max", str(8 * PAGE_SIZE))
    k.alloc("/a", 40, clen=4000)
    k.fs.write("/a", "memory.reclaim", str(40 * PAGE_SIZE))
    assert stat(k, "/a", "zswpwb") > 0  # written back by the store path (the pool limit is far away)
    assert k.counters["shrink_worker_runs"] == 0
    assert int(k.fs.read("/a", "memory.zswap.current")) <= 8 * PAGE_SIZE + 4000


def test_writeback_disabled_on_an_ancestor_applies_below():
    """``mem_cgroup_zswap_writeback_enabled``: false if the memcg *or any ancestor* has writeback=0."""
    k = kernel()
    k.fs.mkdir("/p")
    k.fs.mkdir("/p/c")
    k.alloc("/p/c", 8, clen=1000)
    k.fs.write("/p/c", "memory.reclaim", str(8 * PAGE_SIZE))
    k.fs.write("/p", "memory.zswap.writeback", "0")
    assert k.fs.read("/p/c", "memory.zswap.writeback") == "1\n"
    assert shrink_memcg(k, k.tree.lookup("/p/c")) == -errno.ENOENT


def test_shrink_state_failures_are_cumulative():
    """``struct zswap_shrink_state`` / the ``failures`` counter of every loop since v6.11: never reset on
    success; the MAX_RECLAIM_RETRIES-th failure gives up."""
    s = ZswapShrinkState()
    for _ in range(MAX_RECLAIM_RETRIES - 1):
        assert not s.attempted(True)
        assert not s.attempted(False)
    assert s.attempted(True)


def test_batched_shrink_memcg_hands_unused_budget_to_the_next_node():
    """``shrink_memcg(memcg, nr_to_scan)`` (v5 2/6 = Jul-14 2/2): each node's walk is capped at its list length
    and the unused share returns to the budget for the next node."""
    k = kernel(profile="mm-new", nr_nodes=2)
    k.fs.mkdir("/a")
    k.alloc("/a", 3, clen=1000, nid=0)
    k.alloc("/a", 10, clen=1000, nid=1)
    k.fs.write("/a", "memory.reclaim", str(13 * PAGE_SIZE))
    for e in k.zswap.tree.values():
        e.referenced = False
    m = k.tree.lookup("/a")
    assert [k.zswap_lru.list_lru_count_one(m.id, n) for n in (0, 1)] == [3, 10]
    written = shrink_memcg_batched(k, m, 8)
    assert written == 8 * 1000  # 3 from node 0, the 5 left over from node 1
    assert [k.zswap_lru.list_lru_count_one(m.id, n) for n in (0, 1)] == [0, 5]


def test_mainline_shrink_memcg_walks_one_entry_per_node():
    k = kernel(nr_nodes=2)
    k.fs.mkdir("/a")
    for nid in (0, 1):
        k.alloc("/a", 4, clen=1000, nid=nid)
    k.fs.write("/a", "memory.reclaim", str(8 * PAGE_SIZE))
    for e in k.zswap.tree.values():
        e.referenced = False
    assert shrink_memcg(k, k.tree.lookup("/a")) == 0
    assert k.debugfs()["written_back_pages"] == 2
