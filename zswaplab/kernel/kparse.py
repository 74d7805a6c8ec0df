"""The kernel's string parsing helpers that cgroup files use, as pure functions.

Each function names the kernel function it models (lib/kstrtox.c, lib/vsprintf.c, lib/cmdline.c, lib/parser.c,
lib/string_helpers.c, mm/page_counter.c). Two versions of the integer parsers exist:

* ``saturate=False`` — Linux 6.12: ``_parse_integer_limit`` lets ``simple_strtoull`` wrap at 64 bits (the
  overflow flag is ignored by its callers) and ``memparse`` consumes a size suffix even without digits (``"K"``
  parses as 0) and shifts without an overflow check;
* ``saturate=True`` — Linux 7.2.13: ``_parse_integer_limit`` stores ``ULLONG_MAX`` on overflow, and
  ``memparse`` consumes a suffix only after digits and saturates the shift (``check_shl_overflow``).

See docs/kernel-semantics.md §1.16 for the cases and where each was checked.
"""

from __future__ import annotations

import errno

ULONG_MAX = (1 << 64) - 1
LONG_MAX = (1 << 63) - 1
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
NUMBER_BUF_LEN = 24  # lib/parser.c: match_number copies the argument into char[24]

# lib/ctype.c: _S is set for \t \n \v \f \r, space and 0xA0 (Latin-1 no-break space)
_SPACE = " \t\n\v\f\r\xa0"
_HEX = "0123456789abcdefABCDEF"


class ParseError(ValueError):
    """A kstrto* failure; ``errno`` is the kernel's (EINVAL or ERANGE)."""

    def __init__(self, errno_: int) -> None:
        super().__init__(errno_)
        self.errno = errno_


def strstrip(s: str) -> str:
    """``strstrip``/``strim`` (lib/string_helpers.c): strip ``isspace()`` characters (0xA0 included) both ends."""
    return s.strip(_SPACE)


def _fixup_radix(s: str, base: int) -> tuple[int, int]:
    """``_parse_integer_fixup_radix`` (lib/kstrtox.c): (base, prefix length)."""
    if base == 0:
        if s[:1] == "0":
            base = 16 if s[1:2].lower() == "x" and s[2:3] != "" and s[2] in _HEX else 8
        else:
            base = 10
    if base == 16 and s[:1] == "0" and s[1:2].lower() == "x":
        return base, 2
    return base, 0


def _parse_integer(s: str, base: int, saturate: bool) -> tuple[int, int, bool]:
    """``_parse_integer_limit`` (lib/kstrtox.c): (value, digits consumed, overflowed)."""
    res = 0
    n = 0
    overflow = False
    for c in s:
        if "0" <= c <= "9":
            v = ord(c) - 48
        elif "a" <= c.lower() <= "f" and c.isascii():
            v = ord(c.lower()) - 87
        else:
            break
        if v >= base:
            break
        res = res * base + v
        if res > ULONG_MAX:
            overflow = True
            res = ULONG_MAX if saturate else res & ULONG_MAX
        n += 1
    return res, n, overflow


def simple_strtoull(s: str, base: int = 0, saturate: bool = False) -> tuple[int, int]:
    """``simple_strtoull(cp, &endp, base)`` (lib/vsprintf.c): (value, characters consumed). No sign accepted."""
    base, pre = _fixup_radix(s, base)
    val, n, _ = _parse_integer(s[pre:], base, saturate)
    return val, pre + n


def simple_strtol(s: str, base: int = 0, saturate: bool = False) -> tuple[int, int]:
    """``simple_strtol`` (lib/vsprintf.c): a leading ``-`` negates ``simple_strtoul`` of the rest (and is consumed
    even when no digit follows, so ``"-"`` is 0 with one character consumed). Returns a signed 64-bit value."""
    if s.startswith("-"):
        v, n = simple_strtoull(s[1:], base, saturate)
        v = (-v) & ULONG_MAX
        return (v - (1 << 64) if v > LONG_MAX else v), n + 1
    v, n = simple_strtoull(s, base, saturate)
    return (v - (1 << 64) if v > LONG_MAX else v), n


def memparse(s: str, saturate: bool = False) -> tuple[int, int]:
    """``memparse(ptr, &retptr)`` (lib/cmdline.c): a number with an optional K/M/G/T/P/E suffix.

    Returns (bytes, characters consumed); consumed == 0 means nothing was parsed. 6.12 (``saturate=False``)
    consumes a suffix even after no digits and wraps on overflow; 7.2 needs digits and saturates at ULLONG_MAX.
    """
    val, n = simple_strtoull(s, 0, saturate)
    shift = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}.get(s[n:n + 1].lower())
    if shift is None:
        return val, n
    if not saturate:
        return (val << shift) & ULONG_MAX, n + 1
    if n == 0:
        return val, n
    val = val << shift
    return (ULONG_MAX if val > ULONG_MAX else val), n + 1


def kstrtoull(s: str, base: int = 0) -> int:
    """``kstrtoull`` (lib/kstrtox.c): an optional ``+``, digits, one optional trailing newline, nothing else.
    Raises :class:`ParseError` with ERANGE on overflow, EINVAL otherwise."""
    if s.startswith("+"):
        s = s[1:]
    return _kstrtoull(s, base)


def _kstrtoull(s: str, base: int) -> int:
    base, pre = _fixup_radix(s, base)
    val, n, overflow = _parse_integer(s[pre:], base, saturate=True)
    if overflow:
        raise ParseError(errno.ERANGE)
    if n == 0:
        raise ParseError(errno.EINVAL)
    rest = s[pre + n:]
    if rest.startswith("\n"):
        rest = rest[1:]
    if rest:
        raise ParseError(errno.EINVAL)
    return val


def kstrtoint(s: str, base: int = 0) -> int:
    """``kstrtoint`` → ``kstrtoll`` (lib/kstrtox.c): signed, ERANGE outside ``int``."""
    if s.startswith("-"):
        tmp = _kstrtoull(s[1:], base)
        if tmp > (1 << 63):
            raise ParseError(errno.ERANGE)
        v = -tmp
    else:
        v = kstrtoull(s, base)
        if v > LONG_MAX:
            raise ParseError(errno.ERANGE)
    if not INT_MIN <= v <= INT_MAX:
        raise ParseError(errno.ERANGE)
    return v


def match_int(arg: str, saturate: bool = False) -> int | None:
    """A ``"name=%d"`` token (lib/parser.c ``match_one`` then ``match_int``): the argument must be consumed whole by
    ``simple_strtol`` (so no ``+``; ``"-"`` alone matches as 0), be shorter than ``NUMBER_BUF_LEN`` and fit an
    ``int``. Returns the value or None where the kernel's caller gets a mismatch or an error (memory.reclaim
    turns both into -EINVAL)."""
    _, n = simple_strtol(arg, 0, saturate)
    if n == 0 or n != len(arg):  # match_one: to == from, or text left after the number
        return None
    if len(arg) >= NUMBER_BUF_LEN:  # match_number: match_strlcpy truncated → -ERANGE
        return None
    v, _ = simple_strtol(arg, 0, saturate)
    if not INT_MIN <= v <= INT_MAX:
        return None
    return v


def page_counter_memparse(buf: str, page_size: int, counter_max: int, max_token: str = "max",
                          saturate: bool = False) -> int:
    """``page_counter_memparse(buf, "max", &nr_pages)`` (mm/page_counter.c): "max" or a byte size rounded down to
    pages, capped at PAGE_COUNTER_MAX. The caller strips ``buf`` first; an empty string is 0. Raises
    :class:`ParseError` (EINVAL) when text is left after the number."""
    if buf == max_token:
        return counter_max
    val, n = memparse(buf, saturate)
    if n != len(buf):
        raise ParseError(errno.EINVAL)
    return min(val // page_size, counter_max)


__all__ = [
    "INT_MAX",
    "INT_MIN",
    "NUMBER_BUF_LEN",
    "ULONG_MAX",
    "ParseError",
    "kstrtoint",
    "kstrtoull",
    "match_int",
    "memparse",
    "page_counter_memparse",
    "simple_strtol",
    "simple_strtoull",
    "strstrip",
]
