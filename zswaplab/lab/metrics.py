"""Fairness and harm metrics (issue 3 §4): pure functions over recorded data (:mod:`zswaplab.lab.records`).

Definitions
-----------
* share_i = w_i / Σ w (pages or bytes written back from child i over the run).
* Jain's index over x_1..x_n: (Σx)² / (n·Σx²) ∈ [1/n, 1]; 1 = perfectly even. Here x_i = bytes written from
  child i / child i's eligible zswap bytes (so children holding more zswap are expected to give more);
  only children with eligible bytes > 0 count. Undefined (None) when nothing was written.
* CV = population standard deviation / mean of the same x_i (0 = even).
* starved after K calls: eligible children with nothing written back in the first K calls.
* calls until all: the first call count after which every eligible child has had writeback (None if never).
* active share: the fraction of proactively written-back pages read back from disk within ``window``
  seconds of their writeback — refaults the agent will see (kernel-semantics §3.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from .records import CallRecord, RefaultRecord, WritebackRecord


def jain_index(xs: Sequence[float]) -> float | None:
    """Jain's fairness index (Σx)²/(n·Σx²); None if the sequence is empty or all zero."""
    if not xs or max(xs) <= 0:
        return None
    m = max(xs)
    ys = [x / m for x in xs]  # scale first: avoids underflow of x*x for tiny values
    s = math.fsum(ys)
    sq = math.fsum(y * y for y in ys)
    j = s * s / (len(ys) * sq)
    return min(1.0, max(1.0 / len(xs), j))  # clamp float rounding into the mathematical bounds


def coefficient_of_variation(xs: Sequence[float]) -> float | None:
    """Population standard deviation / mean; None if empty or the mean is 0."""
    if not xs:
        return None
    mean = math.fsum(xs) / len(xs)
    if mean == 0:
        return None
    var = math.fsum((x - mean) ** 2 for x in xs) / len(xs)
    return math.sqrt(var) / mean


def shares(totals: Mapping[str, int]) -> dict[str, float]:
    """Each key's fraction of the total (all 0.0 when the total is 0)."""
    t = sum(totals.values())
    return {k: (v / t if t else 0.0) for k, v in totals.items()}


def totals(calls: Iterable[CallRecord], children: Sequence[str], unit: str = "bytes") -> dict[str, int]:
    """Per-child sum of pages or bytes over ``calls``."""
    out = dict.fromkeys(children, 0)
    for c in calls:
        per = c.bytes if unit == "bytes" else c.pages
        for child in children:
            out[child] += per.get(child, 0)
    return out


def normalised(written: Mapping[str, int], eligible: Mapping[str, int]) -> dict[str, float]:
    """x_i = written_i / eligible_i for every child with eligible_i > 0."""
    return {k: written.get(k, 0) / e for k, e in eligible.items() if e > 0}


def jain_normalised(written: Mapping[str, int], eligible: Mapping[str, int]) -> float | None:
    return jain_index(list(normalised(written, eligible).values()))


def cumulative(calls: Sequence[CallRecord], children: Sequence[str], unit: str = "bytes") -> list[dict[str, int]]:
    """Per-child running totals after each call (one dict per call)."""
    run = dict.fromkeys(children, 0)
    out = []
    for c in calls:
        per = c.bytes if unit == "bytes" else c.pages
        for child in children:
            run[child] += per.get(child, 0)
        out.append(dict(run))
    return out


def jain_over_calls(calls: Sequence[CallRecord], eligible: Mapping[str, int]) -> list[float | None]:
    """Jain's index (normalised to eligible bytes) of the cumulative split after each call."""
    return [jain_normalised(cum, eligible) for cum in cumulative(calls, list(eligible), "bytes")]


def starved_after(calls: Sequence[CallRecord], eligible: Mapping[str, int], k: int) -> list[str]:
    """Eligible children with no writeback in the first ``k`` calls (sorted by name order given)."""
    got = totals(calls[:k], list(eligible), "pages")
    return [c for c, e in eligible.items() if e > 0 and got[c] == 0]


def calls_until_all(calls: Sequence[CallRecord], eligible: Mapping[str, int]) -> int | None:
    """The first call count n such that every eligible child had writeback within the first n calls."""
    want = {c for c, e in eligible.items() if e > 0}
    if not want:
        return None
    seen: set[str] = set()
    for i, c in enumerate(calls, start=1):
        seen.update(ch for ch, p in c.pages.items() if p > 0 and ch in want)
        if seen >= want:
            return i
    return None


def active_share(
    writebacks: Iterable[WritebackRecord], refaults: Iterable[RefaultRecord], window_s: float
) -> float | None:
    """Fraction of proactive writebacks whose page was read back from disk within ``window_s`` seconds.

    A page written back twice counts twice; each writeback is matched with the first refault of the same
    page at or after it. None if there were no proactive writebacks.
    """
    window_ns = int(window_s * 1e9)
    by_page: dict[int, list[int]] = {}
    for r in refaults:
        by_page.setdefault(r.page_id, []).append(r.clock_ns)
    for v in by_page.values():
        v.sort()
    n = hits = 0
    for w in writebacks:
        if not w.proactive:
            continue
        n += 1
        for t in by_page.get(w.page_id, ()):
            if t >= w.clock_ns:
                if t - w.clock_ns <= window_ns:
                    hits += 1
                break
    return hits / n if n else None


def summarize(
    calls: Sequence[CallRecord],
    eligible: Mapping[str, int],
    writebacks: Sequence[WritebackRecord],
    refaults: Sequence[RefaultRecord],
    *,
    starve_k: Sequence[int] = (10, 50, 200),
    active_window: float = 10.0,
) -> dict:
    """All §4 metrics of one run as a JSON-ready dict."""
    children = list(eligible)
    tp = totals(calls, children, "pages")
    tb = totals(calls, children, "bytes")
    sp = shares(tp)
    sb = shares(tb)
    xs = list(normalised(tb, eligible).values())
    elig_sb = [sb[c] for c in children if eligible[c] > 0]
    errnos: dict[str, int] = {}
    for c in calls:
        key = "OK" if c.errno == 0 else str(c.errno)
        errnos[key] = errnos.get(key, 0) + 1
    return {
        "calls": len(calls),
        "call_results": errnos,
        "children": children,
        "eligible_bytes": dict(eligible),
        "pages": tp,
        "bytes": tb,
        "share_pages": sp,
        "share_bytes": sb,
        # everything the calls wrote, including memcgs that are not children of the metrics parent (a target
        # without children writes its own entries: the selftests)
        "total_pages": sum(sum(c.pages.values()) for c in calls),
        "total_bytes": sum(sum(c.bytes.values()) for c in calls),
        "jain": jain_index(xs),
        "cv": coefficient_of_variation(xs),
        "min_share": min(elig_sb) if elig_sb else None,
        "max_share": max(elig_sb) if elig_sb else None,
        "starved_after": {str(k): starved_after(calls, eligible, k) for k in starve_k},
        "calls_until_all": calls_until_all(calls, eligible),
        "active_share": active_share(writebacks, refaults, active_window),
        "active_window_s": active_window,
    }
