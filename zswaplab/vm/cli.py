"""``zswaplab vm-run`` / ``zswaplab vm-compare``: run scenarios on Linux 6.12 in QEMU and compare with the model."""

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
from . import scenarios
from .harness import VMError, cache_dir, find_assets, run_scenario
from .model import run_model

STAT_KEYS = ("anon", "file", "zswap", "zswapped", "zswpin", "zswpout", "zswpwb", "pgmajfault",
             "workingset_refault_anon", "pswpin", "pswpout", "swapcached")
REFERENCE_KERNEL = "linux-6.12.117"
REFERENCE_DIR = Path(__file__).with_name("data") / REFERENCE_KERNEL  # recorded runs (zswaplab vm-run --out ...)
DOC_BEGIN = "<!-- BEGIN GENERATED: zswaplab vm-compare -->"
DOC_END = "<!-- END GENERATED: zswaplab vm-compare -->"


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


def compare_dir(kernel_dir: Path, names: list[str] | None = None, profile: str = "6.12") -> dict[str, list[cmp.Row]]:
    results: dict[str, list[cmp.Row]] = {}
    for name in names or [n for n in scenarios.SCENARIOS if (kernel_dir / f"{n}.jsonl").exists()]:
        if name in scenarios.MODEL_EXCLUDED:
            continue
        krec = cmp.load_records(kernel_dir / f"{name}.jsonl")
        results[name] = cmp.compare(name, krec, model_for(name, krec, profile))
    return results


@click.command("vm-run")
@click.argument("names", nargs=-1)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for <scenario>.jsonl (default .cache/vm/results).")
@click.option("--timeout", type=float, default=300, show_default=True, help="Hard limit per VM boot (s).")
@click.option("--cpus", type=int, default=1, show_default=True, help="vCPUs (1 = the deterministic setup).")
def vm_run(names: tuple[str, ...], out_dir: str | None, timeout: float, cpus: int) -> None:
    """Run scenarios (default: all) on Linux 6.12 in QEMU (TCG) and write their JSON Lines records."""
    out = Path(out_dir) if out_dir else cache_dir() / "results"
    try:
        assets = find_assets()
        todo = list(names) or list(scenarios.SCENARIOS)
        for n in todo:
            scenarios.get(n)
    except (VMError, KeyError) as e:
        click.echo(f"zswaplab vm-run: {e}", err=True)
        sys.exit(2)
    console = Console(stderr=True)
    for n in todo:
        t0 = time.monotonic()
        try:
            run = run_scenario(scenarios.get(n), timeout=timeout, cpus=cpus, assets=assets)
        except VMError as e:
            click.echo(f"zswaplab vm-run: {n}: {e}", err=True)
            sys.exit(1)
        cmp.write_records(out / f"{n}.jsonl", trim(run.records))
        console.print(f"{n}: {len(run.steps)} steps, VM wall {run.wall_seconds:.1f}s "
                      f"(total {time.monotonic() - t0:.1f}s) -> {out / (n + '.jsonl')}")


@click.command("vm-compare")
@click.option("--kernel", "kernel_dir", type=click.Path(file_okay=False, exists=True), default=str(REFERENCE_DIR),
              show_default=True, help="Directory of kernel records (from vm-run; default: the recorded 6.12 runs).")
@click.option("--profile", default="6.12", show_default=True, help="Model kernel profile.")
@click.option("--update-doc", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Replace the generated section of this markdown file (docs/validation.md).")
@click.option("--json", "as_json", is_flag=True, help="Print every row as JSON.")
def vm_compare(kernel_dir: str, profile: str, update_doc: str | None, as_json: bool) -> None:
    """Compare kernel records with the model, per step and counter; exit 1 on an unexplained disagreement."""
    results = compare_dir(Path(kernel_dir), profile=profile)
    if as_json:
        click.echo(json.dumps({n: [r.as_dict() for r in rows] for n, rows in results.items()}, indent=1))
    else:
        t = Table("scenario", "values", "ok", "documented deviations", "unexplained")
        for n, rows in results.items():
            s = cmp.summarize(n, rows)
            t.add_row(n, str(s.rows), str(s.ok), ", ".join(f"{k}×{v}" for k, v in sorted(s.deviations.items())),
                      str(len(s.failures)))
        Console().print(t)
    if update_doc:
        path = Path(update_doc)
        text = path.read_text()
        header = kernel_header(Path(kernel_dir))
        gen = f"{DOC_BEGIN}\n{header}\n{cmp.render_markdown(results)}\n{DOC_END}"
        pat = re.compile(re.escape(DOC_BEGIN) + ".*?" + re.escape(DOC_END), re.S)
        if not pat.search(text):
            click.echo(f"zswaplab vm-compare: {path} has no {DOC_BEGIN} ... {DOC_END} section", err=True)
            sys.exit(2)
        path.write_text(pat.sub(lambda _: gen, text))
    if any(cmp.summarize(n, rows).failures for n, rows in results.items()):
        sys.exit(1)


def kernel_header(kernel_dir: Path) -> str:
    for f in sorted(kernel_dir.glob("*.jsonl")):
        h = cmp.load_records(f)[0]
        return (f"Kernel: `{h.get('kernel_version', h.get('kernel'))}`; {h.get('nr_cpus')} vCPU, "
                f"totalram {h.get('totalram_pages')} pages, swap {h.get('swap', {}).get('swap_pages')} pages, "
                f"zswap parameters {json.dumps(h.get('zswap_params'))}, lru_gen `{h.get('lru_gen')}`.\n")
    return ""


def demo(console: Console) -> None:
    """Model vs the recorded Linux 6.12 runs (no VM needed; ~4 s)."""
    if not REFERENCE_DIR.exists():
        return
    console.rule(f"[bold]vm: the model (profile 6.12) against recorded {REFERENCE_KERNEL} runs in QEMU")
    t = Table("scenario", "compared", "within tolerance", "documented deviations", "unexplained")
    for n, rows in compare_dir(REFERENCE_DIR).items():
        s = cmp.summarize(n, rows)
        t.add_row(n, str(s.rows), str(s.ok), ", ".join(f"{k}×{v}" for k, v in sorted(s.deviations.items())),
                  str(len(s.failures)))
    console.print(t)
    console.print("Tolerances and deviations: docs/validation.md; re-run on a real kernel: make vm-test")


commands = [vm_run, vm_compare]
