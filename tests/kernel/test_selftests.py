"""tools/testing/selftests/cgroup/test_zswap.c (mainline, kernel-semantics §4.1) rebuilt on the model, with the kernel's own
assertions. Compressed sizes: one byte per page compresses to a few dozen bytes; the writeback test's
half-pattern/half-zero page to a few hundred."""

from __future__ import annotations

import errno

import pytest

from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.kernel.constants import PAGE_SIZE

MB = 1 << 20


def stat(k: Kernel, cg: str, key: str) -> int:
    """cg_read_key_long(cg, "memory.stat", key): first line starting with ``key``."""
    for line in k.fs.read(cg, "memory.stat").splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return -1


def kernel(**kw) -> Kernel:
    return Kernel(KernelConfig(**kw), seed=0)


def test_zswap_usage():
    """1. test_zswap_usage: a 1M cgroup allocating 4MB must zswpout."""
    k = kernel()
    k.fs.mkdir("/no_shrink_test")
    k.fs.write("/no_shrink_test", "memory.max", "1M")
    before = stat(k, "/no_shrink_test", "zswpout ")
    k.alloc("/no_shrink_test", 4 * MB // PAGE_SIZE, clen=40)
    assert stat(k, "/no_shrink_test", "zswpout ") > before


def test_swapin_nozswap():
    """2. test_swapin_nozswap: memory.zswap.max=0 → everything goes to disk; swap.peak >= 8MB; zswpout == 0."""
    k = kernel()
    cg = "/no_zswap_test"
    k.fs.mkdir(cg)
    k.fs.write(cg, "memory.max", "24M")
    k.fs.write(cg, "memory.zswap.max", "0")
    pages = k.alloc(cg, 32 * MB // PAGE_SIZE, clen=40)
    k.touch(pages)
    assert int(k.fs.read(cg, "memory.swap.peak")) >= 8 * MB
    assert stat(k, cg, "zswpout ") == 0


def test_zswapin():
    """3. test_zswapin: 8M cgroup allocating and reading 32MB: zswpin >= 24MB worth of pages."""
    k = kernel()
    cg = "/zswapin_test"
    k.fs.mkdir(cg)
    k.fs.write(cg, "memory.max", "8M")
    k.fs.write(cg, "memory.zswap.max", "max")
    pages = k.alloc(cg, 32 * MB // PAGE_SIZE, clen=40)
    k.touch(pages)
    assert stat(k, cg, "zswpin ") >= 24 * MB // PAGE_SIZE


def _attempt_writeback(k: Kernel, cg: str, wb: bool) -> None:
    """attempt_writeback(): 1024 pages, push, read back, zswap.max = U/2, push again."""
    n = 1024
    pages = k.alloc(cg, n, clen=300)
    k.fs.write(cg, "memory.reclaim", str(n * PAGE_SIZE))  # must succeed
    usage = int(k.fs.read(cg, "memory.zswap.current"))
    assert usage > 0
    k.touch(pages)  # verify content: every page comes back (exclusive loads free the entries)
    assert all(p.state.value == "ram" for p in pages)
    k.fs.write(cg, "memory.zswap.max", str(usage // 2))
    if wb:
        k.fs.write(cg, "memory.reclaim", str(n * PAGE_SIZE))
    else:
        with pytest.raises(OSError) as ei:
            k.fs.write(cg, "memory.reclaim", str(n * PAGE_SIZE))
        assert ei.value.errno == errno.EAGAIN


@pytest.mark.parametrize("wb", [True, False], ids=["enabled", "disabled"])
def test_zswap_writeback(wb: bool):
    """4./5. test_zswap_writeback_enabled/_disabled, including the hierarchical child part."""
    k = kernel()
    assert k.fs.read("/", "memory.zswap.writeback").strip() == "1"
    cg = "/zswap_writeback_test"
    k.fs.mkdir(cg)
    k.fs.write(cg, "memory.zswap.writeback", "1" if wb else "0")
    assert stat(k, cg, "zswpwb ") == 0
    _attempt_writeback(k, cg, wb)
    assert (stat(k, cg, "zswpwb ") > 0) == wb
    # the child: its own writeback=1 cannot override the parent's setting
    k.fs.write(cg, "memory.zswap.max", "max")
    child = cg + "/zswap_writeback_test_child"
    k.fs.mkdir(child)
    k.fs.write(child, "memory.zswap.writeback", "1")
    assert stat(k, child, "zswpwb ") == 0
    _attempt_writeback(k, child, wb)
    assert (stat(k, child, "zswpwb ") > 0) == wb


def test_no_invasive_cgroup_shrink():
    """7. test_no_invasive_cgroup_shrink: store-path writeback touches only the limited memcg's LRUs."""
    k = kernel()
    wb_group, control = "/per_memcg_wb_test1", "/per_memcg_wb_test2"
    k.fs.mkdir(wb_group)
    k.fs.write(wb_group, "memory.max", "1M")
    k.fs.write(wb_group, "memory.zswap.max", "64K")
    k.fs.write(wb_group, "memory.max", "32M")
    k.fs.mkdir(control)
    k.fs.write(control, "memory.max", "32M")
    k.alloc(control, 64 * MB // PAGE_SIZE, clen=40)
    assert stat(k, control, "zswapped") >= 1
    k.alloc(wb_group, 64 * MB // PAGE_SIZE, clen=40)
    assert stat(k, wb_group, "zswpwb ") > 0
    assert stat(k, control, "zswpwb ") == 0


def test_zswap_incompressible_mainline_stores_as_is():
    """8. test_zswap_incompressible (recent mainline): incompressible pages are stored as-is → zswap_incomp > 0."""
    k = kernel(profile="mainline")
    cg = "/zswap_incompressible_test"
    k.fs.mkdir(cg)
    k.fs.write(cg, "memory.max", "32M")
    k.alloc(cg, 4 * MB // PAGE_SIZE, clen=PAGE_SIZE + 16)
    k.fs.write(cg, "memory.reclaim", "4M")  # MADV_PAGEOUT
    assert stat(k, cg, "zswap_incomp") > 0


def test_zswap_incompressible_612_rejects():
    """On 6.12 incompressible pages are rejected (reject_compress_fail, as the VM run counts them) and go to disk;
    no zswap_incomp line, no per-memcg pswpout line, no stored_incompressible_pages in debugfs."""
    k = kernel(profile="6.12")
    cg = "/zswap_incompressible_test"
    k.fs.mkdir(cg)
    k.alloc(cg, 256, clen=PAGE_SIZE + 16)
    k.fs.write(cg, "memory.reclaim", "1M")
    assert stat(k, cg, "zswap_incomp") == -1
    assert stat(k, cg, "pswpout") == -1
    assert k.vm_events["pswpout"] == 256
    assert k.debugfs()["reject_compress_fail"] == 256
    assert "stored_incompressible_pages" not in k.debugfs()
