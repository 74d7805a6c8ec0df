"""``zswaplab sweep SWEEP.toml``: run a parameter grid on the fast core (local pool or a Dask cluster)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn


@click.command()
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="output directory (default out/sweep-<name>)")
@click.option("--jobs", "-j", type=int, default=2, show_default=True, help="local worker processes")
@click.option("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://HOST:PORT")
def sweep(sweep_file: str, out: str | None, jobs: int, scheduler: str | None) -> None:
    """Expand SWEEP_FILE's grid and run every unfinished point; results to Parquet + CSV + summary.png."""
    from .sweep import SweepError, load_sweep, run_sweep

    console = Console()
    try:
        name, _ = load_sweep(sweep_file)
    except SweepError as e:
        raise click.ClickException(str(e)) from None
    out = out or f"out/sweep-{name}"
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as prog:
        task = prog.add_task(f"sweep {name}", total=None)
        res = run_sweep(sweep_file, out, jobs=jobs, scheduler=scheduler,
                        progress=lambda d, t: prog.update(task, completed=d, total=t))
    console.print(f"{res['points']} points: ran {res['ran']}, skipped {res['skipped']} (already done), "
                  f"failed {len(res['failed'])} → {res['out']}/results.parquet, results.csv, summary.png")
    for row in res["failed"].itertuples():
        console.print(f"[red]FAILED[/red] profile={row.profile} strategy={row.strategy} budget={row.budget} "
                      f"wb_batch={row.wb_batch} children={row.children} seed={row.seed}: {row.error}")
        console.print(row.traceback, markup=False, highlight=False)
    if len(res["failed"]):
        raise SystemExit(1)


def demo(console: Console) -> None:
    """The fast core vs the oracle on scenario (e) at reduced size: same per-child writeback, wall times."""
    import time

    from rich.table import Table

    from zswaplab.kernel import Kernel, KernelConfig

    from .fastkernel import FastKernel

    table = Table(title="scale: FastKernel vs the oracle (10 children x 8 MB in zswap, 20 calls of 1M, v3)")
    for col in ("strategy", "kernel", "wall s", "pages written back per child"):
        table.add_column(col)
    for strategy in ("per-memcg", "restart"):
        for cls in (Kernel, FastKernel):
            t0 = time.perf_counter()
            cfg = KernelConfig(profile="v3", totalram_pages=1 << 22, swap_pages=1 << 22, strategy=strategy,
                               bypass_second_chance=True)
            k = cls(cfg, seed=6)
            k.fs.mkdir("/parent")
            for i in range(10):
                k.fs.mkdir(f"/parent/c{i}")
                k.alloc(f"/parent/c{i}", 2048, clen=lambda r: int(r.gauss(1434, 300)) % 4096)
                k.fs.write(f"/parent/c{i}", "memory.reclaim", "8M")
            k.advance(60)
            for _ in range(20):
                k.fs.write("/parent", "memory.reclaim", "1M zswap_writeback_only")
                k.advance(2)
            per = [k.stats_of(k.tree.lookup(f"/parent/c{i}")).zswpwb for i in range(10)]
            table.add_row(strategy, cls.__name__, f"{time.perf_counter() - t0:.2f}", " ".join(map(str, per)))
    console.print(table)


commands = [sweep]
