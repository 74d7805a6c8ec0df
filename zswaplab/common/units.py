"""Sizes, durations and rates written in scenario files and agent policies.

Sizes follow the kernel's ``memparse`` (binary suffixes K, M, G, T; an optional trailing ``B``/``iB`` is
accepted for readability): ``"4M"`` = 4 MiB. Durations accept ``ms``, ``s``, ``m``, ``h`` or a bare number
of seconds. Rates are ``<size>/s`` in bytes per second.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*$")  # whole numbers, as memparse
_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}
_DUR_MULT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_size(value: object) -> int:
    """Bytes of a size like ``4M``, ``512K``, ``1G``, ``4096`` or an int (bytes)."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r} (use bytes or a K/M/G/T suffix, e.g. '4M')")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size must be >= 0, got {value}")
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            return int(m.group(1)) << _SHIFT[m.group(2).lower()]
    raise ValueError(f"not a size: {value!r} (use bytes or a K/M/G/T suffix, e.g. '4M')")


def parse_duration(value: object) -> float:
    """Seconds of a duration like ``500ms``, ``30s``, ``5m``, ``1h`` or a number (seconds)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '30s', got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration must be >= 0, got {value}")
        return float(value)
    if isinstance(value, str):
        m = _DUR.match(value)
        if m:
            return float(m.group(1)) * _DUR_MULT[m.group(2)]
    raise ValueError(f"expected a duration like '30s' (units ms, s, m, h), got {value!r}")


def parse_rate(value: object) -> float:
    """Bytes per second of a rate like ``4M/s`` or a number (bytes per second)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("/s"):
            raise ValueError(f"expected a rate like '4M/s', got {value!r}")
        return float(parse_size(text[:-2]))
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ValueError(f"expected a rate like '4M/s', got {value!r}")


@lru_cache(maxsize=256)
def format_size(n: int) -> str:
    """The shortest exact ``memparse`` spelling of ``n`` bytes (``4194304`` -> ``4M``)."""
    for suffix, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{suffix}"
    return str(n)


memparse = parse_size  # the name the lab uses for the same thing


def fmt_bytes(n: float, sep: str = "", unit: str = "", small: str = "") -> str:
    """Short human form: 65536 → '64K', 1572864 → '1.5M'; ``fmt_bytes(65536, " ", "iB", " B")`` → '64 KiB'."""
    for suffix, mult in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if abs(n) >= mult:
            v = n / mult
            return f"{v:.0f}{sep}{suffix}{unit}" if v == int(v) else f"{v:.1f}{sep}{suffix}{unit}"
    return f"{int(n)}{small}"
