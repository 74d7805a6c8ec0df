"""``zswaplab demo`` (lab part): scenarios a, b and c at demo size, one verdict table per review question."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..common.units import fmt_bytes
from .adapter import errno_name
from .runner import run_variant
from .schema import load_scenario

DIR = Path(__file__).resolve().parents[2] / "scenarios"
STRATEGIES = ["restart", "per-memcg", "per-memcg-global-lock", "batch-each-then-check"]


def _runs(stem: str, overrides: dict[str, list[Any]]) -> list[tuple[Any, dict[str, Any]]]:
    sf = load_scenario(DIR / f"{stem}.toml")
    return [run_variant(v, scenario_name=sf.name, snapshots=False)
            for v in sf.variants(reduced=True, overrides=overrides)]


def question_a(console: Console) -> None:
    runs = _runs("a_repeated_small_budgets", {"profile": ["v5"], "strategy": STRATEGIES, "wb_batch": [64], "child_size": ["4M"],
                                              "budget": ["16K"]})
    t = Table(title="(a) Is the missing per-memcg cursor a problem in practice?  v5, 10 children, 40 calls "
                    "of 16K (< one 64-entry batch)", title_justify="left")
    for col in ("strategy", "Jain", "starved after 10", "calls until all", "min share", "max share"):
        t.add_column(col, justify="left" if col == "strategy" else "right")
    for r, m in runs:
        t.add_row(r.strategy, f"{m['jain']:.3f}" if m["jain"] is not None else "–",
                  str(len(m["starved_after"]["10"])), str(m["calls_until_all"] or "never"),
                  f"{m['min_share']:.2f}", f"{m['max_share']:.2f}")
    console.print(t)
    res = {r.strategy: m for r, m in runs}
    starved = len(res["restart"]["starved_after"]["10"])
    console.print(f"  verdict: with budgets below one batch, restart (v4/v5) serves the first children only "
                  f"({starved} of 10 starved after 10 calls); a cursor or one batch per child fixes it.\n")


def question_b(console: Console) -> None:
    runs = _runs("b_premature_abort", {"strategy": STRATEGIES})
    t = Table(title="(b) Does the agent abort before the inactive memory is written back?  2 children x "
                    "(2M inactive + 2M active), 32K steps", title_justify="left")
    for col in ("strategy", "aborted", "at step", "child", "inactive written", "active written"):
        t.add_column(col, justify="left" if col == "strategy" else "right")
    for r, _m in runs:
        a = r.agents[0]
        t.add_row(r.strategy, "yes" if a.aborted else "no", str(a.abort_step or "–"), a.abort_child or "–",
                  fmt_bytes(a.bytes_by_group.get("inactive", 0)), fmt_bytes(a.bytes_by_group.get("active", 0)))
    console.print(t)
    a = {r.strategy: r.agents[0] for r, _m in runs}
    console.print(f"  verdict: restart aborts after writing {fmt_bytes(a['restart'].bytes_by_group.get('inactive', 0))}"
                  f" of {fmt_bytes(a['per-memcg'].bytes_by_group.get('inactive', 0))} inactive memory (only the "
                  "first child's); with a cursor the agent gets all inactive memory out before refaults stop it.\n")


def question_c(console: Console) -> None:
    runs = _runs("c_selftests", {})
    t = Table(title="(c) The series' selftests on the model, and the v5 edge case (spec §5 Q3)",
              title_justify="left")
    for col in ("case", "result", "detail"):
        t.add_column(col)
    for r, _m in runs:
        failed = [c.label for c in r.checks if not c.passed] + [e.label for e in r.expects if not e.passed]
        last = r.calls[-1] if r.calls else None
        detail = f"proactive call: {errno_name(last.errno)}, {sum(last.pages.values())} pages" if last else ""
        t.add_row(f"selftest {r.profile}", "PASS" if not failed else "FAIL: " + ", ".join(failed), detail)
    for r, _m in _runs("c_v5_referenced_edge", {"profile": ["v5"], "entries": [1023, 1024]}):
        c0 = r.calls[0]
        t.add_row(f"v5, {r.axes['entries']} referenced entries, one call",
                  "writes" if c0.pages else "writes NOTHING",
                  f"{errno_name(c0.errno)}, {sum(c0.pages.values())} pages")
    console.print(t)
    console.print("  verdict: v5 rotates 16 x 64 = 1024 referenced entries and gives up: on a memcg holding >= 1024 "
                  "freshly stored entries (the selftest's own workload) one call returns EAGAIN having written "
                  "nothing.\n")


def run_demo(console: Console) -> None:
    console.rule("[bold]lab: the review's questions, answered on the model")
    question_a(console)
    question_b(console)
    question_c(console)
