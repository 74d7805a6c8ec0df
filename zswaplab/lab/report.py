"""The self-contained HTML report of a scenario run (plots embedded as base64 PNG, no external files).

Plots: cumulative per-child writeback over calls (one panel per strategy), Jain's index over calls (one
line per strategy), and for agent runs (scenario b) the abort timeline: per-child refault rate of written-back
pages per step against the threshold, with the abort marked.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..common.units import fmt_bytes  # noqa: E402
from . import metrics as M  # noqa: E402
from .adapter import errno_name  # noqa: E402
from .records import RunRecord  # noqa: E402

MAX_GROUPS = 24

Run = tuple[RunRecord, dict[str, Any]]


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def group_by_non_strategy(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Variants that differ only in strategy, keyed by the other axes."""
    groups: dict[str, list[Run]] = {}
    for r, m in runs:
        key = ",".join(f"{k}={v}" for k, v in r.axes.items() if k != "strategy") or "all variants"
        groups.setdefault(key, []).append((r, m))
    return groups


def plot_cumulative(group: Sequence[Run], title: str) -> str:
    n = len(group)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.2), squeeze=False, sharey=True)
    for ax, (r, _m) in zip(axes[0], group, strict=True):
        cum = M.cumulative(r.calls, r.children, "bytes")
        xs = range(1, len(cum) + 1)
        for child in r.children:
            ax.plot(xs, [c[child] / (1 << 20) for c in cum], label=child.rsplit("/", 1)[-1], linewidth=1.2)
        ax.set_title(r.strategy or "profile default", fontsize=9)
        ax.set_xlabel("proactive calls")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("cumulative written back (MiB compressed)")
    if group and len(group[0][0].children) <= 12:
        axes[0][-1].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def plot_jain(group: Sequence[Run], title: str) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for r, _m in group:
        js = M.jain_over_calls(r.calls, r.eligible)
        ax.plot(range(1, len(js) + 1), [float("nan") if j is None else j for j in js],
                label=r.strategy or "profile default")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("proactive calls")
    ax.set_ylabel("Jain's index (normalised)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def plot_abort(r: RunRecord) -> str:
    agents = r.agents
    fig, axes = plt.subplots(1, 2 * len(agents), figsize=(10, 3.2), squeeze=False)
    for i, a in enumerate(agents):
        ax, ax2 = axes[0][2 * i], axes[0][2 * i + 1]
        steps = [s.step for s in a.steps]
        for child in (a.steps[0].refault_rate if a.steps else {}):
            ax.plot(steps, [s.refault_rate[child] for s in a.steps], marker=".", label=child.rsplit("/", 1)[-1])
            ax2.plot(steps, [s.written_pages[child] * 4096 / (1 << 20) for s in a.steps], marker=".",
                     label=child.rsplit("/", 1)[-1])
        ax.axhline(a.threshold, color="red", linestyle="--", linewidth=1, label="abort threshold")
        if a.aborted and a.abort_step is not None:
            for x in (ax, ax2):
                x.axvline(a.abort_step, color="black", linewidth=1)
        ax.set_xlabel("agent step")
        ax.set_ylabel("refault rate of written-back pages")
        ax2.set_xlabel("agent step")
        ax2.set_ylabel("written back (MiB of pages)")
        ax.legend(fontsize=7)
        ax2.legend(fontsize=7)
        for x in (ax, ax2):
            x.grid(alpha=0.3)
    fig.suptitle(f"{r.variant}: {'aborted at step ' + str(agents[0].abort_step) if agents[0].aborted else 'no abort'}",
                 fontsize=9)
    return _png(fig)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, list):
        return str(len(v))
    return html.escape(str(v))


def summary_rows(runs: Sequence[Run]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-variant metrics table (shared by the HTML report and the terminal)."""
    header = ["variant", "calls", "OK", "written", "Jain", "CV", "min share", "max share", "starved@10",
              "calls→all", "active share"]
    rows = []
    for r, m in runs:
        res = m.get("call_results", {})
        rows.append([
            r.variant, str(m.get("calls", 0)), str(res.get("OK", 0)), fmt_bytes(m.get("total_bytes", 0)),
            _fmt(m.get("jain")), _fmt(m.get("cv")), _fmt(m.get("min_share")), _fmt(m.get("max_share")),
            _fmt(m.get("starved_after", {}).get("10")), _fmt(m.get("calls_until_all")),
            _fmt(m.get("active_share")),
        ])
    return header, rows


def agent_rows(runs: Sequence[Run]) -> tuple[list[str], list[list[str]]]:
    header = ["variant", "aborted", "abort step", "abort child", "inactive written", "active written", "steps"]
    rows = []
    for r, _m in runs:
        for a in r.agents:
            rows.append([
                r.variant, "yes" if a.aborted else "no", _fmt(a.abort_step), _fmt(a.abort_child),
                fmt_bytes(a.bytes_by_group.get("inactive", 0)), fmt_bytes(a.bytes_by_group.get("active", 0)),
                str(len(a.steps)),
            ])
    return header, rows


def check_rows(runs: Sequence[Run]) -> tuple[list[str], list[list[str]]]:
    header = ["variant", "check", "expected", "actual", "result"]
    rows = []
    for r, _m in runs:
        for e in r.expects:
            rows.append([r.variant, f"{e.label or 'write'}: {e.text!r}", "/".join(e.expected), e.got,
                         "PASS" if e.passed else "FAIL"])
        for c in r.checks:
            rows.append([r.variant, c.label or f"{c.memcg} {c.stat}", f"{c.op} {c.expected}", _fmt(c.actual),
                         "PASS" if c.passed else "FAIL"])
    return header, rows


def call_rows(runs: Sequence[Run], max_calls: int = 10) -> tuple[list[str], list[list[str]]]:
    """Every proactive call of the runs that made few of them (the selftests, the v5 edge case)."""
    header = ["variant", "call", "request", "result", "pages written", "bytes written"]
    rows = []
    for r, _m in runs:
        if len(r.calls) > max_calls:
            continue
        for c in r.calls:
            rows.append([r.variant, str(c.index), f"{c.file}: {c.text}", errno_name(c.errno),
                         str(sum(c.pages.values())), fmt_bytes(sum(c.bytes.values()))])
    return header, rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px}
table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px}
th{background:#eee}img{max-width:100%;margin:.3em 0}h2{margin-top:1.5em}.note{color:#555;font-size:12px}"""


def write_report(out: Path, title: str, description: str, runs: Sequence[Run], question: str = "") -> Path:
    """Write ``out/report.html`` for a scenario's runs and return its path."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    if question:
        parts.append(f"<p><b>Question:</b> {html.escape(question)}</p>")
    parts.append(f"<p>{html.escape(description)}</p>")
    parts.append("<h2>Fairness and harm metrics</h2>")
    parts.append(_table(*summary_rows(runs)))
    ar = agent_rows(runs)
    if ar[1]:
        parts.append("<h2>Agent runs (premature abort)</h2>")
        parts.append(_table(*ar))
    cr = check_rows(runs)
    if cr[1]:
        parts.append("<h2>Checks</h2>")
        parts.append(_table(*cr))
    calls = call_rows(runs)
    if calls[1]:
        parts.append("<h2>Proactive calls</h2>")
        parts.append(_table(*calls))
    groups = group_by_non_strategy([(r, m) for r, m in runs if r.calls])
    if groups:
        parts.append("<h2>Cumulative per-child writeback and Jain's index over calls</h2>")
        for i, (key, group) in enumerate(groups.items()):
            if i >= MAX_GROUPS:
                parts.append(f"<p class='note'>{len(groups) - MAX_GROUPS} more variant groups not plotted; "
                             "see summary.json.</p>")
                break
            parts.append(f"<h3>{html.escape(key)}</h3>")
            parts.append(_img(plot_cumulative(group, key), f"cumulative writeback {key}"))
            parts.append(_img(plot_jain(group, key), f"Jain over calls {key}"))
    agent_runs = [r for r, _m in runs if r.agents]
    if agent_runs:
        parts.append("<h2>Abort timeline</h2>")
        for r in agent_runs[:MAX_GROUPS]:
            parts.append(_img(plot_abort(r), f"abort timeline {r.variant}"))
    parts.append("</body></html>\n")
    out.mkdir(parents=True, exist_ok=True)
    p = out / "report.html"
    p.write_text("".join(parts))
    return p
