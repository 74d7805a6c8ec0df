"""The lab's tables as plain rows of strings, shared by the terminal and the HTML report.

:func:`summary` is the short table (one row per variant: the axes that vary, then the few numbers that answer
the scenario's question) that fits 80 columns; the ``*_rows`` functions are the details shown on demand
(``--details``, and below the summary in the HTML report). Every number carries its unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..common.termtable import numeric
from . import fmt
from .adapter import errno_name
from .answers import never_written
from .records import RunRecord

Run = tuple[RunRecord, dict[str, Any]]
Rows = tuple[list[str], list[list[str]]]

GLOSSARY = {
    "Jain": "Jain's fairness index of the per-child writeback, each child's bytes divided by its eligible zswap "
            "bytes: 1 = every child gave the same fraction, 1/n = one child gave everything",
    "CV": "coefficient of variation of the same per-child fractions (0 = even)",
    "never written": "children holding zswap that got no writeback at all during the run",
    "all by call": "the first call after which every child had had some writeback ('never': not in this run)",
    "starved after K": "children with no writeback in the first K calls",
    "active share": "fraction of written-back pages read back from disk within the active window "
                    "(refaults the agent sees)",
    "OK calls": "proactive calls that returned 0 (the others failed with the errno shown in calls.jsonl)",
    "written": "compressed bytes written back to swap by the proactive calls",
    "stopped at step": "the agent step after which a guardrail tripped and ended the agent's cycle",
}

COUNTERS = {
    "counter.shrink_memcg_calls": "shrink_memcg calls",
    "counter.shrink_worker_wakeups": "worker wakeups",
    "counter.shrink_worker_runs": "worker runs",
    "debugfs.written_back_pages": "pages written back",
    "debugfs.pool_limit_hit": "pool limit hits",
}


def varying_axes(runs: Sequence[Run]) -> list[str]:
    """The matrix axes whose value differs between the runs (in matrix order)."""
    keys: list[str] = []
    for r, _m in runs:
        keys += [k for k in r.axes if k not in keys]
    return [k for k in keys if len({str(r.axes.get(k)) for r, _m in runs}) > 1]


def _axes_cells(r: RunRecord, axes: list[str]) -> list[str]:
    return [str(r.axes.get(k, "–")) for k in axes] if axes else [r.variant]


def _check_cell(r: RunRecord) -> str:
    n = len(r.checks) + len(r.expects)
    ok = sum(c.passed for c in r.checks) + sum(e.passed for e in r.expects)
    return f"{'PASS' if ok == n else 'FAIL'} {ok}/{n}"


def summary(runs: Sequence[Run]) -> tuple[list[str], list[list[str]], list[int]]:
    """The short table: header, rows, and the indexes of the axis columns (left-aligned, never wrapped)."""
    axes = varying_axes(runs)
    header = list(axes) or ["variant"]
    naxes = len(header)
    fair = any(r.calls and len(m.get("eligible_bytes", {})) >= 2 for r, m in runs)
    agent = any(r.agents for r, _m in runs)
    few = not fair and not agent and any(r.calls for r, _m in runs)
    checks = any(r.checks or r.expects for r, _m in runs)
    counters = any(r.counters and not r.calls and not r.agents for r, _m in runs)
    if agent:
        header += ["stopped at step", "by child", "inactive written", "active written"]
    elif fair:
        header += ["Jain", "never written", "all by call", "written"]
    if few:
        header += ["calls", "last answer", "written"]
    if counters and not (fair or agent or few):
        header += ["shrink_memcg calls", "worker wakeups", "pages written back"]
    if checks:
        header += ["checks"]
    rows = []
    for r, m in runs:
        row = _axes_cells(r, axes)
        if agent:
            a = r.agents[0] if r.agents else None
            tot = r.zswap_bytes.get("inactive")
            row += ([str(a.abort_step) if a.aborted else "no trip", fmt.child(a.abort_child),
                     fmt.size(a.bytes_by_group.get("inactive", 0)) + (f" of {fmt.size(tot)}" if tot else ""),
                     fmt.size(a.bytes_by_group.get("active", 0))] if a else ["–"] * 4)
        elif fair:
            nw = len(never_written(m))
            row += [fmt.ratio(m.get("jain")), f"{nw} of {len(m.get('eligible_bytes', {}))}",
                    str(m["calls_until_all"]) if m.get("calls_until_all") else "never", fmt.size(m.get("total_bytes"))]
        if few:
            last = r.calls[-1] if r.calls else None
            row += [str(len(r.calls)), errno_name(last.errno) if last else "–", fmt.pages(m.get("total_pages"))]
        if counters and not (fair or agent or few):
            row += [str(r.counters.get(k, 0)) for k in ("counter.shrink_memcg_calls", "counter.shrink_worker_wakeups",
                                                       "debugfs.written_back_pages")]
        if checks:
            row += [_check_cell(r)]
        rows.append(row)
    return header, rows, list(range(naxes))


def metric_rows(runs: Sequence[Run]) -> Rows:
    """Every fairness/harm metric per variant (details)."""
    ks = sorted({int(k) for _r, m in runs for k in m.get("starved_after", {})})
    header = ["variant", "OK calls", "written", "Jain", "CV", "min share", "max share",
              *[f"starved after {k}" for k in ks], "all by call", "active share"]
    rows = []
    for r, m in runs:
        res = m.get("call_results", {})
        rows.append([
            r.variant, f"{res.get('OK', 0)} of {m.get('calls', 0)}", fmt.size(m.get("total_bytes", 0)),
            fmt.ratio(m.get("jain"), 3), fmt.ratio(m.get("cv"), 3), fmt.percent(m.get("min_share")),
            fmt.percent(m.get("max_share")),
            *[str(len(m.get("starved_after", {}).get(str(k), []))) for k in ks],
            str(m["calls_until_all"]) if m.get("calls_until_all") else "never", fmt.percent(m.get("active_share")),
        ])
    return header, rows


def agent_rows(runs: Sequence[Run]) -> Rows:
    header = ["variant", "outcome per cycle", "stopped at step", "by child", "guardrail", "inactive written",
              "active written", "steps"]
    rows = []
    for r, _m in runs:
        for a in r.agents:
            rows.append([
                r.variant, " / ".join(",".join(o) for o in a.outcomes) or "–",
                str(a.abort_step) if a.aborted else "no trip", fmt.child(a.abort_child),
                f"refaults > {fmt.rate(a.threshold)}", fmt.size(a.bytes_by_group.get("inactive", 0)),
                fmt.size(a.bytes_by_group.get("active", 0)), str(len(a.steps)),
            ])
    return header, rows


def check_rows(runs: Sequence[Run]) -> Rows:
    header = ["variant", "check", "expected", "actual", "result"]
    rows = []
    for r, _m in runs:
        for e in r.expects:
            rows.append([r.variant, f"{e.label or 'write'} ({e.text})", "/".join(e.expected), e.got,
                         "PASS" if e.passed else "FAIL"])
        for c in r.checks:
            rows.append([r.variant, c.label or f"{c.memcg} {c.stat}", f"{c.op} {c.expected}",
                         "–" if c.actual is None else str(c.actual), "PASS" if c.passed else "FAIL"])
    return header, rows


def call_rows(runs: Sequence[Run], max_calls: int = 10) -> Rows:
    """Every proactive call of the runs that made few of them (the selftests, the v5 edge case)."""
    header = ["variant", "call", "request", "answer", "written"]
    rows = []
    for r, _m in runs:
        if len(r.calls) > max_calls:
            continue
        for c in r.calls:
            rows.append([r.variant, f"#{c.index}", f"{c.file}: {c.text}", errno_name(c.errno),
                         f"{fmt.pages(sum(c.pages.values()))}, {fmt.size(sum(c.bytes.values()))}"])
    return header, rows


def counter_rows(runs: Sequence[Run]) -> Rows:
    keys = list(COUNTERS)
    rows = [[r.variant, *(str(r.counters.get(k, 0)) for k in keys)] for r, _m in runs
            if r.counters and not r.calls and not r.agents]
    return ["variant", *COUNTERS.values()], rows


__all__ = ["COUNTERS", "GLOSSARY", "agent_rows", "call_rows", "check_rows", "counter_rows", "metric_rows",
           "numeric", "summary", "varying_axes"]
