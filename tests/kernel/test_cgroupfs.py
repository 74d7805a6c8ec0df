"""cgroup file parsing and errnos (kernel-semantics §1.14, §2.1–§2.5, §4.2)."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zswaplab.kernel import PROFILES
from zswaplab.kernel.cgroupfs import memparse

from .helpers import errno_of, kernel, pushed, refs_at_baseline


@pytest.mark.parametrize(
    "text,value,used",
    [("10M", 10 << 20, 3), ("4k", 4096, 2), ("0x10", 16, 4), ("010", 8, 3), ("1G", 1 << 30, 2), ("abc", 0, 0),
     ("5 x", 5, 1), ("2E", 2 << 60, 2), ("-1", 0, 0)],
)
def test_memparse(text, value, used):
    assert memparse(text) == (value, used)


@pytest.mark.parametrize(
    "text,err",
    [("", 0), ("\n", errno.EINVAL), ("swappiness=60", errno.EINVAL), ("1M foo", errno.EINVAL), ("1Mfoo", errno.EINVAL),
     ("1M swappiness=201", errno.EINVAL), ("1M swappiness=-1", errno.EINVAL), ("1M swappiness=", errno.EINVAL),
     ("1M swappiness=60abc", errno.EINVAL), ("10M zswap_writeback_only", errno.EINVAL),
     ("10M source=zswap", errno.EINVAL), ("0", 0), ("4K swappiness=60", 0), ("  8K  \n", 0)],
)
def test_mainline_memory_reclaim_parsing(text, err):
    k = kernel(profile="mainline")
    k.fs.mkdir("/a")
    k.alloc("/a", 64, clen=100)
    assert errno_of(k, "/a", "memory.reclaim", text) == err


def test_612_swappiness_max_einval_and_zero_eagain():
    k = kernel(profile="6.12")
    k.fs.mkdir("/a")
    k.alloc("/a", 64, clen=100)
    assert errno_of(k, "/a", "memory.reclaim", "1M swappiness=max") == errno.EINVAL
    assert errno_of(k, "/a", "memory.reclaim", "64K swappiness=0") == errno.EAGAIN
    assert errno_of(k, "/a", "memory.reclaim", "10M zswap_writeback_only") == errno.EINVAL
    k2 = kernel(profile="mainline")
    k2.fs.mkdir("/a")
    k2.alloc("/a", 64, clen=100)
    assert errno_of(k2, "/a", "memory.reclaim", "64K swappiness=max") == 0


def test_reclaim_moves_exactly_the_requested_pages():
    """6.12 in the VM: echo 50M > memory.reclaim moved exactly 12,800 pages to zswap."""
    k = kernel(profile="6.12")
    k.fs.mkdir("/p")
    k.fs.mkdir("/p/a")
    k.fs.mkdir("/p/b")
    k.alloc("/p/a", 10_000, clen=500)
    k.alloc("/p/b", 10_000, clen=500)
    k.fs.write("/p", "memory.reclaim", "50M")
    assert k.vm_events["zswpout"] == 12_800


def test_knob_parsing():
    k = kernel()
    k.fs.mkdir("/a")
    assert errno_of(k, "/a", "memory.zswap.writeback", "2") == errno.EINVAL
    assert errno_of(k, "/a", "memory.zswap.writeback", "yes") == errno.EINVAL
    assert errno_of(k, "/a", "memory.zswap.writeback", "0\n") == 0
    assert k.fs.read("/a", "memory.zswap.writeback") == "0\n"
    assert errno_of(k, "/a", "memory.zswap.max", "12345") == 0
    assert k.fs.read("/a", "memory.zswap.max") == "12288\n"  # rounded down to pages
    assert errno_of(k, "/a", "memory.zswap.max", "1M2") == errno.EINVAL
    assert errno_of(k, "/a", "memory.zswap.max", "max") == 0
    assert k.fs.read("/a", "memory.zswap.max") == "max\n"
    assert errno_of(k, "/a", "memory.current", "1") == errno.EINVAL
    assert errno_of(k, "/", "memory.zswap.max", "1") == errno.ENOENT  # CFTYPE_NOT_ON_ROOT
    assert errno_of(k, "/nope", "memory.max", "1") == errno.ENOENT
    with pytest.raises(OSError) as ei:
        k.fs.read("/a", "memory.reclaim")
    assert ei.value.errno == errno.EINVAL
    assert errno_of(k, "/a", "memory.reclaim", "1" * 5000) == errno.E2BIG


def test_failed_write_changes_nothing():
    k = kernel()
    k.fs.mkdir("/a")
    k.fs.write("/a", "memory.zswap.max", "1M")
    errno_of(k, "/a", "memory.zswap.max", "bogus")
    assert k.fs.read("/a", "memory.zswap.max") == str(1 << 20) + "\n"


def test_mkdir_rmdir_errnos():
    k = kernel()
    k.fs.mkdir("/a")
    with pytest.raises(FileExistsError):
        k.fs.mkdir("/a")
    with pytest.raises(FileNotFoundError):
        k.fs.mkdir("/x/y")
    k.fs.mkdir("/a/b")
    with pytest.raises(OSError) as ei:
        k.fs.rmdir("/a")
    assert ei.value.errno == errno.EBUSY
    k.fs.rmdir("/a/b")
    k.fs.rmdir("/a")
    assert not k.fs.exists("/a")


ALLOWED = {errno.EINVAL, errno.EAGAIN, errno.EINTR, errno.E2BIG}


TOKENS = list("0123456789kKmMgGx -\n") + ["swappiness=", "max", "zswap_writeback_only", "source=", "zswap"]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(sorted(PROFILES)),
    st.binary(max_size=64) | st.lists(st.sampled_from(TOKENS), max_size=10).map(lambda t: "".join(t).encode()),
)
def test_any_bytes_either_succeed_or_oserror(profile, data):
    k = kernel(profile=profile)
    pushed(k, "/a", 32, clen=500)
    try:
        k.fs.write("/a", "memory.reclaim", data)
    except OSError as e:
        assert e.errno in ALLOWED, (data, e)
    if PROFILES[profile].has_proactive_file:
        try:
            k.fs.write("/a", "memory.zswap.proactive_writeback", data)
        except OSError as e:
            assert e.errno in ALLOWED, (data, e)
    assert refs_at_baseline(k)
