"""``zswaplab sweep SWEEP.toml``: run a parameter grid on the fast core (local pool or a Dask cluster)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from .warmup import warmup_cmd


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
        try:
            res = run_sweep(sweep_file, out, jobs=jobs, scheduler=scheduler,
                            progress=lambda d, t: prog.update(task, completed=d, total=t))
        except (OSError, TimeoutError) as e:
            where = f"Dask scheduler {scheduler}" if scheduler else "the local process pool"
            raise click.ClickException(f"sweep {name}: cannot run on {where}: {e}") from None
    console.print(f"{res['points']} points: ran {res['ran']}, skipped {res['skipped']} (already done), "
                  f"failed {len(res['failed'])} → {res['out']}/results.parquet, results.csv, summary.png")
    for row in res["failed"].itertuples():
        console.print(f"[red]FAILED[/red] profile={row.profile} strategy={row.strategy} budget={row.budget} "
                      f"wb_batch={row.wb_batch} children={row.children} seed={row.seed}: {row.error}")
        console.print(row.traceback, markup=False, highlight=False)
    if len(res["failed"]):
        raise SystemExit(1)


@click.command()
@click.argument("trace_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--profile", "-p", default="mainline", show_default=True, help="kernel profile")
@click.option("--memory-max", default="200M", show_default=True, help="memory.max of the replay memcg")
@click.option("--totalram", default="4G", show_default=True, help="machine RAM (sets the zswap pool limit)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the summary, memory.stat and debugfs as JSON")
def replay(trace_file: str, profile: str, memory_max: str, totalram: str, seed: int, as_json: bool) -> None:
    """Replay TRACE_FILE (.csv, .parquet or libCacheSim .oracleGeneral) into one memcg on the fast core: a first
    access allocates the page, a later one touches it. Prints a cachesim-style line (requests, miss/hit ratio,
    zswap store/load/writeback per request, requests/s), then memory.stat and debugfs."""
    import json
    import time
    from pathlib import Path

    from zswaplab.kernel import KernelConfig, OOMKill
    from zswaplab.kernel.cgroupfs import memparse

    from . import replaysum
    from .fastkernel import FastKernel
    from .traces import TraceError, read_trace
    from .warmup import ensure_compiled

    try:
        tr = read_trace(trace_file)
    except TraceError as e:
        raise click.ClickException(str(e)) from None
    ram, n = memparse(totalram)
    if n != len(totalram):
        raise click.BadParameter(f"not a size: {totalram!r}", param_hint="--totalram")
    ensure_compiled(lambda msg: click.echo(msg, err=True))  # compile time is not replay time
    t0 = time.perf_counter()
    objs, clens = tr.dense()
    k = FastKernel(KernelConfig(profile=profile, totalram_pages=max(1, ram // 4096), swap_pages=1 << 26),
                   seed=seed, keep_log=False)
    k.fs.mkdir("/replay")
    try:
        k.fs.write("/replay", "memory.max", memory_max)
    except OSError as e:
        raise click.BadParameter(f"{memory_max!r}: {e.strerror}", param_hint="--memory-max") from None
    try:
        k.replay("/replay", objs, clens)
    except OOMKill as e:
        raise click.ClickException(f"the replay memcg ran out of memory ({e}): raise --memory-max (it charges "
                                   "zswap's compressed bytes too)") from None
    dt = time.perf_counter() - t0
    text = k.fs.read("/replay", "memory.stat")
    stat = {key: int(v) for key, v in (ln.split() for ln in text.splitlines())}
    s = replaysum.summary(trace=Path(trace_file).name, profile=profile,
                          memory_max=int(k.fs.read("/replay", "memory.max").strip()), events=len(tr),
                          objects=len(clens), stat=stat, seconds=dt)
    if as_json:
        click.echo(json.dumps({**s, "memory_stat": stat, "debugfs": k.debugfs()}, indent=1))
        return
    click.echo(replaysum.line(s))
    click.echo(f"{len(tr):,} events, {len(clens):,} pages in {dt:.2f} s; memory.stat of /replay (bytes and "
               "event counts), then debugfs:")
    click.echo(text, nl=False)
    click.echo(" ".join(f"{key}={v}" for key, v in k.debugfs().items()))


@click.command("trace-convert")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
def trace_convert(src: str, dst: str) -> None:
    """Convert a trace between .csv, .parquet and libCacheSim .oracleGeneral (by extension)."""
    from .traces import TraceError, read_trace, write_trace

    try:
        write_trace(read_trace(src), dst)
    except TraceError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{src} -> {dst}")


@click.command("trace-gen")
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--pages", type=click.IntRange(min=1), default=2048, show_default=True,
              help="distinct pages (objects) of the working set")
@click.option("--events", type=click.IntRange(min=1), default=100_000, show_default=True, help="accesses")
@click.option("--phase-len", type=click.IntRange(min=0), default=20_000, show_default=True,
              help="accesses per phase (the hot set moves each phase; 0 = never)")
@click.option("--seed", type=int, default=0, show_default=True)
def trace_gen(dst: str, pages: int, events: int, phase_len: int, seed: int) -> None:
    """Write a synthetic working-set trace (10% hot pages get 80% of the accesses, zipf within a class; .csv,
    .parquet or libCacheSim .oracleGeneral by extension) to replay or to feed libCacheSim."""
    from .traces import TraceError, write_trace
    from .workloads import WorkingSet, generate

    try:
        write_trace(generate(WorkingSet(pages, phase_len=phase_len), events, seed), dst)
    except (TraceError, OSError) as e:
        raise click.ClickException(f"{dst}: {e}") from None
    click.echo(f"{dst}: {events:,} accesses to {pages:,} pages (4 KiB each), seed {seed}")


def demo_rows() -> tuple[str, list[str], list[list[str]]]:
    """The fast core against the oracle (``Kernel``) on the same run: per-child writeback and wall time each.
    Returns (answer computed from the runs, header, rows)."""
    import time

    from zswaplab.kernel import Kernel, KernelConfig

    from .fastkernel import FastKernel

    rows, same, speed = [], [], []
    for strategy in ("per-memcg", "restart"):
        got = {}
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
            dt = time.perf_counter() - t0
            got[cls.__name__] = (per, dt)
            rows.append([strategy, cls.__name__, f"{dt:.2f} s", " ".join(map(str, per))])
        same.append(got["Kernel"][0] == got["FastKernel"][0])
        speed.append(got["Kernel"][1] / max(got["FastKernel"][1], 1e-9))
    answer = (("Yes: " if all(same) else "No: ") + f"the fast core wrote back {'the same' if all(same) else 'different'}"
              f" pages per child as the oracle for both strategies, {min(speed):.1f}-{max(speed):.1f}x faster "
              "(compilation done before timing).")
    return answer, ["strategy", "kernel", "wall time", "pages written back per child (c0-c9)"], rows


def demo(console: Console) -> None:
    """The fast core vs the oracle on scenario (e) at reduced size: same per-child writeback, wall times."""
    from zswaplab.common.termtable import rich_table

    from .warmup import ensure_compiled

    console.rule("[bold]scale: the fast core (numba) against the oracle model")
    ensure_compiled(console.print)  # compile time is not run time: done (and said) before the table's timing
    answer, header, rows = demo_rows()
    console.print("Does the fast core give the oracle's results, faster?", style="bold", highlight=False)
    console.print(f"[bold green]Answer:[/] {answer}", highlight=False)
    console.print(rich_table(None, header, rows))
    console.print("[dim]v3, 10 children with 8 MiB each (2,048 pages) pushed into zswap, then 20 proactive calls of "
                  "1 MiB on the parent[/]", highlight=False)


commands = [sweep, replay, trace_convert, trace_gen, warmup_cmd]
