"""``zswaplab demo`` (lab part): scenarios a, b and c at demo size, one section per review question.

Each section is data first (:func:`sections`: question, answer, table), rendered on the terminal or as JSON.
The answer sentences are computed from the rows (:mod:`zswaplab.lab.answers`), never fixed text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from ..kernel.strategies import STRATEGIES as KERNEL_STRATEGIES
from . import answers, fmt
from .adapter import errno_name
from .runner import run_variant
from .schema import load_scenario

DIR = Path(__file__).resolve().parents[1] / "scenarios"
STRATEGIES = list(KERNEL_STRATEGIES)

Section = dict[str, Any]


def _runs(stem: str, overrides: dict[str, list[Any]]) -> tuple[Any, list[tuple[Any, dict[str, Any]]]]:
    sf = load_scenario(DIR / f"{stem}.toml")
    vs = sf.variants(reduced=True, overrides=overrides)
    return vs[0].scenario, [run_variant(v, scenario_name=sf.name, snapshots=False) for v in vs]


def question_a() -> Section:
    sc, runs = _runs("a_repeated_small_budgets", {"profile": ["v5"], "strategy": STRATEGIES, "wb_batch": [64],
                                                  "child_size": ["4M"], "budget": ["16K"]})
    r0, m0 = runs[0]
    calls = m0["calls"]
    per_child = sum(m0["eligible_bytes"].values()) // max(1, len(m0["eligible_bytes"]))
    rows = [[r.strategy, fmt.ratio(m["jain"]), f"{len(answers.never_written(m))} of {len(m['eligible_bytes'])}",
             str(m["calls_until_all"] or "never"), fmt.percent(m["min_share"]), fmt.percent(m["max_share"])]
            for r, m in runs]
    return {
        "id": "a", "question": sc.scenario.question,
        "setup": f"{r0.profile}, {len(r0.children)} children with {fmt.size(per_child)} each in zswap (compressed), "
                 f"{calls} calls of {fmt.size(sc.timeline[0].size)} on the parent "
                 "(less than one 64-entry batch)",
        "answer": answers.fairness(runs),
        "header": ["strategy", "Jain", "never written", "all by call", "smallest share", "largest share"],
        "rows": rows,
        "notes": "Jain: 1 = every child gave the same fraction of its zswap; never written: children with no "
                 f"writeback in all {calls} calls; share: a child's part of all bytes written.",
    }


def question_b() -> Section:
    sc, runs = _runs("b_premature_abort", {"strategy": STRATEGIES})
    r0, _m = runs[0]
    a0 = sc.timeline[0]
    per = {g: b // max(1, len(r0.children)) for g, b in r0.zswap_bytes.items()}
    rows = []
    for r, _m in runs:
        a = r.agents[0]
        rows.append([r.strategy, str(a.abort_step) if a.aborted else "no trip", fmt.child(a.abort_child),
                     f"{fmt.size(a.bytes_by_group.get('inactive', 0))} of {fmt.size(r.zswap_bytes.get('inactive'))}",
                     fmt.size(a.bytes_by_group.get("active", 0))])
    return {
        "id": "b", "question": sc.scenario.question,
        "setup": f"zswaplab.agent (sim backend) on {r0.parent}: {len(r0.children)} children "
                 f"({', '.join(fmt.child(c) for c in r0.children)}) with {fmt.size(per.get('inactive'))} inactive + "
                 f"{fmt.size(per.get('active'))} active in zswap each (compressed), {fmt.size(a0.step)} steps, "
                 f"stop when a child's refaults exceed {fmt.rate(a0.refault_rate)}",
        "answer": answers.agent(runs),
        "header": ["strategy", "stopped at step", "by child", "inactive written", "active written"],
        "rows": rows,
        "notes": "sizes are compressed bytes written back to swap before the agent stopped.",
    }


def question_c() -> Section:
    sc, runs = _runs("c_selftests", {})
    rows = []
    for r, _m in runs:
        failed = [c.label for c in r.checks if not c.passed] + [e.label for e in r.expects if not e.passed]
        last = r.calls[-1] if r.calls else None
        detail = (f"{errno_name(last.errno)}, {fmt.pages(sum(last.pages.values()))}" if last else "–")
        rows.append([f"selftest {r.profile}", "PASS" if not failed else "FAIL", detail])
    _sc, edge = _runs("c_v5_referenced_edge", {"profile": ["v5"], "entries": [1023, 1024]})
    nothing = []
    for r, _m in edge:
        c0 = r.calls[0]
        n = r.axes["entries"]
        rows.append([f"v5, {n} referenced entries", "writes" if c0.pages else "writes nothing",
                     f"{errno_name(c0.errno)}, {fmt.pages(sum(c0.pages.values()))}"])
        if not c0.pages:
            nothing.append((n, errno_name(c0.errno)))
    answer = answers.checks(runs) or ""
    if nothing:
        n, err = min(nothing)
        wrote = [r.axes["entries"] for r, _m in edge if r.calls[0].pages]
        answer += (f" One v5 call on a memcg holding {n} freshly stored (referenced) entries answers {err} having "
                   "written nothing" + (f", while {max(wrote)} entries still get written" if wrote else "") + ".")
    return {
        "id": "c", "question": sc.scenario.question + " And the v5 edge case (second chance, 16 × 64 rotations)?",
        "setup": "the series' selftest test_zswap_proactive_writeback replayed per version; one v5 call per "
                 "edge case",
        "answer": answer.strip(),
        "header": ["case", "result", "the proactive call answered"],
        "rows": rows,
        "notes": "",
    }


def sections() -> list[Section]:
    return [question_a(), question_b(), question_c()]


def print_section(console: Console, s: Section) -> None:
    from ..common.termtable import rich_table

    console.print(f"[bold]({s['id']}) {s['question']}[/]", highlight=False)
    console.print(f"[bold green]Answer:[/] {s['answer']}", highlight=False)
    console.print(rich_table(None, s["header"], s["rows"]))
    console.print(f"[dim]{s['setup']}. {s['notes']}[/]\n", highlight=False)


def run_demo(console: Console) -> None:
    console.rule("[bold]lab: the review's questions, answered on the model")
    for fn in (question_a, question_b, question_c):
        print_section(console, fn())
