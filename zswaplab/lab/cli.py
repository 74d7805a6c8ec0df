"""``zswaplab run`` / ``zswaplab compare`` and the lab part of ``zswaplab demo``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..common.units import fmt_bytes
from . import report
from .output import write_run, write_summary
from .records import RunRecord
from .runner import RunError, count_steps, run_variant
from .schema import KNOWN_PROFILES, KNOWN_STRATEGIES, ScenarioError, ScenarioFile, Variant, load_scenario

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"

Run = tuple[RunRecord, dict[str, Any]]


def resolve_scenario(name: str) -> Path:
    """A path, or the name/prefix of a shipped scenario (``a``, ``b-premature-abort``, ...)."""
    p = Path(name)
    if p.exists():
        return p
    if SCENARIO_DIR.is_dir():
        files = sorted(SCENARIO_DIR.glob("*.toml"))
        for f in files:
            if f.stem == name or f.stem.replace("_", "-") == name:
                return f
        hits = [f for f in files if f.stem.startswith(name.replace("-", "_"))]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise click.BadParameter(f"{name!r} is ambiguous: {', '.join(h.stem for h in hits)}")
    raise click.BadParameter(f"no scenario file or shipped scenario named {name!r}")


def _csv(value: str | None) -> list[str] | None:
    return None if not value else [v.strip() for v in value.split(",") if v.strip()]


def _coerce(v: str) -> Any:
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    return v


def build_variants(sf: ScenarioFile, *, profile: str | None, strategy: list[str] | None, seed: int | None,
                   reduced: bool, sets: tuple[str, ...] = ()) -> list[Variant]:
    overrides: dict[str, list[Any]] = {}
    if profile:
        overrides["profile"] = _csv(profile) or []
    if strategy:
        overrides["strategy"] = strategy
    for s in sets:
        if "=" not in s:
            raise click.BadParameter(f"--set wants AXIS=V1,V2 (got {s!r})")
        k, v = s.split("=", 1)
        overrides[k.strip()] = [_coerce(x) for x in _csv(v) or []]
    variants = sf.variants(reduced=reduced, overrides=overrides)
    if seed is not None:
        variants = [
            dataclasses.replace(
                v, scenario=v.scenario.model_copy(
                    update={"scenario": v.scenario.scenario.model_copy(update={"seed": seed})}))
            for v in variants
        ]
    return variants


def execute(sf: ScenarioFile, variants: list[Variant], console: Console, *, out: Path | None,
            show_progress: bool = True, snapshots: bool = True, fast: bool = False) -> list[Run]:
    runs: list[Run] = []
    total = sum(count_steps(v.scenario) for v in variants)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not show_progress) as prog:
        task = prog.add_task(sf.name, total=total)
        done_before = 0
        for v in variants:
            prog.update(task, description=f"{sf.name} [{v.name}]")
            base = done_before
            rec, m = run_variant(v, scenario_name=sf.name, snapshots=snapshots or out is not None, fast=fast,
                                 progress=lambda d, _t, base=base: prog.update(task, completed=base + d))
            done_before += count_steps(v.scenario)
            prog.update(task, completed=done_before)
            runs.append((rec, m))
            if out is not None:
                write_run(out, rec, m)
    if out is not None:
        write_summary(out, sf.name, runs)
        report.write_report(out, f"zswaplab scenario {sf.name}", sf.base.scenario.description, runs,
                            question=sf.base.scenario.question)
    return runs


def rich_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, h in enumerate(header):
        t.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def print_runs(console: Console, runs: list[Run]) -> None:
    with_calls = [(r, m) for r, m in runs if r.calls]
    if with_calls:
        console.print(rich_table("fairness and harm metrics", *report.summary_rows(with_calls)))
    h, rows = report.agent_rows(runs)
    if rows:
        console.print(rich_table("agent runs", h, rows))
    h, rows = report.check_rows(runs)
    if rows:
        console.print(rich_table("checks", h, rows))
    counters = [(r, m) for r, m in runs if r.counters and not r.calls and not r.agents]
    if counters:
        keys = ["counter.shrink_worker_wakeups", "counter.shrink_worker_runs", "counter.shrink_memcg_calls",
                "debugfs.written_back_pages", "debugfs.pool_limit_hit"]
        console.print(rich_table("global shrinker counters", ["variant", *keys],
                                 [[r.variant, *(str(r.counters.get(k, 0)) for k in keys)] for r, _m in counters]))


def _starved(k: int) -> Any:
    return lambda r, m: str(len(m["starved_after"].get(str(k), [])))


def compare_table(runs: list[Run]) -> list[tuple[str, Table]]:
    """One side-by-side table (metrics as rows, strategies as columns) per group of the other axes."""
    out = []
    for key, group in report.group_by_non_strategy(runs).items():
        t = Table(title=key, title_justify="left")
        t.add_column("metric")
        for r, _m in group:
            t.add_column(r.strategy or "default", justify="right")
        rows: list[tuple[str, Any]] = [
            ("calls (OK)", lambda r, m: f"{m['calls']} ({m['call_results'].get('OK', 0)})"),
            ("written (compressed)", lambda r, m: fmt_bytes(m["total_bytes"])),
            ("written pages", lambda r, m: str(m["total_pages"])),
            ("Jain (normalised)", lambda r, m: report._fmt(m["jain"])),
            ("CV", lambda r, m: report._fmt(m["cv"])),
            ("min / max share", lambda r, m: f"{report._fmt(m['min_share'])} / {report._fmt(m['max_share'])}"),
            *[(f"starved after {k}", _starved(k))
              for k in sorted({int(k) for _r, m in group for k in m["starved_after"]})],
            ("calls until all", lambda r, m: report._fmt(m["calls_until_all"])),
            ("active share", lambda r, m: report._fmt(m["active_share"])),
        ]
        if any(r.agents for r, _m in group):
            rows += [
                ("agent aborted (step)", lambda r, m: ", ".join(
                    f"yes ({a.abort_step})" if a.aborted else "no" for a in r.agents) or "–"),
                ("inactive written", lambda r, m: fmt_bytes(sum(a.bytes_by_group.get("inactive", 0)
                                                                 for a in r.agents))),
                ("active written", lambda r, m: fmt_bytes(sum(a.bytes_by_group.get("active", 0) for a in r.agents))),
            ]
        for label, fn in rows:
            t.add_row(label, *(fn(r, m) for r, m in group))
        out.append((key, t))
    return out


_common = [
    click.option("--profile", "-p", help=f"profile(s), comma-separated ({', '.join(KNOWN_PROFILES)})"),
    click.option("--seed", type=int, help="override the scenario seed"),
    click.option("--reduced", is_flag=True, help="run at the reduced (test/demo) size of [params.reduced]"),
    click.option("--set", "sets", multiple=True, metavar="AXIS=V1,V2",
                 help="replace or add a matrix axis (a kernel axis or a [params] name)"),
    click.option("--fast", is_flag=True,
                 help="run on the fast core (zswaplab.scale.FastKernel: one node, no dynamic shrinker); "
                      "differentially tested against the reference model"),
]


def _apply(options: list[Any]) -> Any:
    def deco(f: Any) -> Any:
        for o in reversed(options):
            f = o(f)
        return f
    return deco


def _load(name: str) -> ScenarioFile:
    try:
        return load_scenario(resolve_scenario(name))
    except ScenarioError as e:
        raise click.ClickException(str(e)) from None


def _scenario_variants(scenario: str, profile: str | None, strategy: str | None, seed: int | None, reduced: bool,
                       sets: tuple[str, ...]) -> tuple[ScenarioFile, list[Variant]]:
    """Load SCENARIO and expand its variants with the command line's overrides (errors become click errors)."""
    sf = _load(scenario)
    try:
        return sf, build_variants(sf, profile=profile, strategy=_csv(strategy), seed=seed, reduced=reduced,
                                  sets=sets)
    except ScenarioError as e:
        raise click.ClickException(str(e)) from None


@click.command("run")
@click.argument("scenario")
@_apply(_common)
@click.option("--strategy", "-s", help=f"strategy(s), comma-separated ({', '.join(KNOWN_STRATEGIES)})")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="output directory")
def run(scenario: str, profile: str | None, seed: int | None, reduced: bool, sets: tuple[str, ...], fast: bool,
        strategy: str | None, out: Path | None) -> None:
    """Run SCENARIO (a file, or a shipped scenario name such as 'a' or 'b-premature-abort')."""
    console = Console()
    sf, variants = _scenario_variants(scenario, profile, strategy, seed, reduced, sets)
    out = out or Path("out") / sf.name
    console.print(f"[bold]{sf.name}[/]: {len(variants)} variant(s) → {out}")
    try:
        runs = execute(sf, variants, console, out=out, fast=fast)
    except RunError as e:
        raise click.ClickException(str(e)) from None
    print_runs(console, runs)
    console.print(f"report: {out / 'report.html'}")


@click.command("compare")
@click.argument("scenario")
@_apply(_common)
@click.option("--strategy", "-s", required=True, help="strategies to compare, comma-separated")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="also write output here")
def compare(scenario: str, profile: str | None, seed: int | None, reduced: bool, sets: tuple[str, ...],
            fast: bool, strategy: str, out: Path | None) -> None:
    """Run SCENARIO once per strategy and print the metrics side by side."""
    console = Console()
    sf, variants = _scenario_variants(scenario, profile, strategy, seed, reduced, sets)
    try:
        runs = execute(sf, variants, console, out=out, snapshots=False, fast=fast)
    except RunError as e:
        raise click.ClickException(str(e)) from None
    for _key, table in compare_table(runs):
        console.print(table)


commands = [run, compare]


def demo(console: Console) -> None:
    """Scenarios a, b, c at demo size, one verdict table per question."""
    from .demo import run_demo

    run_demo(console)
