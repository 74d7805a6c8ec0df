"""The model against the series' posted code (issue 11): the six fixes and the two behaviours added.

Each test names the posted patch it follows (docs/kernel-semantics.md §2).
"""

from __future__ import annotations

import errno

from zswaplab.kernel import Kernel, KernelConfig, proactive_request
from zswaplab.kernel.constants import PAGE_SIZE
from zswaplab.kernel.profiles import PROFILES
from zswaplab.kernel.writeback import WB_ITER, shrink_worker, zswap_iter_global, zswap_mem_cgroup_iter

from .helpers import errno_of, kernel, pushed, refs_at_baseline, stat


def _cold(k) -> None:
    for e in k.zswap.tree.values():
        e.referenced = False


def test_v1_v3_worker_uses_the_roots_proactive_cursor():
    """1. v1 1/3, v2/v3 1/4: ``shrink_worker`` calls ``zswap_mem_cgroup_iter(root_mem_cgroup)``."""
    wb_iter = [n for n, p in PROFILES.items() if p.version_fields["worker_root_wb_iter"]]
    assert wb_iter == ["v1", "v2", "v3"]
    for profile in wb_iter:
        k = kernel(profile=profile)
        for c in "abc":
            k.fs.mkdir(f"/{c}")
        root = k.tree.root
        first = zswap_iter_global(k)
        assert first is root and root.ext[WB_ITER] is root and k.zswap_next_shrink is None
        a = zswap_mem_cgroup_iter(k, root)  # a proactive request on the root advances the same cursor
        k.tree.mem_cgroup_put(a)
        b = zswap_iter_global(k)
        k.tree.mem_cgroup_put(b)
        assert (a.path, b.path) == ("/a", "/b")
    k = kernel(profile="v5")
    k.fs.mkdir("/a")
    assert zswap_iter_global(k) is k.tree.root and k.zswap_next_shrink is k.tree.root


def test_v3_root_request_and_worker_share_the_round_robin():
    """A proactive request on the root moves the cursor that the worker continues from."""
    k = kernel(profile="v3", totalram_pages=4_000, bypass_second_chance=True)
    for c in "abcd":
        pushed(k, f"/{c}", 40, clen=2000)
    k.fs.write("/", "memory.reclaim", f"{PAGE_SIZE} zswap_writeback_only")
    order = ["/", "/a", "/b", "/c", "/d"]
    pos = k.tree.root.ext[WB_ITER]
    assert pos is not None and pos.path != "/"
    nxt = zswap_iter_global(k)
    k.tree.mem_cgroup_put(nxt)
    assert nxt.path == order[order.index(pos.path) + 1]
    assert refs_at_baseline(k)


def test_v2_sub_page_budget_returns_0():
    """2. v2 2/4: ``if (!nr_to_writeback) return 0;`` — 1000 bytes is 0 pages."""
    for profile in ("v2", "v3"):
        k = kernel(profile=profile)
        pushed(k, "/a", 16)
        assert errno_of(k, "/a", "memory.reclaim", "1000 zswap_writeback_only") == 0
        assert stat(k, "/a", "zswpwb") == 0


def test_mm_new_runs_the_mainline_do_while_loop():
    """3. Jul-14 2/2 keeps ``do { … } while (zswap_total_pages() > thr)``: one ``shrink_memcg`` even below the
    threshold; v5 3/6's ``while`` loop checks first."""
    calls = {}
    for profile in ("mm-new", "v5"):
        k = kernel(profile=profile)
        pushed(k, "/a", 8)
        before = k.counters["shrink_memcg_calls"]
        shrink_worker(k)
        calls[profile] = k.counters["shrink_memcg_calls"] - before
    assert calls == {"mm-new": 1, "v5": 0}


def test_mm_new_memcg_disabled_fix_is_honoured():
    """3. The Jul-14 1/2 fix only lets the ``!memcg`` case fall through; ``memcg_disabled_fix`` decides it."""
    for fix, expect_written in ((False, False), (True, True)):
        k = kernel(profile="mm-new", memcg_disabled=True, memcg_disabled_fix=fix, totalram_pages=500)
        pushed(k, "/", 95, clen=4000)
        _cold(k)
        shrink_worker(k)
        assert (k.debugfs()["written_back_pages"] > 0) == expect_written


def test_v4_has_no_signal_check():
    """4. v4 3/5's loop never checks ``signal_pending``; v3 2/4's does."""
    k = kernel(profile="v4")
    pushed(k, "/a", 64)
    _cold(k)
    k.signal_pending = True
    assert errno_of(k, "/a", "memory.reclaim", "4K zswap_writeback_only") == 0
    assert stat(k, "/a", "zswpwb") > 0


def test_v1_v3_vm_event_counts_root_entries():
    """5. v1–v3 ``zswap_writeback_entry``: ``count_vm_event(ZSWPWB_PROACTIVE)`` with or without an objcg."""
    for core in ("ref", "fast"):
        cfg = KernelConfig(profile="v3", bypass_second_chance=True)
        if core == "fast":
            from zswaplab.scale.fastkernel import FastKernel

            k: Kernel = FastKernel(cfg)
        else:
            k = Kernel(cfg)
        k.alloc("/", 32, clen=1000)
        k.fs.write("/", "memory.reclaim", str(32 * PAGE_SIZE))
        k.fs.write("/", "memory.reclaim", f"{16 * PAGE_SIZE} zswap_writeback_only")
        written = k.debugfs()["written_back_pages"]
        assert written > 0, core
        assert k.vm_events["zswpwb_proactive"] == written, core


def test_cursor_lock_counted_per_advance():
    """6. ``zswap_mem_cgroup_iter`` takes the cursor lock once per advance, not once per request."""
    k = kernel(profile="v3", bypass_second_chance=True)
    for c in "abc":
        pushed(k, f"/{c}", 8)
    _cold(k)
    k.fs.write("/", "memory.reclaim", f"{24 * PAGE_SIZE} zswap_writeback_only")
    assert k.counters["proactive_cursor_lock"] >= 4  # root, a, b, c at least


def test_offline_cleanup_walks_every_ancestor():
    """v1 1/3: the offline cleanup visits the dying memcg's parent *and every ancestor up to the root*."""
    k = kernel(profile="v3")
    k.fs.mkdir("/p")
    k.fs.mkdir("/p/c")
    root, p = k.tree.root, k.tree.lookup("/p")
    c = k.tree.lookup("/p/c")
    for cur in (root, p):
        while True:
            m = zswap_mem_cgroup_iter(k, cur)
            k.tree.mem_cgroup_put(m)
            if m is c:
                break
    k.fs.rmdir("/p/c")
    assert root.ext.get(WB_ITER) is not c and p.ext.get(WB_ITER) is not c
    assert all(not isinstance(m.ext.get(WB_ITER), type(c)) or m.ext[WB_ITER].online()
               for m in k.tree.all_memcgs())


def test_node_reclaim_with_the_zswap_key_is_einval():
    """``/sys/devices/system/node/nodeN/reclaim``: ``user_proactive_reclaim(buf, NULL, pgdat)`` reaches
    ``zswap_proactive_writeback(NULL, …)`` → ``if (!memcg) return -EINVAL;``."""
    for profile in (n for n, p in PROFILES.items() if p.interface not in (None, "file")):
        k = kernel(profile=profile)
        pushed(k, "/a", 32)
        _, text = proactive_request(profile, 64 * 1024)
        try:
            k.fs.node_reclaim(0, text)
            rc = 0
        except OSError as e:
            rc = e.errno
        assert rc == errno.EINVAL, profile
        assert k.debugfs()["written_back_pages"] == 0
    k = kernel(profile="mainline")
    k.alloc("/", 64, clen=1000)
    k.fs.node_reclaim(0, str(16 * PAGE_SIZE))
    assert k.vm_events["zswpout"] >= 16
    k612 = kernel(profile="6.12")
    try:
        k612.fs.node_reclaim(0, "1M")
        raise AssertionError("6.12 has no node reclaim file")
    except OSError as e:
        assert e.errno == errno.ENOENT


def test_without_config_zswap_proactive_is_eopnotsupp():
    """The series' ``zswap_proactive_writeback`` stub without CONFIG_ZSWAP returns -EOPNOTSUPP."""
    k = kernel(profile="v5", config_zswap=False)
    k.alloc("/", 0)
    k.fs.mkdir("/a")
    k.alloc("/a", 16, clen=1000)
    assert errno_of(k, "/a", "memory.reclaim", "64K source=zswap") == errno.EOPNOTSUPP
    assert errno_of(k, "/a", "memory.zswap.max", "1M") == errno.ENOENT
    k.fs.write("/a", "memory.reclaim", str(16 * PAGE_SIZE))
    assert k.vm_events["zswpout"] == 0 and k.vm_events["pswpout"] == 16
