"""Rendering of checker verdicts (per-CPU column tables) and contention sweeps (tables, PNG, HTML)."""

from __future__ import annotations

import html
from pathlib import Path

from rich.console import Console, RenderableType
from rich.table import Table

from .checker import CheckResult, Step
from .timed import Costs, SimConfig, SweepRow, thresholds


def _columns_width(cols: list[list[str]]) -> int:
    """Width of a rich table (heavy box, padding 1) whose columns keep their cells whole on one line."""
    return sum(max(len(c) for c in col) + 3 for col in cols) + 1


def trace_table(res: CheckResult, steps: list[Step], title: str, width: int | None = None) -> Table:
    """A counterexample as the thread drew it: one column per CPU, then the shared state after the step.

    When that does not fit ``width`` columns without cutting a cell, the steps are a list instead (one row per
    step: the CPU, what it did, the shared state after it); cells wrap at spaces and never end in "…"."""
    cpus = [n.split()[0] for n in res.thread_names]
    per_cpu = [[str(len(steps))], *([n, *(s.text for s in steps if s.tid == i)] for i, n in enumerate(res.thread_names)),
               ["shared state", *(s.shared for s in steps)]]
    if width is None or _columns_width(per_cpu) <= width:
        t = Table(title=title, show_lines=False, title_justify="left")
        t.add_column("#", justify="right", style="dim")
        for name in res.thread_names:
            t.add_column(name, overflow="fold")
        t.add_column("shared state", style="cyan", overflow="fold")
        for i, s in enumerate(steps, 1):
            cells = [""] * len(res.thread_names)
            if s.tid >= 0:
                cells[s.tid] = s.text
                t.add_row(str(i), *cells, s.shared)
            else:
                t.add_row("", f"[bold red]{s.text}[/]", *cells[1:], "")
        return t
    t = Table(title=f"{title}; CPUs: {', '.join(res.thread_names)}", show_lines=False, title_justify="left")
    t.add_column("#", justify="right", style="dim", no_wrap=True)
    t.add_column("CPU", no_wrap=True)
    t.add_column("step", overflow="fold", ratio=3)
    t.add_column("shared state after", style="cyan", overflow="fold", ratio=2)
    for i, s in enumerate(steps, 1):
        if s.tid >= 0:
            t.add_row(str(i), cpus[s.tid], s.text, s.shared)
        else:
            t.add_row("", "", f"[bold red]{s.text}[/]", "")
    return t


def print_check(console: Console, res: CheckResult, *, show_observations: tuple[str, ...] = ()) -> None:
    cfg = res.config
    console.print(f"[bold]{res.algorithm.name}[/]: {res.algorithm.title} ({res.algorithm.source})")
    console.print(f"threads: {', '.join(res.thread_names)}; memcgs {cfg.memcgs}; rounds {cfg.rounds}; "
                  f"targets {cfg.targets}; reductions: symmetry={'on' if cfg.symmetry else 'off'}, "
                  f"partial-order={'on (' + res.reduction + ')' if cfg.por else 'off'}; engine {res.engine}")
    if res.violation:
        console.print(f"[bold red]VIOLATION[/] {res.violation}")
        console.print(trace_table(res, res.trace, f"shortest counterexample ({len(res.trace) - 1} steps)",
                                  console.width))
    elif res.truncated:
        console.print(f"[yellow]INCOMPLETE[/]: stopped at --max-states {cfg.max_states}")
    elif res.livelock:
        console.print("[bold red]LIVELOCK[/]: a retry cycle that fair scheduling does not break")
    else:
        console.print("[bold green]VERIFIED[/]: reference balance, no use after release, every used memcg "
                      "referenced, no cursor left on an offline memcg, no deadlock")
    console.print(f"states explored: {res.states:,} (transitions {res.transitions:,}) in {res.seconds:.2f} s "
                  f"= {res.states_per_second:,.0f} states/s")
    if not res.violation and not res.truncated:
        loops = ("retry cycles exist but none is fair (no livelock)" if res.cycles and not res.livelock
                 else "none: every execution terminates (bounded retries)" if not res.cycles else "LIVELOCK")
        console.print(f"retry loops: {loops}")
    if not cfg.observe:
        console.print("observations: not tracked (--no-observe)")
    elif res.observations:
        obs = "; ".join(f"{k}: {v:,}" for k, v in sorted(res.observations.items()))
        console.print(f"observations (not failures; transitions exhibiting them): {obs}")
    else:
        console.print("observations: none (no restart from the root, no skipped memcg, no double visit)")
    for name in show_observations:
        steps = res.observation_traces.get(name)
        if steps is None:
            console.print(f"[yellow]observation {name!r} never happens[/]")
        else:
            console.print(trace_table(res, steps, f"shortest execution showing: {name}", console.width))


def _us(ns: float) -> str:
    return "0" if ns == 0 else f"{ns / 1e3:,.1f}"


def sweep_table(rows: list[SweepRow], cfg: SimConfig) -> RenderableType:
    """The contention sweep, one row per (cursor algorithm, M); fits 80 columns without cutting a cell."""
    from zswaplab.common.termtable import rich_table

    header = ["cursor algorithm", "M", "lock wait p50 / p99 / max (µs)", "reclaim pages/s", "regression vs M=0",
              "agent pages/s", "cmpxchg retries"]
    cells = []
    for r in rows:
        p50, p99, mx = r.result.wait_percentiles()
        cells.append([r.algorithm, str(r.agents), f"{_us(p50)} / {_us(p99)} / {_us(mx)}",
                      f"{r.result.reclaim_throughput:,.0f}", f"{r.regression:.2%}",
                      f"{r.result.agent_throughput:,.0f}", f"{r.result.cas_failures:,}"])
    return rich_table(f"lock contention: {cfg.reclaimers} reclaim thread(s) + M agents ({cfg.pattern} cgroup"
                      f"{'s' if cfg.pattern == 'different' else ''}), {cfg.cpus} CPUs, {cfg.zombies} zombies, "
                      f"{cfg.duration_s:g} s simulated", header, cells)


def threshold_lines(rows: list[SweepRow]) -> list[str]:
    out = []
    ms = sorted({r.agents for r in rows})
    for alg in dict.fromkeys(r.algorithm for r in rows):
        t1, t5 = thresholds(rows, alg, 0.01), thresholds(rows, alg, 0.05)
        f = (lambda x: f"first at M = {x}" if x is not None else f"not reached for M ≤ {ms[-1]}")  # noqa: E731
        out.append(f"{alg}: reclaim regression > 1%: {f(t1)}; > 5%: {f(t5)}")
    return out


def costs_lines(costs: Costs, measured: dict[str, str] | None = None) -> list[str]:
    """One line per cost: value and provenance (measured / published / assumption / kernel)."""
    return [f"{k} = {getattr(costs, k)!r}  [{v}]" for k, v in costs.labelled(measured).items()]


def write_report(rows: list[SweepRow], cfg: SimConfig, out: Path,
                 measured: dict[str, str] | None = None) -> tuple[Path, Path]:
    """Write ``contention.png`` (regression vs M per cursor algorithm) and a self-contained
    ``contention.html`` (the PNG embedded as a data URI)."""
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    png = out / "contention.png"
    styles = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", (0, (5, 1)))]
    algs = list(dict.fromkeys(r.algorithm for r in rows))
    with plt.rc_context({"font.size": 11, "axes.labelsize": 11, "legend.fontsize": 10}):
        fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
        for i, alg in enumerate(algs):
            # coinciding lines stay visible: each algorithm has its own marker and dash pattern and a small
            # horizontal offset (x 1.08 per algorithm on the log axis); the table below has the exact values
            off = 1.08 ** (i - (len(algs) - 1) / 2)
            pts = [(max(r.agents, 0.5) * off, 100 * r.regression) for r in rows if r.algorithm == alg]
            marker, ls = styles[i % len(styles)]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, linestyle=ls, markersize=7 - i,
                    linewidth=2.2 - 0.4 * min(i, 3), markerfacecolor="none" if i % 2 else None, label=alg)
        ax.set_xscale("log")
        ax.axhline(1, color="grey", lw=0.8, ls="--")
        ax.axhline(5, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("M userspace proactive-writeback agents\n(0 plotted at 0.5; lines offset slightly in x)")
        ax.set_ylabel("reclaim throughput\nregression vs M=0 (%)")
        ax.legend(frameon=False)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(png, metadata={"Software": None})
        plt.close(fig)
    page = out / "contention.html"
    rows_html = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in (
            r.algorithm, r.agents, " / ".join(f"{v:,.0f}" for v in r.result.wait_percentiles()),
            f"{r.result.reclaim_throughput:,.0f}", f"{r.regression:.3%}", f"{r.result.agent_throughput:,.0f}"))
        + "</tr>" for r in rows)
    costs = "\n".join(f"<li><code>{html.escape(line)}</code></li>" for line in costs_lines(cfg.costs, measured))
    img = base64.b64encode(png.read_bytes()).decode("ascii")
    answer = "\n".join(f"<li>{html.escape(line)}</li>" for line in threshold_lines(rows))
    page.write_text(f"""<!doctype html>
<html><head><meta charset="utf-8"><title>zswaplab: cursor lock contention</title>
<style>body{{font-family:sans-serif;max-width:60em}}td,th{{padding:2px 8px;text-align:right}}</style></head>
<body><h1>Cursor lock contention</h1>
<p>{cfg.reclaimers} kernel writeback thread(s) and M userspace agents on {cfg.cpus} CPUs, pattern
<b>{html.escape(cfg.pattern)}</b>, {cfg.zombies} zombie memcgs, {cfg.duration_s:g} s simulated, seed {cfg.seed}.</p>
<img src="data:image/png;base64,{img}" alt="reclaim regression vs M">
<h2>Answer</h2><ul>{answer}</ul>
<table><tr><th>cursor algorithm</th><th>M</th><th>lock wait p50/p99/max ns</th><th>reclaim pages/s</th>
<th>regression</th><th>agent pages/s</th></tr>
{rows_html}</table>
<h2>Cost model</h2><ul>{costs}</ul>
</body></html>
""")
    return png, page
