"""The 7 cgroup-file parsing cases where the model differed from Linux (issue 10), each against the kernel's code.

References: kernel/cgroup/cgroup.c ``cgroup_file_write``, lib/ctype.c, lib/cmdline.c ``memparse``, lib/kstrtox.c,
lib/parser.c ``match_one``/``match_number``, mm/page_counter.c, mm/memcontrol.c ``zswap_writeback_write``
(docs/kernel-semantics.md §1.16).
"""

from __future__ import annotations

import errno

import pytest

from zswaplab.kernel import kparse
from zswaplab.kernel.constants import PAGE_COUNTER_MAX, PAGE_SIZE

from .helpers import errno_of, kernel


@pytest.fixture
def k():
    k = kernel(profile="mainline")
    k.fs.mkdir("/a")
    return k


@pytest.mark.parametrize("file", ["memory.reclaim", "memory.zswap.max", "memory.zswap.writeback", "memory.max",
                                  "memory.current"])
def test_zero_byte_write_returns_0(k, file):
    """1. ``cgroup_file_write``: ``if (!nbytes) return 0;`` before any handler."""
    before = k.fs.read("/a", "memory.zswap.max")
    assert errno_of(k, "/a", file, "") == 0
    assert k.fs.read("/a", "memory.zswap.max") == before


def test_nbsp_is_whitespace_for_strstrip(k):
    """2. lib/ctype.c marks 0xA0 as _S|_SP: strstrip removes it."""
    assert errno_of(k, "/a", "memory.zswap.max", b"\xa01M\xa0") == 0
    assert k.fs.read("/a", "memory.zswap.max") == f"{1 << 20}\n"
    assert errno_of(k, "/a", "memory.zswap.writeback", b"0\xa0") == 0
    assert k.fs.read("/a", "memory.zswap.writeback") == "0\n"


def test_suffix_without_digits_is_zero_on_612_and_einval_on_72():
    """3. 6.12's memparse consumes a suffix after no digits (``"K"`` = 0); 7.2's needs digits."""
    assert kparse.memparse("K") == (0, 1)
    assert kparse.memparse("K", saturate=True) == (0, 0)
    k612 = kernel(profile="6.12")
    k612.fs.mkdir("/a")
    assert errno_of(k612, "/a", "memory.zswap.max", "K") == 0
    assert k612.fs.read("/a", "memory.zswap.max") == "0\n"
    k72 = kernel(profile="7.2")
    k72.fs.mkdir("/a")
    assert errno_of(k72, "/a", "memory.zswap.max", "K") == errno.EINVAL
    assert errno_of(k72, "/a", "memory.reclaim", "K") == errno.EINVAL


def test_newline_alone_sets_zero(k):
    """4. ``strstrip("\\n")`` is empty; ``memparse("")`` is 0 with ``*end == '\\0'``: accepted as 0."""
    assert errno_of(k, "/a", "memory.zswap.max", "\n") == 0
    assert k.fs.read("/a", "memory.zswap.max") == "0\n"


def test_page_counter_max_is_long_max_over_page_size(k):
    """5. PAGE_COUNTER_MAX = LONG_MAX / PAGE_SIZE on 64-bit: ``"8E"`` (2^63 bytes) caps to it and reads "max"."""
    assert PAGE_COUNTER_MAX == ((1 << 63) - 1) // PAGE_SIZE
    assert errno_of(k, "/a", "memory.zswap.max", "8E") == 0
    assert k.fs.read("/a", "memory.zswap.max") == "max\n"
    assert errno_of(k, "/a", "memory.zswap.max", "4E") == 0
    assert k.fs.read("/a", "memory.zswap.max") == f"{(4 << 60)}\n"


@pytest.mark.parametrize("text,err", [("18446744073709551616", errno.ERANGE), ("2147483648", errno.ERANGE),
                                      ("-2147483649", errno.ERANGE), ("99999999999999999999999", errno.ERANGE),
                                      ("1", 0), ("+0", 0), ("0x1", 0), ("-0", 0), ("2", errno.EINVAL),
                                      ("1x", errno.EINVAL), ("", 0)])
def test_zswap_writeback_kstrtoint(k, text, err):
    """6. ``kstrtoint``: out of ``int`` → ERANGE, never a wrapped value accepted."""
    assert errno_of(k, "/a", "memory.zswap.writeback", text) == err


def test_zswap_writeback_wrapping_value_not_accepted(k):
    assert errno_of(k, "/a", "memory.zswap.writeback", "0") == 0
    assert errno_of(k, "/a", "memory.zswap.writeback", "18446744073709551617") == errno.ERANGE
    assert k.fs.read("/a", "memory.zswap.writeback") == "0\n"


@pytest.mark.parametrize("arg,ok", [("+5", False), ("-", True), ("5", True), ("0x10", True), ("-0", True),
                                    ("0" * 23, True), ("0" * 24, False), ("0" * 22 + "60", False), ("5a", False),
                                    ("--5", False)])
def test_swappiness_match_int(k, arg, ok):
    """7. ``swappiness=%d``: ``match_one`` (``simple_strtol``: no ``+``; ``"-"`` alone consumes one character,
    value 0) then ``match_number`` (24+ characters → -ERANGE → -EINVAL)."""
    k.alloc("/a", 8, clen=100)
    assert errno_of(k, "/a", "memory.reclaim", f"0 swappiness={arg}") == (0 if ok else errno.EINVAL)


def test_kparse_units():
    assert kparse.simple_strtol("-") == (0, 1)
    assert kparse.simple_strtol("-5") == (-5, 2)
    assert kparse.simple_strtoull("18446744073709551616") == (0, 20)  # 6.12 wraps
    assert kparse.simple_strtoull("18446744073709551616", saturate=True) == (kparse.ULONG_MAX, 20)
    assert kparse.memparse("16E") == (0, 3)
    assert kparse.memparse("16E", saturate=True) == (kparse.ULONG_MAX, 3)
    assert kparse.strstrip("\xa0 x\t\xa0") == "x"
    with pytest.raises(kparse.ParseError) as ei:
        kparse.kstrtoint("4294967296")
    assert ei.value.errno == errno.ERANGE
