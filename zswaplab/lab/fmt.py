"""Numbers with their units, as the lab prints them (terminal, HTML, demo).

Sizes are binary (KiB = 1024 bytes). Every size the lab shows of zswap content is *compressed* bytes unless it
says "uncompressed"; page counts say "pages".
"""

from __future__ import annotations

from typing import Any

from ..common.units import fmt_bytes


def size(n: float | None) -> str:
    """``524288`` → ``"512 KiB"``; ``1572864`` → ``"1.5 MiB"``; ``100`` → ``"100 B"``."""
    if n is None:
        return "–"
    return fmt_bytes(n, " ", "iB", " B")


def rate(bps: float | None) -> str:
    """Bytes per second: ``65536`` → ``"64 KiB/s"``."""
    return "–" if bps is None else f"{size(bps)}/s"


def pages(n: int | None) -> str:
    return "–" if n is None else f"{n} page" + ("" if n == 1 else "s")


def ratio(x: float | None, digits: int = 2) -> str:
    """A dimensionless index (Jain's index, CV, a share): fixed decimals, '–' when undefined."""
    return "–" if x is None else f"{x:.{digits}f}"


def percent(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def count(n: Any, unit: str) -> str:
    """``count(3, "call")`` → ``"3 calls"``."""
    if n is None:
        return "–"
    return f"{n} {unit}" + ("" if n == 1 else "s")


def child(path: str | None) -> str:
    """A child's name as the lab prints it: its last path component (``/parent/c0`` → ``c0``)."""
    return "–" if not path else path.rsplit("/", 1)[-1] or "/"


# memory.stat keys (and the lab's own stats.csv columns) and what their numbers count
_STAT_UNITS = {"zswap": "bytes, compressed", "zswapped": "bytes, uncompressed", "zswap_incomp": "bytes",
               "anon": "bytes", "file": "bytes", "kernel": "bytes", "shmem": "bytes", "inactive_anon": "bytes",
               "active_anon": "bytes", "zswpwb_proactive_b": "bytes, compressed", "pgmajfault": "faults"}


def stat_unit(key: str) -> str:
    """The unit of a memory.stat key: sizes are bytes, ``zswp*``/``pswp*`` events count pages."""
    if key in _STAT_UNITS:
        return _STAT_UNITS[key]
    return "pages" if key.startswith(("zswp", "pswp")) else ""
