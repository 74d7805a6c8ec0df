"""The self-contained HTML report of a scenario run (plots embedded as base64 PNG, no external files).

The page leads with the answer to the scenario's question (computed from the runs, :mod:`zswaplab.lab.answers`),
then the summary table (:func:`zswaplab.lab.tables.summary`), the plots, and the details (every metric,
agent run, check and call) with a glossary.

Plots: Jain's index over calls (one small panel per group of the non-strategy axes, one line per strategy),
cumulative per-child writeback over calls (one panel per strategy), and for agent runs (scenario b) the
timeline: per-child refault rate per step against the guardrail, and per-child writeback. Lines that coincide
stay visible: each line has its own marker and dash pattern, and the later-drawn ones are thinner.
"""

from __future__ import annotations

import base64
import html
import io
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from . import answers, fmt, tables  # noqa: E402
from . import metrics as M  # noqa: E402
from .records import RunRecord  # noqa: E402

MAX_GROUPS = 8  # cumulative-writeback figures (one per group of the other axes); Jain covers every group
FONT = 11  # points, at the figure's size: legible on a slide

Run = tuple[RunRecord, dict[str, Any]]

STYLES = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", (0, (5, 1))), ("P", (0, (3, 1, 1, 1))),
          ("X", (0, (1, 2))), ("*", (0, (8, 2)))]


def _rc() -> dict[str, Any]:
    return {"font.size": FONT, "axes.titlesize": FONT, "axes.labelsize": FONT, "legend.fontsize": FONT - 1,
            "xtick.labelsize": FONT - 1, "ytick.labelsize": FONT - 1}


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _style(i: int, n_points: int) -> dict[str, Any]:
    """Marker + dash pattern of line ``i``; markers thinned out so that long lines stay readable."""
    marker, ls = STYLES[i % len(STYLES)]
    every = max(1, n_points // 12)
    return {"marker": marker, "linestyle": ls, "markevery": (i % every, every), "markersize": 6 - min(i, 3),
            "linewidth": 2.2 - 0.3 * min(i, 4), "markerfacecolor": "none" if i % 2 else None}


def group_by_non_strategy(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Variants that differ only in strategy, keyed by the other axes."""
    groups: dict[str, list[Run]] = {}
    for r, m in runs:
        key = ",".join(f"{k}={v}" for k, v in r.axes.items() if k != "strategy") or "all variants"
        groups.setdefault(key, []).append((r, m))
    return groups


def plot_cumulative(group: Sequence[Run]) -> str:
    """One panel per strategy: each child's cumulative compressed bytes written back, over calls."""
    n = len(group)
    with plt.rc_context(_rc()):
        fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False, sharey=True)
        for ax, (r, _m) in zip(axes[0], group, strict=True):
            cum = M.cumulative(r.calls, r.children, "bytes")
            xs = range(1, len(cum) + 1)
            for i, child in enumerate(r.children):
                ax.plot(xs, [c[child] / (1 << 20) for c in cum], label=fmt.child(child), **_style(i, len(cum)))
            ax.set_title(r.strategy or "profile default")
            ax.set_xlabel("proactive calls")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("written back per child\n(MiB, compressed)")
        if group and 0 < len(group[0][0].children) <= 12:
            axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), title="child", frameon=False)
        return _png(fig)


def plot_jain(groups: dict[str, list[Run]]) -> str:
    """Small multiples: one panel per group of the other axes, one line per strategy (Jain's index)."""
    keys = list(groups)
    cols = min(4, len(keys))
    rows = math.ceil(len(keys) / cols)
    with plt.rc_context(_rc()):
        fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False, sharey=True,
                                 sharex=True)
        for ax in axes.flat[len(keys):]:
            ax.set_visible(False)
        handles: dict[str, Any] = {}
        for ax, key in zip(axes.flat, keys, strict=False):
            for i, (r, _m) in enumerate(groups[key]):
                js = [float("nan") if j is None else j for j in M.jain_over_calls(r.calls, r.eligible)]
                (line,) = ax.plot(range(1, len(js) + 1), js, **_style(i, len(js)))
                handles.setdefault(r.strategy or "profile default", line)
            ax.set_ylim(0, 1.05)
            ax.set_title(key if len(keys) > 1 else "", fontsize=FONT - 2)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        for ax in axes[-1]:
            ax.set_xlabel("proactive calls")
        for ax in axes[:, 0]:
            ax.set_ylabel("Jain's index")
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(4, len(handles)),
                   bbox_to_anchor=(0.5, 1.0), frameon=False)
        return _png(fig)


def plot_agent(r: RunRecord) -> str:
    """Per agent run: each child's refault rate per step against the guardrail, and what it wrote back."""
    agents = r.agents
    with plt.rc_context(_rc()):
        fig, axes = plt.subplots(1, 2 * len(agents), figsize=(10, 3.4), squeeze=False)
        for i, a in enumerate(agents):
            ax, ax2 = axes[0][2 * i], axes[0][2 * i + 1]
            steps = [s.step for s in a.steps]
            for j, child in enumerate(a.steps[0].refault_rate if a.steps else {}):
                st = _style(j, len(steps))
                ax.plot(steps, [s.refault_rate[child] / 1024 for s in a.steps], label=fmt.child(child), **st)
                ax2.plot(steps, [s.written_pages[child] for s in a.steps], label=fmt.child(child), **st)
            ax.axhline(a.threshold / 1024, color="red", linestyle="--", linewidth=1.2, label="guardrail")
            if a.aborted and a.abort_step is not None:
                for x in (ax, ax2):
                    x.axvline(a.abort_step, color="black", linewidth=1, label="trip" if x is ax else None)
            ax.set_ylabel("refaults (KiB/s)")
            ax2.set_ylabel("written back (pages)")
            for x in (ax, ax2):
                x.set_xlabel("agent step")
                x.xaxis.set_major_locator(MaxNLocator(integer=True))
                x.grid(alpha=0.3)
                x.legend()
            ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        return _png(fig)


def plot_counters(runs: Sequence[Run]) -> str:
    """Global shrinker work per page written back, one bar per variant (scenario d)."""
    rs = [r for r, _m in runs if r.counters and not r.calls and not r.agents]
    keys = [("counter.shrink_memcg_calls", "shrink_memcg calls"), ("counter.shrink_worker_wakeups", "worker wakeups")]
    with plt.rc_context(_rc()):
        fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
        for ax, (k, label) in zip(axes[0], keys, strict=True):
            vals = [r.counters.get(k, 0) / max(1, r.counters.get("debugfs.written_back_pages", 0)) for r in rs]
            bars = ax.bar([r.variant.replace(",", "\n") for r in rs], vals, color=["#4477aa", "#ee6677"] * len(rs))
            ax.bar_label(bars, fmt="%.3g")
            ax.set_ylabel(f"{label}\nper page written back")
            ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        return _png(fig)


def plot_series(series: dict[str, list[float]], key: str, variant: str, path: Path, unit: str = "") -> Path:
    """A stats.csv key over the steps, one line per memcg (``zswaplab timeline --png``)."""
    with plt.rc_context(_rc()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for i, (memcg, ys) in enumerate(series.items()):
            ax.plot(range(len(ys)), ys, label=memcg, **_style(i, len(ys)))
        ax.set_xlabel("step (setup, then one per action / call / agent step)")
        ax.set_ylabel(f"{key} ({unit})" if unit else key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(series) <= 12:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
        ax.set_title(variant, fontsize=FONT - 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(_png(fig)))
    return path


def _table(header: list[str], rows: list[list[str]], left: Sequence[int] = (0,)) -> str:
    nums = {i for i in range(len(header)) if i not in left and tables.numeric([r[i] for r in rows])}

    def cls(i: int) -> str:
        return " class='num'" if i in nums else ""

    h = "".join(f"<th{cls(i)}>{html.escape(x)}</th>" for i, x in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{html.escape(c)}</td>" for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;line-height:1.4}
table{border-collapse:collapse;font-size:14px;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#eee;text-align:left}.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;margin:.3em 0}h2{margin-top:1.5em}.note{color:#555;font-size:14px}
.answer{font-size:1.15em;background:#eef6ee;border-left:4px solid #3a3;padding:.6em 1em;margin:.4em 0}
details{margin:.8em 0}summary{cursor:pointer;font-weight:bold}dt{font-weight:bold}dd{margin:0 0 .5em 1.5em}"""


def _jain_note(groups: dict[str, list[Run]]) -> str:
    late = sorted({(next((i for i, j in enumerate(M.jain_over_calls(r.calls, r.eligible), 1) if j is not None),
                         None), r.strategy or r.profile) for g in groups.values() for r, _m in g
                   if r.calls and M.jain_over_calls(r.calls, r.eligible)[0] is None}, key=str)
    if not late:
        return ""
    first = [n for n, _s in late if n is not None]
    span = f" (here up to call {max(first)})" if first else ""
    return ("<p class='note'>A line starts late where the first calls wrote nothing: Jain's index is undefined "
            f"until the first page is written back{span}. With v5, freshly stored entries are referenced: the "
            "first calls only rotate them (second chance).</p>")


def write_report(out: Path, title: str, description: str, runs: Sequence[Run], question: str = "") -> Path:
    """Write ``out/report.html`` for a scenario's runs and return its path."""
    runs = list(runs)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    if question:
        parts.append(f"<p><b>Question:</b> {html.escape(question)}</p>")
    for a in answers.answer(runs):
        parts.append(f"<p class='answer'><b>Answer:</b> {html.escape(a)}</p>")
    parts.append(f"<p>{html.escape(description)}</p>")
    h, rows, left = tables.summary(runs)
    parts.append("<h2>Summary</h2>" + _table(h, rows, left))
    groups = group_by_non_strategy([(r, m) for r, m in runs if r.calls and len(r.children) >= 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # matplotlib layout notes must not reach the terminal
        if groups:
            parts.append("<h2>Jain's index over calls (1 = even split between the children)</h2>")
            parts.append(_img(plot_jain(groups), "Jain's index over calls, one panel per group"))
            parts.append(_jain_note(groups))
            parts.append("<h2>Cumulative writeback per child</h2>")
            for i, (key, group) in enumerate(groups.items()):
                if i >= MAX_GROUPS:
                    parts.append(f"<p class='note'>{len(groups) - MAX_GROUPS} more groups not plotted; narrow "
                                 "the run with --profile/--set, or see summary.json.</p>")
                    break
                parts.append(f"<h3>{html.escape(key)}</h3>")
                parts.append(_img(plot_cumulative(group), f"cumulative writeback per child, {key}"))
        if tables.counter_rows(runs)[1]:
            parts.append("<h2>Global shrinker work per page written back</h2>")
            parts.append(_img(plot_counters(runs), "shrink_memcg calls and worker wakeups per page written back"))
        agent_runs = [r for r, _m in runs if r.agents]
        if agent_runs:
            parts.append("<h2>Agent timeline: refaults per step against the guardrail</h2>")
            for r in agent_runs[:MAX_GROUPS]:
                parts.append(f"<h3>{html.escape(r.variant)}</h3>")
                parts.append(_img(plot_agent(r), f"agent timeline {r.variant}"))
    parts.append("<h2>Details</h2>")
    for name, (h2, rows2) in (("Fairness and harm metrics", tables.metric_rows([x for x in runs if x[0].calls and len(x[0].children) >= 2])),
                              ("Agent runs", tables.agent_rows(runs)), ("Checks", tables.check_rows(runs)),
                              ("Proactive calls", tables.call_rows(runs)),
                              ("Global shrinker counters", tables.counter_rows(runs))):
        if rows2:
            parts.append(f"<details open><summary>{name}</summary>{_table(h2, rows2)}</details>")
    parts.append("<details><summary>Glossary</summary><dl>" + "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in tables.GLOSSARY.items()) + "</dl></details>")
    parts.append("</body></html>\n")
    out.mkdir(parents=True, exist_ok=True)
    p = out / "report.html"
    p.write_text("".join(parts))
    return p
