"""``zswaplab vm-run`` / ``zswaplab vm-compare``: run scenarios on a real kernel in QEMU and compare with the model."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from . import compare as cmp
from . import kernels, scenarios
from .harness import VMError, cache_dir, find_assets, run_scenario
from .model import run_model

STAT_KEYS = ("anon", "file", "zswap", "zswapped", "zswpin", "zswpout", "zswpwb", "pgmajfault",
             "workingset_refault_anon", "pswpin", "pswpout", "swapcached", "zswap_incomp", "zswpwb_proactive",
             "zswpwb_proactive_b")
REFERENCE_KERNEL = "linux-6.12.117"
REFERENCE_DIR = Path(__file__).with_name("data") / REFERENCE_KERNEL  # recorded runs (zswaplab vm-run --out ...)
DOC_BEGIN = "<!-- BEGIN GENERATED: zswaplab vm-compare"
DOC_END = "<!-- END GENERATED: zswaplab vm-compare"


def trim(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the memory.stat keys the comparison and the tests use (reference data stays small)."""
    out = []
    for r in records:
        r = json.loads(json.dumps(r))
        for snap in r.get("cgroups", {}).values():
            snap["memory.stat"] = {k: v for k, v in snap.get("memory.stat", {}).items() if k in STAT_KEYS}
        out.append(r)
    return out


def model_for(name: str, kernel_records: list[dict[str, Any]], profile: str = "6.12") -> list[dict[str, Any]]:
    """Run scenario ``name`` on the model sized like the VM the kernel records came from."""
    h = kernel_records[0]
    return run_model(scenarios.get(name), totalram_pages=int(h["totalram_pages"]),
                     swap_pages=int(h["swap"]["swap_pages"]), profile=profile)


def resolve_kernel_dir(kernel: str) -> Path:
    """A named kernel's recorded runs (zswaplab/vm/data/<name>) or a directory of records."""
    if kernel in kernels.KERNELS:
        return kernels.KERNELS[kernel].recorded_dir
    return Path(kernel)


def profile_for(kernel_dir: Path) -> str:
    """The model profile a kernel is held to (zswaplab/vm/kernels.py); 6.12 for an unknown directory."""
    spec = kernels.KERNELS.get(kernel_dir.name)
    return spec.profile if spec else "6.12"


def recorded_names(kernel_dir: Path) -> list[str]:
    return [n for n in scenarios.SCENARIOS if (kernel_dir / n / "boot-1.jsonl").exists()]


def compare_dir(kernel_dir: Path, names: list[str] | None = None,
                profile: str | None = None) -> dict[str, list[cmp.Row]]:
    """Every recorded scenario of ``kernel_dir`` (all boots) against the model, with that kernel's deviations."""
    profile = profile or profile_for(kernel_dir)
    results: dict[str, list[cmp.Row]] = {}
    for name in names or recorded_names(kernel_dir):
        if name in scenarios.MODEL_EXCLUDED:
            continue
        boots = recorded_boots(kernel_dir, name)
        if not boots:
            raise FileNotFoundError(f"{kernel_dir}: no recorded boots of {name}")
        results[name] = cmp.compare(name, boots, model_for(name, boots[0], profile), cmp.DEVIATIONS,
                                    kernel_name=kernel_dir.name)
    return results


@click.command("vm-run")
@click.argument("names", nargs=-1)
@click.option("--kernel", default=None, help="A named kernel (zswaplab/vm/kernels.py: "
              + ", ".join(kernels.KERNELS) + ") or a kernel image path [default: linux-6.12.117].")
@click.option("--boots", type=click.IntRange(1, 20), default=1, show_default=True,
              help="Boots per scenario; with --out they are recorded as <out>/<scenario>/boot-<i>.jsonl.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for the records (default .cache/vm/results/<kernel>).")
@click.option("--timeout", type=float, default=600, show_default=True, help="Hard limit per VM boot (s).")
@click.option("--cpus", type=int, default=1, show_default=True, help="vCPUs (1 = the deterministic setup).")
def vm_run(names: tuple[str, ...], kernel: str | None, boots: int, out_dir: str | None, timeout: float,
           cpus: int) -> None:
    """Run scenarios (default: all) on a real kernel in QEMU (TCG) and record their JSON Lines records."""
    try:
        assets = find_assets(kernel)
        todo = list(names) or list(scenarios.SCENARIOS)
        for n in todo:
            scenarios.get(n)
    except (VMError, KeyError) as e:
        click.echo(f"zswaplab vm-run: {e}", err=True)
        sys.exit(2)
    out = Path(out_dir) if out_dir else cache_dir() / "results" / assets.kernel_name
    console = Console(stderr=True)
    for n in todo:
        for boot in range(1, boots + 1):
            path = recorded_path(out, n, boot)
            t0 = time.monotonic()
            try:
                run = run_scenario(scenarios.get(n), timeout=timeout, cpus=cpus, assets=assets)
            except VMError as e:
                click.echo(f"zswaplab vm-run: {n} (boot {boot}): {e}", err=True)
                sys.exit(1)
            cmp.write_records(path, trim(run.records))
            console.print(f"{n} boot {boot}/{boots}: {len(run.steps)} steps, VM wall {run.wall_seconds:.1f}s "
                          f"(total {time.monotonic() - t0:.1f}s) -> {path}")


def recorded_path(kernel_dir: Path, name: str, boot: int = 1) -> Path:
    """Where boot ``boot`` of scenario ``name`` is recorded: ``<kernel_dir>/<name>/boot-<boot>.jsonl``."""
    return kernel_dir / name / f"boot-{boot}.jsonl"


def recorded_boots(kernel_dir: Path, name: str) -> list[list[dict[str, Any]]]:
    """Every recorded boot of scenario ``name`` (boot-1, boot-2, ... in order; [] when none)."""
    files = sorted((kernel_dir / name).glob("boot-*.jsonl"), key=lambda f: int(f.stem.split("-")[1]))
    return [cmp.load_records(f) for f in files]


@click.command("vm-compare")
@click.option("--kernel", "kernel", default=REFERENCE_KERNEL, show_default=True,
              help="A named kernel's recorded runs (" + ", ".join(kernels.KERNELS) + ") or a directory of records "
              "(<dir>/<scenario>/boot-<i>.jsonl, from vm-run --out).")
@click.option("--profile", default=None, help="Model kernel profile [default: the kernel's, kernels.py].")
@click.option("--update-doc", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Replace this kernel's generated summary section of this markdown file (docs/validation.md).")
@click.option("--tables", "tables", type=click.Path(dir_okay=False), default=None,
              help="Write every scenario's detailed comparison table to this (generated) markdown file.")
@click.option("--json", "as_json", is_flag=True, help="Print every row as JSON.")
def vm_compare(kernel: str, profile: str | None, update_doc: str | None, tables: str | None,
               as_json: bool) -> None:
    """Compare kernel records with the model, per step and counter; exit 1 on an unexplained disagreement."""
    kernel_dir = resolve_kernel_dir(kernel)
    if not kernel_dir.is_dir() or not recorded_names(kernel_dir):
        click.echo(f"zswaplab vm-compare: no recorded runs in {kernel_dir} (expected <scenario>/boot-1.jsonl; "
                   f"record them with `zswaplab vm-run --kernel NAME --boots 3 --out DIR`)", err=True)
        sys.exit(2)
    results = compare_dir(kernel_dir, profile=profile)
    if as_json:
        click.echo(json.dumps({n: [r.as_dict() for r in rows] for n, rows in results.items()}, indent=1))
    else:
        t = Table("scenario", "values", "ok", "documented deviations", "unexplained")
        for n, rows in results.items():
            s = cmp.summarize(n, rows)
            t.add_row(n, str(s.rows), str(s.ok), ", ".join(f"{k}×{v}" for k, v in sorted(s.deviations.items())),
                      str(len(s.failures)))
        Console().print(t)
    header = kernel_header(kernel_dir)
    if update_doc:
        path = Path(update_doc)
        begin, end = f"{DOC_BEGIN} {kernel_dir.name} -->", f"{DOC_END} {kernel_dir.name} -->"
        text = path.read_text()
        pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        if not pat.search(text):
            click.echo(f"zswaplab vm-compare: {path} has no {begin} ... {end} section", err=True)
            sys.exit(2)
        text = pat.sub(lambda _: f"{begin}\n{header}\n{cmp.render_summary(results)}{end}", text)
        dbegin, dend = f"{DOC_BEGIN} deviations -->", f"{DOC_END} deviations -->"
        dpat = re.compile(re.escape(dbegin) + ".*?" + re.escape(dend), re.S)
        path.write_text(dpat.sub(lambda _: f"{dbegin}\n{cmp.render_deviations()}{dend}", text))
    if tables:
        Path(tables).write_text(f"<!-- GENERATED by `zswaplab vm-compare --kernel {kernel_dir.name} --tables "
                                f"{tables}`: do not edit -->\n# Model vs {kernel_dir.name}: every compared "
                                f"step\n\n{header}\nRows where a step changed a kernel or model value; status "
                                f"`ok` = within tolerance, `dev:<id>` = a documented deviation "
                                f"(docs/validation.md).\n\n{cmp.render_markdown(results)}")
    if any(cmp.summarize(n, rows).failures for n, rows in results.items()):
        sys.exit(1)


def kernel_header(kernel_dir: Path) -> str:
    for f in sorted(kernel_dir.glob("*/boot-1.jsonl")):
        h = cmp.load_records(f)[0]
        boots = len(list(kernel_dir.glob("*/boot-*.jsonl")))
        spec = kernels.KERNELS.get(kernel_dir.name)
        package = h.get("kernel_package") or (" ".join(spec.packages) if spec else "?")
        return (f"Kernel `{kernel_dir.name}`: `{h.get('kernel_version', h.get('kernel'))}`, packages "
                f"`{package}`; {boots} recorded boots; {h.get('nr_cpus')} vCPU, "
                f"totalram {h.get('totalram_pages')} pages, swap {h.get('swap', {}).get('swap_pages')} pages, "
                f"zswap parameters {json.dumps(h.get('zswap_params'))}, lru_gen `{h.get('lru_gen')}`.\n")
    return ""


def demo_rows(kernel_dir: Path, names: list[str] | None = None) -> tuple[str, list[str], list[list[str]], str]:
    """(answer, header, rows, deviations) of the model against one kernel's recorded boots, computed from the
    comparison: one row per scenario (values compared, within tolerance, documented deviations, unexplained)."""
    sums = [cmp.summarize(n, rows) for n, rows in compare_dir(kernel_dir, names).items()]
    total, ok = sum(s.rows for s in sums), sum(s.ok for s in sums)
    dev = {k: sum(s.deviations.get(k, 0) for s in sums) for s in sums for k in s.deviations}
    bad = [s.scenario for s in sums if s.failures]
    verdict = (f"the model differs unexplained from {kernel_dir.name} in {len(bad)} of {len(sums)} scenarios "
               f"({', '.join(bad)})" if bad else f"the model agrees with {kernel_dir.name} in all {len(sums)} scenarios")
    answer = (f"{verdict.capitalize()}: of {total:,} compared values {ok:,} are within tolerance, "
              f"{sum(dev.values()):,} are documented deviations and {sum(len(s.failures) for s in sums):,} are "
              "unexplained.")
    rows = [[s.scenario, f"{s.rows:,}", f"{s.ok:,}", f"{sum(s.deviations.values()):,} / {len(s.failures):,}"]
            for s in sums]
    devs = ", ".join(f"{k} ×{v}" for k, v in sorted(dev.items()))
    return answer, ["scenario", "values", "within tol.", "deviations: documented / unexplained"], rows, devs


def demo(console: Console) -> None:
    """Model vs the recorded runs of every pinned kernel (no VM needed)."""
    from ..common.termtable import rich_table

    for spec in kernels.KERNELS.values():
        if not recorded_names(spec.recorded_dir):
            continue
        console.rule(f"[bold]vm: the model ({spec.profile}) against recorded {spec.name} boots")
        answer, header, rows, devs = demo_rows(spec.recorded_dir)
        console.print(f"[bold green]Answer:[/] {answer}", highlight=False)
        console.print(rich_table(None, header, rows))
        console.print(f"[dim]documented deviations by cause: {devs}[/]", highlight=False)
    console.print("Tolerances and deviations: docs/validation.md; re-run on a real kernel: make vm-test")


commands = [vm_run, vm_compare]
