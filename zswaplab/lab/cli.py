"""``zswaplab run`` / ``zswaplab compare`` and the lab part of ``zswaplab demo``."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..common.termtable import rich_table
from ..common.termtable import width as cell_width
from . import answers, ascii, fmt, report, tables
from .output import (
    OutputError,
    load_runs,
    stats_series,
    summary_doc,
    variant_dirname,
    write_run,
    write_summary,
)
from .records import RunRecord
from .runner import RunError, run_variant
from .schema import (
    KNOWN_PROFILES,
    KNOWN_STRATEGIES,
    ScenarioError,
    ScenarioFile,
    Variant,
    did_you_mean,
    load_scenario,
)

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"  # shipped in the wheel (package data)

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
            raise click.BadParameter(f"{name!r} is ambiguous: {', '.join(h.stem for h in hits)}",
                                     param_hint="SCENARIO")
    known = [f.stem for f in sorted(SCENARIO_DIR.glob("*.toml"))] if SCENARIO_DIR.is_dir() else []
    raise click.BadParameter(
        f"no scenario file or shipped scenario named {name!r}{did_you_mean(name.replace('-', '_'), known)} "
        f"(shipped: {', '.join(known) or 'none found'}; `zswaplab scenarios` lists them)", param_hint="SCENARIO")


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
    origin: dict[str, str] = {}
    if profile:
        overrides["profile"] = _csv(profile) or []
        origin["profile"] = f"--profile {profile}"
    if strategy:
        overrides["strategy"] = strategy
        origin["strategy"] = f"--strategy {','.join(strategy)}"
    for s in sets:
        if "=" not in s:
            raise click.BadParameter(f"--set wants AXIS=V1,V2 (got {s!r})", param_hint="--set")
        k, v = s.split("=", 1)
        overrides[k.strip()] = [_coerce(x) for x in _csv(v) or []]
        origin[k.strip()] = f"--set {s}"
    variants = sf.variants(reduced=reduced, overrides=overrides, override_origin=origin)
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
    """Run every variant (progress: the variants with an ETA, and the current variant's phase and steps)."""
    runs: list[Run] = []

    def short(text: str, n: int = 36) -> str:
        return text if len(text) <= n else text[: n - 1] + "…"

    with Progress(TextColumn("{task.description}"), BarColumn(bar_width=16), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True,
                  disable=not show_progress) as prog:
        overall = prog.add_task(short(f"{sf.name}: variants"), total=len(variants))
        step = prog.add_task("", total=None)
        current = [""]

        def phase(name: str, total: int) -> None:
            prog.reset(step, total=total, completed=0, description=short(f"  {name} [{current[0]}]"))

        for v in variants:
            current[0] = v.name
            rec, m = run_variant(v, scenario_name=sf.name, snapshots=snapshots or out is not None, fast=fast,
                                 phase=phase, progress=lambda d, _t: prog.update(step, completed=d))
            prog.advance(overall)
            runs.append((rec, m))
            if out is not None:
                write_run(out, rec, m)
    if out is not None:
        meta = _meta(sf, variants, runs)
        write_summary(out, sf.name, runs, **meta)
        report.write_report(out, f"zswaplab scenario {sf.name}", meta["description"], runs,
                            question=meta["question"])
    return runs


def _meta(sf: ScenarioFile, variants: list[Variant], runs: list[Run]) -> dict[str, Any]:
    # the description as run (reduced or not): params substituted for this size
    sc = variants[0].scenario.scenario if variants else sf.base.scenario
    return {"question": sc.question, "description": sc.description, "answers": answers.answer(runs)}


def fit(header: list[str], rows: list[list[str]], width: int,
        optional: Sequence[str] = ("written", "all by call")) -> tuple[list[str], list[list[str]]]:
    """Drop ``optional`` columns (in that order) until the table fits ``width`` columns (they stay in
    --details and the report)."""
    header, rows = list(header), [list(r) for r in rows]
    for name in optional:
        need = sum(cell_width(h, [r[i] for r in rows]) for i, h in enumerate(header)) + 2 * len(header)
        if need <= width or name not in header:
            continue
        i = header.index(name)
        header.pop(i)
        for r in rows:
            r.pop(i)
    return header, rows


def print_answers(console: Console, runs: list[Run]) -> None:
    for a in answers.answer(runs):
        console.print(f"[bold]Answer:[/] {a}", highlight=False)


def print_runs(console: Console, runs: list[Run], details: bool = False) -> None:
    """The answer, the summary table; with ``details`` every metric, agent run, check and call."""
    print_answers(console, runs)
    h, rows, left = tables.summary(runs)
    h, rows = fit(h, rows, console.width)
    console.print(rich_table(None, h, rows, left))
    if not details:
        console.print("[dim]every metric, check and call: --details (or the report); terms: see the report's "
                      "glossary[/]", highlight=False)
        return
    for title, (h2, rows2) in (("fairness and harm metrics", tables.metric_rows([r for r in runs if r[0].calls and len(r[0].children) >= 2])),
                               ("agent runs", tables.agent_rows(runs)), ("checks", tables.check_rows(runs)),
                               ("proactive calls", tables.call_rows(runs)),
                               ("global shrinker counters", tables.counter_rows(runs))):
        if rows2:
            console.print(rich_table(title, h2, rows2))
    console.print(rich_table("glossary", ["term", "meaning"], [[k, v] for k, v in tables.GLOSSARY.items()]))


def print_ascii(console: Console, runs: list[Run]) -> None:
    """Per variant, each child's written-back fraction of its zswap as a heat strip (█ = all of it)."""
    fair = [(r, m) for r, m in runs if r.calls and len(m.get("eligible_bytes", {})) >= 2]
    if not fair:
        return
    axes = tables.varying_axes(fair)
    kids = list(fair[0][1]["eligible_bytes"])
    header = [*(axes or ["variant"]), f"{fmt.child(kids[0])}…{fmt.child(kids[-1])}"]
    rows = [[*([str(r.axes.get(k)) for k in axes] if axes else [r.variant]),
             "|" + ascii.written_heat(m["pages"], m["eligible_bytes"], m["bytes"]) + "|"] for r, m in fair]
    console.print(rich_table(None, header, rows, left=list(range(len(header)))))
    console.print("[dim]each character is one child: blank = nothing written back, █ = all its zswap[/]",
                  highlight=False)


def exit_status(runs: list[Run]) -> int:
    """1 when a check or an expected errno failed, else 0."""
    return int(any(not c.passed for r, _m in runs for c in r.checks)
               or any(not e.passed for r, _m in runs for e in r.expects))


def _starved(k: int) -> Any:
    return lambda r, m: str(len(m["starved_after"].get(str(k), [])))


def compare_table(runs: list[Run]) -> list[tuple[str, RenderableType]]:
    """One side-by-side table (metrics as rows, strategies as columns) per group of the other axes."""
    out = []
    for key, group in report.group_by_non_strategy(runs).items():
        rows: list[tuple[str, Any]] = [
            ("calls (OK)", lambda r, m: f"{m['calls']} ({m['call_results'].get('OK', 0)})"),
            ("written (compressed)", lambda r, m: fmt.size(m["total_bytes"])),
            ("written pages", lambda r, m: str(m["total_pages"])),
            ("Jain (normalised)", lambda r, m: fmt.ratio(m["jain"], 3)),
            ("CV", lambda r, m: fmt.ratio(m["cv"], 3)),
            ("min / max share", lambda r, m: f"{fmt.percent(m['min_share'])} / {fmt.percent(m['max_share'])}"),
            *[(f"starved after {k} calls", _starved(k))
              for k in sorted({int(k) for _r, m in group for k in m["starved_after"]})],
            ("never written", lambda r, m: str(len(answers.never_written(m)))),
            ("all by call", lambda r, m: str(m["calls_until_all"] or "never")),
            ("active share", lambda r, m: fmt.percent(m["active_share"])),
        ]
        if any(r.agents for r, _m in group):
            rows += [
                ("agent stopped at step", lambda r, m: ", ".join(
                    f"{a.abort_step} ({fmt.child(a.abort_child)})" if a.aborted else "no trip"
                    for a in r.agents) or "–"),
                ("inactive written", lambda r, m: fmt.size(sum(a.bytes_by_group.get("inactive", 0)
                                                               for a in r.agents))),
                ("active written", lambda r, m: fmt.size(sum(a.bytes_by_group.get("active", 0) for a in r.agents))),
            ]
        header = ["metric", *(r.strategy or "default" for r, _m in group)]
        out.append((key, rich_table(key, header, [[label, *(fn(r, m) for r, m in group)] for label, fn in rows])))
    return out


def _json_out(doc: Any) -> None:
    click.echo(json.dumps(doc, indent=1, sort_keys=True))


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


_json_opt = click.option("--json", "as_json", is_flag=True,
                         help="print the answers and every variant's metrics as JSON on stdout (no tables)")
_details_opt = click.option("--details", is_flag=True, help="also print every metric, check and call")
_ascii_opt = click.option("--ascii", "as_ascii", is_flag=True,
                          help="also draw each variant's per-child writeback as a heat strip in the terminal")


@click.command("run")
@click.argument("scenario")
@_apply(_common)
@click.option("--strategy", "-s", help=f"strategy(s), comma-separated ({', '.join(KNOWN_STRATEGIES)})")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="output directory")
@_details_opt
@_ascii_opt
@_json_opt
def run(scenario: str, profile: str | None, seed: int | None, reduced: bool, sets: tuple[str, ...], fast: bool,
        strategy: str | None, out: Path | None, details: bool, as_ascii: bool, as_json: bool) -> None:
    """Run SCENARIO (a file, or a shipped scenario name such as 'a' or 'b-premature-abort').

    Prints the answer to the scenario's question, a summary table, and writes JSONL/CSV/summary.json and
    report.html to --out (default out/<scenario>). Exits 1 if a check of the scenario failed."""
    console = Console(stderr=as_json)
    sf, variants = _scenario_variants(scenario, profile, strategy, seed, reduced, sets)
    out = out or Path("out") / sf.name
    if not as_json:
        console.print(f"[bold]{sf.name}[/]: {len(variants)} variant(s) → {out}", highlight=False)
        if (q := variants[0].scenario.scenario.question):
            console.print(f"[bold]Question:[/] {q}", highlight=False)
    try:
        runs = execute(sf, variants, console, out=out, fast=fast, show_progress=not as_json)
    except RunError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        _json_out(summary_doc(sf.name, runs, **_meta(sf, variants, runs)))
    else:
        print_runs(console, runs, details)
        if as_ascii:
            print_ascii(console, runs)
        console.print(f"report: {out / 'report.html'}  (re-render: zswaplab report {out})", highlight=False)
    status = exit_status(runs)
    if status and not as_json:
        console.print("[red]a check failed[/] (exit status 1): see the checks column or --details")
    sys.exit(status)


@click.command("compare")
@click.argument("scenario")
@_apply(_common)
@click.option("--strategy", "-s", required=True, help="strategies to compare, comma-separated")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="also write output here")
@_json_opt
def compare(scenario: str, profile: str | None, seed: int | None, reduced: bool, sets: tuple[str, ...],
            fast: bool, strategy: str, out: Path | None, as_json: bool) -> None:
    """Run SCENARIO once per strategy and print the metrics side by side."""
    console = Console(stderr=as_json)
    sf, variants = _scenario_variants(scenario, profile, strategy, seed, reduced, sets)
    try:
        runs = execute(sf, variants, console, out=out, snapshots=False, fast=fast, show_progress=not as_json)
    except RunError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        _json_out(summary_doc(sf.name, runs, **_meta(sf, variants, runs)))
        return
    print_answers(console, runs)
    for _key, table in compare_table(runs):
        console.print(table)


@click.command("report")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--html/--no-html", default=True, show_default=True, help="re-write DIRECTORY/report.html")
@_details_opt
@_ascii_opt
@_json_opt
def report_cmd(directory: Path, html: bool, details: bool, as_ascii: bool, as_json: bool) -> None:
    """Re-render a run's outputs (a `zswaplab run --out` DIRECTORY) without re-running: the answer and summary
    on the terminal, report.html, or --json."""
    try:
        doc, runs = load_runs(directory)
    except OutputError as e:
        raise click.ClickException(str(e)) from None
    doc["answers"] = answers.answer(runs)
    if html:
        report.write_report(directory, f"zswaplab scenario {doc['scenario']}", doc.get("description", ""), runs,
                            question=doc.get("question", ""))
    if as_json:
        _json_out(doc)
        return
    console = Console()
    console.print(f"[bold]{doc['scenario']}[/]: {len(runs)} variant(s) from {directory}", highlight=False)
    if doc.get("question"):
        console.print(f"[bold]Question:[/] {doc['question']}", highlight=False)
    print_runs(console, runs, details)
    if as_ascii:
        print_ascii(console, runs)
    if html:
        console.print(f"report: {directory / 'report.html'}", highlight=False)


@click.command("timeline")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("key")
@click.option("--variant", "-v", help="which variant (default: the first); a prefix is enough")
@click.option("--memcg", "-m", "memcgs", multiple=True, help="memcg(s) to draw (default: every memcg but /)")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="also write the plot as a PNG")
def timeline_cmd(directory: Path, key: str, variant: str | None, memcgs: tuple[str, ...], png: Path | None) -> None:
    """Draw any stats.csv KEY (a memory.stat key: zswap, zswpwb, pswpin, …) over a run's steps, per memcg, in
    the terminal (and --png). DIRECTORY is a `zswaplab run --out` directory."""
    try:
        doc, _runs = load_runs(directory)
    except OutputError as e:
        raise click.ClickException(str(e)) from None
    names = [v["variant"] for v in doc["variants"]]
    pick = [n for n in names if variant is None or n == variant or n.startswith(variant)]
    if not pick:
        raise click.BadParameter(f"no variant {variant!r}{did_you_mean(variant or '', names)} (variants: "
                                 f"{', '.join(names)})", param_hint="--variant")
    try:
        series = stats_series(directory / variant_dirname(pick[0]) / "stats.csv", key, memcgs)
    except OutputError as e:
        raise click.ClickException(str(e)) from None
    console = Console()
    unit = fmt.stat_unit(key)
    console.print(f"[bold]{key}[/]{f' ({unit})' if unit else ''} per memcg over the steps of {pick[0]}",
                  highlight=False)
    for line in ascii.line_chart(series, width=min(64, console.width - 12), unit=unit):
        console.print(line, highlight=False, markup=False)
    if png is not None:
        report.plot_series(series, key, pick[0], png, unit=unit)
        console.print(f"plot: {png}", highlight=False)


@click.command("scenarios")
@_json_opt
def scenarios_cmd(as_json: bool) -> None:
    """List the shipped scenarios, each with the question it answers."""
    items = []
    for f in sorted(SCENARIO_DIR.glob("*.toml")):
        sf = _load(str(f))
        items.append({"name": f.stem, "scenario": sf.name, "question": sf.base.scenario.question,
                      "variants": len(sf.variants()), "path": str(f)})
    if as_json:
        _json_out(items)
        return
    console = Console()
    console.print(rich_table(None, ["name", "question"], [[i["name"], i["question"]] for i in items]))
    console.print("[dim]run one: zswaplab run NAME --reduced  (a prefix is enough: 'a', 'b', 'c-self')[/]")


commands = [run, compare, report_cmd, scenarios_cmd, timeline_cmd]


def demo(console: Console) -> None:
    """Scenarios a, b, c at demo size, one verdict table per question."""
    from .demo import run_demo

    run_demo(console)
