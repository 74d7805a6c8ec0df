"""The one-line summary of ``zswaplab replay``, in the style of libCacheSim's ``cachesim`` output.

The replay memcg is the cache (its size is ``memory.max``), zswap and swap are the levels behind it. A request
(trace event) *misses* when its page is not resident: its first access (a compulsory miss, as in cachesim), or
a fault that reads it back from zswap (``zswpin``) or from swap (``pswpin``). The zswap ratios are per request
(stores ``zswpout``, loads ``zswpin``, writebacks ``zswpwb``); zswap's own hit ratio is the share of the
faults it served (``zswpin / (zswpin + pswpin)``). Pure: computed from ``memory.stat`` of the replay memcg.
"""

from __future__ import annotations

from typing import Any

from zswaplab.lab import fmt


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def summary(*, trace: str, profile: str, memory_max: int, events: int, objects: int, stat: dict[str, int],
            seconds: float) -> dict[str, Any]:
    """The summary as a dict (what ``--json`` prints, with ``memory.stat`` alongside)."""
    zin, sin = stat.get("zswpin", 0), stat.get("pswpin", 0)
    misses = objects + zin + sin
    return {
        "trace": trace, "profile": profile, "cache_size_bytes": memory_max, "events": events, "objects": objects,
        "misses": misses, "miss_ratio": _ratio(misses, events),
        "hit_ratio": None if not events else 1 - misses / events,
        "first_access_ratio": _ratio(objects, events), "zswap_load_ratio": _ratio(zin, events),
        "swap_load_ratio": _ratio(sin, events), "zswap_store_ratio": _ratio(stat.get("zswpout", 0), events),
        "zswap_writeback_ratio": _ratio(stat.get("zswpwb", 0), events), "zswap_hit_ratio": _ratio(zin, zin + sin),
        "seconds": seconds, "events_per_s": _ratio(events, seconds) if seconds > 0 else None,  # type: ignore[arg-type]
    }


def line(s: dict[str, Any]) -> str:
    """``t.csv v5, cache size 1 MiB (memory.max), 5,000 req, miss ratio 0.4213, hit ratio 0.5787 | zswap store
    0.4400 load 0.3813 writeback 0.0000 per req, zswap hit ratio 1.0000 | 123,456 req/s``"""
    def r(x: float | None) -> str:
        return "–" if x is None else f"{x:.4f}"

    rate = "–" if s["events_per_s"] is None else f"{s['events_per_s']:,.0f}"
    return (f"{s['trace']} {s['profile']}, cache size {fmt.size(s['cache_size_bytes'])} (memory.max), "
            f"{s['events']:,} req, miss ratio {r(s['miss_ratio'])}, hit ratio {r(s['hit_ratio'])} | "
            f"zswap store {r(s['zswap_store_ratio'])} load {r(s['zswap_load_ratio'])} "
            f"writeback {r(s['zswap_writeback_ratio'])} per req, zswap hit ratio {r(s['zswap_hit_ratio'])} | "
            f"{rate} req/s")
