"""Size parsing and formatting (the kernel's ``memparse`` suffixes: K, M, G, T, binary)."""

from __future__ import annotations

import re

_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_RE = re.compile(r"^\s*(\d+)\s*([KMGTkmgt]?)(?:i?[Bb])?\s*$")


def memparse(value: int | str) -> int:
    """Bytes of ``value``: an int, or a string like ``"64K"``, ``"1600M"``, ``"4096"`` (memparse, lib/cmdline.c)."""
    if isinstance(value, bool):
        raise ValueError("a size must be an integer or a string like '64K'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size must be >= 0")
        return value
    if isinstance(value, str):
        m = _RE.match(value)
        if m:
            return int(m.group(1)) * _SUFFIX[m.group(2).upper()]
    raise ValueError(f"not a size: {value!r} (use bytes or a K/M/G/T suffix, e.g. '64K')")


def fmt_bytes(n: float) -> str:
    """Short human form: 65536 → '64K', 1572864 → '1.5M'."""
    for suffix, mult in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if abs(n) >= mult:
            v = n / mult
            return f"{v:.0f}{suffix}" if v == int(v) else f"{v:.1f}{suffix}"
    return f"{int(n)}"
