"""The dynamic (memory-pressure) shrinker and writeback failure outcomes (kernel-semantics §1.7, §1.8, §1.13)."""

from __future__ import annotations

from zswaplab.kernel.page import PageState
from zswaplab.kernel.shrinker import shrink_slab_zswap, zswap_shrinker_count
from zswaplab.kernel.writeback import shrink_memcg

from .helpers import kernel, pushed, stat


def test_shrinker_disabled_by_default_counts_zero():
    k = kernel()
    pushed(k, "/a", 100)
    assert zswap_shrinker_count(k, k.tree.lookup("/a"), 0) == 0


def enable_shrinker(k):
    k.config = k.config.with_(shrinker_enabled=True)  # echo Y > /sys/module/zswap/parameters/shrinker_enabled


def test_shrinker_count_scales_by_compression_and_subtracts_disk_swapins():
    k = kernel()
    pushed(k, "/a", 400, clen=2048)  # 2:1 compression
    enable_shrinker(k)
    a = k.tree.lookup("/a")
    assert zswap_shrinker_count(k, a, 0) == 400 * (400 * 2048 // 4096) // 400
    k.nr_disk_swapins[(a.id, 0)] = 100
    assert zswap_shrinker_count(k, a, 0) == 300 * 200 // 400
    assert k.nr_disk_swapins[(a.id, 0)] == 0  # consumed


def test_shrinker_writes_back_under_reclaim_pressure():
    k = kernel()
    pages = pushed(k, "/a", 2000, clen=1000)
    enable_shrinker(k)
    a = k.tree.lookup("/a")
    # the first rounds only clear referenced bits (a scan that frees nothing returns SHRINK_STOP)
    first = sum(shrink_slab_zswap(k, a, 0, prio) for prio in range(12, -1, -1))
    assert first == 0
    freed = sum(shrink_slab_zswap(k, a, 0, prio) for _ in range(4) for prio in range(12, -1, -1))
    assert freed > 0 and stat(k, "/a", "zswpwb") == freed
    assert sum(p.state is PageState.DISK for p in pages) == freed
    # and reclaim itself drives it: a push with the shrinker on writes back part of what it stores
    k2 = kernel(shrinker_enabled=True)
    pushed(k2, "/a", 2000, clen=1000)
    assert stat(k2, "/a", "zswpwb") > 0


def test_writeback_failures():
    k = kernel()
    pages = pushed(k, "/a", 3)
    for e in k.zswap.tree.values():
        e.referenced = False
    a = k.tree.lookup("/a")
    k.inject_writeback(pages[0].swp, "enomem")
    # mainline shrink_memcg passes no arg: -ENOMEM → LRU_RETRY; budget 1 is spent, nothing written
    assert shrink_memcg(k, a) == -11  # -EAGAIN
    assert pages[0].state is PageState.ZSWAP and k.debugfs()["reject_reclaim_fail"] == 1
    # the failed entry was rotated to the tail before writeback
    assert list(k.zswap_lru.list_of(a.id, 0))[-1] is pages[0].entry
    k.inject_writeback(pages[1].swp, "vanished")
    assert shrink_memcg(k, a) == -11
    assert pages[1].state is PageState.FREED and pages[1].swp is None
    assert shrink_memcg(k, a) == 0 and stat(k, "/a", "zswpwb") == 1
