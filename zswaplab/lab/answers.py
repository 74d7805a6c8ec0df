"""One-sentence answers computed from a run's records (terminal, HTML report and demo lead with them).

Every sentence is built from the numbers of the runs it summarises: change the rows and the sentence changes.
Pure functions over ``(RunRecord, metrics)`` pairs; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import fmt
from .adapter import errno_name
from .records import RunRecord

Run = tuple[RunRecord, dict[str, Any]]


def never_written(m: dict[str, Any]) -> list[str]:
    """Eligible children that got no writeback at all over the whole run."""
    return [c for c, e in m.get("eligible_bytes", {}).items() if e > 0 and not m.get("pages", {}).get(c)]


def _label(r: RunRecord) -> str:
    return r.strategy or f"{r.profile} (its own walk)"


def _by_label(runs: Sequence[Run]) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {}
    for r, m in runs:
        out.setdefault(_label(r), []).append((r, m))
    return out


def _jain_range(group: Sequence[Run]) -> str:
    js = [m["jain"] for _r, m in group if m.get("jain") is not None]
    if not js:
        return "Jain –"
    lo, hi = min(js), max(js)
    return f"Jain {fmt.ratio(lo)}" if lo == hi else f"Jain {fmt.ratio(lo)}–{fmt.ratio(hi)}"


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _span(xs: Sequence[int]) -> str:
    return str(min(xs)) if min(xs) == max(xs) else f"{min(xs)}–{max(xs)}"


def fairness(runs: Sequence[Run]) -> str | None:
    """Does any strategy leave children without writeback? (runs with proactive calls over >= 2 children)"""
    runs = [(r, m) for r, m in runs if r.calls and len([e for e in m.get("eligible_bytes", {}).values() if e]) >= 2]
    if not runs:
        return None
    starving, even = [], []
    for label, group in _by_label(runs).items():
        bad = [m for _r, m in group if never_written(m)]
        (starving if bad else even).append((label, bad, group))
    ncalls = _span([m["calls"] for _r, m in runs])
    parts = []
    for label, bad, group in starving:
        worst = max(len(never_written(m)) for m in bad)
        nchild = max(len(m["eligible_bytes"]) for m in bad)
        where = "" if len(group) == 1 else f" in {len(bad)} of {len(group)} variants"
        parts.append(f"{label} left up to {worst} of {nchild} children with no writeback at all{where} "
                     f"({_jain_range(group)})")
    reached = ""
    if even:
        spans = {}
        for label, _b, g in even:
            cua = [m["calls_until_all"] for _r, m in g if m.get("calls_until_all") is not None]
            spans[label] = (_span(cua) if cua else "", _jain_range(g))
        if len(set(spans.values())) == 1:
            cua_s, jain = next(iter(spans.values()))
            reached = (f"{_join(list(spans))} reached every child" + (f" within {cua_s} calls" if cua_s else "")
                       + f" ({jain})")
        else:
            reached = ("every child was reached: " + ", ".join(
                f"by {label} within {c} calls ({j})" if c else f"by {label} ({j})" for label, (c, j) in spans.items()))
    if starving and even:
        return f"Yes: in {ncalls} calls " + "; ".join(parts) + f", while {reached}."
    if starving:
        return f"Yes, with every strategy: in {ncalls} calls " + "; ".join(parts) + "."
    return f"No: in {ncalls} calls {reached}."  # every strategy reached every child


def agent(runs: Sequence[Run], group: str = "inactive") -> str | None:
    """Did the agent stop before ``group`` memory was written back? (runs with an agent action)"""
    runs = [(r, m) for r, m in runs if r.agents]
    if not runs:
        return None
    short, full = [], []
    for r, _m in runs:
        a = r.agents[0]
        total = r.zswap_bytes.get(group)
        done = a.bytes_by_group.get(group, 0)
        ended = ", ".join(sorted({o for cyc in a.outcomes for o in cyc})) or "done"
        stop = (f"stopped at step {a.abort_step} on {fmt.child(a.abort_child)}'s refaults" if a.aborted
                else f"ended its cycle '{ended}' after {len(a.steps)} steps, without a guardrail trip,")
        if total and done < total:
            short.append(f"with {_label(r)} the agent {stop} having written back {fmt.size(done)} of "
                         f"{fmt.size(total)} of the {group} memory ({fmt.percent(done / total)})")
        else:
            full.append((_label(r), total))
    tail = ""
    if full:
        tot = {t for _l, t in full}
        amount = f"all {fmt.size(tot.pop())}" if len(tot) == 1 and None not in tot else "all of it"
        tail = f"{_join([label for label, _t in full])} wrote back {amount} before stopping"
    if short and full:
        return "Yes: " + "; ".join(short) + f"; {tail} (compressed bytes)."
    if short:
        return "Yes, with every strategy: " + "; ".join(short) + " (compressed bytes)."
    return f"No: {tail} (compressed bytes)."


def checks(runs: Sequence[Run], lead: bool = True) -> str | None:
    """Do the scenario's checks and expected errnos pass? (``lead``: the checks are the scenario's question,
    so the sentence starts with Yes/No; otherwise it starts with "Checks:")"""
    runs = [(r, m) for r, m in runs if r.checks or r.expects]
    if not runs:
        return None
    failed = [(r, [c.label or c.stat for c in r.checks if not c.passed]
               + [e.label or e.text for e in r.expects if not e.passed]) for r, _m in runs]
    bad = [(r, f) for r, f in failed if f]
    if not bad:
        return f"{'Yes' if lead else 'Checks'}: every check passes in all {len(runs)} variants."
    descr = []
    for r, f in bad:
        last = r.calls[-1] if r.calls else None
        call = (f"; its proactive call answered {errno_name(last.errno)} having written "
                f"{fmt.pages(sum(last.pages.values()))}") if last else ""
        descr.append(f"{r.variant} fails {', '.join(f)}{call}")
    return (f"{'No' if lead else 'Checks'}: {len(runs) - len(bad)} of {len(runs)} variants pass every check; "
            + "; ".join(descr) + ".")


def counters(runs: Sequence[Run], key: str = "counter.shrink_memcg_calls",
             per: str = "debugfs.written_back_pages") -> str | None:
    """How much work the global shrinker did per page written back, by variant (scenario d)."""
    rows = [(r, r.counters.get(key, 0) / r.counters[per]) for r, _m in runs
            if r.counters and not r.calls and not r.agents and r.counters.get(per)]
    if len(rows) < 2:
        return None
    rows.sort(key=lambda t: t[1])
    (lo, lo_r), (hi, hi_r) = rows[0], rows[-1]
    hits = {r.variant: r.counters.get("debugfs.pool_limit_hit", 0) for r, _x in rows}
    ratio = f" ({hi_r / lo_r:.0f}× fewer)" if lo_r else ""
    return (f"{lo.variant} needed {lo_r:.2f} shrink_memcg calls per page written back, {hi.variant} {hi_r:.2f}"
            f"{ratio}; the pool limit was hit {hits[lo.variant]} times with {lo.variant}, {hits[hi.variant]} with "
            f"{hi.variant}.")


def answer(runs: Sequence[Run]) -> list[str]:
    """Every answer that applies to these runs, most specific first."""
    main = [s for s in (agent(runs), fairness([(r, m) for r, m in runs if not r.agents]), counters(runs)) if s]
    chk = checks(runs, lead=not main)
    return main + ([chk] if chk else [])


__all__ = ["agent", "answer", "checks", "counters", "fairness", "never_written"]
