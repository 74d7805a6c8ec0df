"""``zswaplab check`` and ``zswaplab contention`` (loaded by zswaplab/cli.py), plus the demo section."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from ..kernel.strategies import CURSOR_STRATEGIES
from .algorithms import ALGORITHMS, resolve_algorithm
from .checker import CheckConfig, check
from .report import costs_lines, print_check, sweep_table, threshold_lines, write_report
from .timed import DEFAULT_MS, DEFAULT_STRATEGIES, Costs, SimConfig, UnsafeAlgorithm, sweep

# what --algorithm/--strategy and check's ALGORITHM take: a checker algorithm, or the name of the kernel model's
# cursor strategy it implements (the names of `zswaplab run --strategy`, zswaplab.kernel.strategies)
NAMES = [*ALGORITHMS, *CURSOR_STRATEGIES]


def _algorithms(_ctx: click.Context, _param: click.Parameter, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
    try:
        if isinstance(value, str):
            return resolve_algorithm(value)
        return tuple(resolve_algorithm(v) for v in value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command("check")
@click.argument("algorithm", type=click.Choice(NAMES), callback=_algorithms)
@click.option("--threads", "-t", default=3, show_default=True, help="threads, including the offliner")
@click.option("--memcgs", "-n", default=5, show_default=True, help="memcgs in the tree, including the root")
@click.option("--rounds", "-k", default=3, show_default=True, help="cursor advances per walker thread")
@click.option("--targets", type=click.Choice(["root", "same", "different"]), default="root", show_default=True,
              help="proactive callers' cgroups: the root (shares shrink_worker's cursor), one child, distinct")
@click.option("--no-offline", is_flag=True, help="no offliner thread")
@click.option("--no-symmetry", is_flag=True, help="disable the symmetry reduction")
@click.option("--no-por", is_flag=True, help="disable the partial-order reduction")
@click.option("--no-observe", is_flag=True, help="do not track observations (fewer states, faster)")
@click.option("--max-states", default=100_000_000, show_default=True,
              help="stop (INCOMPLETE) past this many states; the compiled engine holds about 50 B per state")
@click.option("--basic-por", is_flag=True, help="only the basic partial-order reduction (no strong verification pass)")
@click.option("--engine", type=click.Choice(["compiled", "python"]), default="compiled", show_default=True,
              help="the search loop: compiled (numba, over tables the Python semantics fill) or the Python reference")
@click.option("--show", "show", multiple=True,
              help='print the shortest execution showing an observation, e.g. --show "restarted from the root"')
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON (verdict, counts, counterexample)")
def check_cmd(algorithm: str, threads: int, memcgs: int, rounds: int, targets: str, no_offline: bool,
              no_symmetry: bool, no_por: bool, no_observe: bool, max_states: int, basic_por: bool, engine: str,
              show: tuple[str, ...], as_json: bool = False) -> None:
    """Explore every interleaving of a cursor ALGORITHM (a checker algorithm, or the strategy it implements:
    per-memcg = memcg_lock, per-memcg-global-lock = memcg_global_lock); exit status 1 on a violation."""
    cfg = CheckConfig(algorithm, threads=threads, memcgs=memcgs, rounds=rounds, targets=targets,
                      offline=not no_offline, symmetry=not no_symmetry, por=not no_por, observe=not no_observe,
                      max_states=max_states, strong_por=not basic_por)
    try:
        cfg.validate()
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    console = Console()  # the terminal's width, or $COLUMNS (80 when piped)
    res = check(cfg, engine=engine)
    if as_json:
        click.echo(json.dumps({
            "algorithm": algorithm, "config": dataclasses.asdict(cfg), "ok": res.ok, "violation": res.violation,
            "livelock": res.livelock, "truncated": res.truncated, "states": res.states,
            "transitions": res.transitions, "reduction": res.reduction, "engine": res.engine,
            "counterexample": [dataclasses.asdict(s) if dataclasses.is_dataclass(s) else str(s) for s in res.trace],
            "observations": res.observations}, indent=1, default=str))
    else:
        print_check(console, res, show_observations=show)
    if not res.ok:
        sys.exit(1)


@click.command("contention")
@click.option("--agents", "-m", "agents", multiple=True, type=int,
              help=f"M values to sweep (default {' '.join(map(str, DEFAULT_MS))})")
@click.option("--algorithm", "--strategy", "strategies", multiple=True, type=click.Choice(NAMES),
              callback=_algorithms,
              help=f"cursor algorithms, as in `zswaplab check` (default {' '.join(DEFAULT_STRATEGIES)}), or the "
                   "strategy names of `zswaplab run --strategy` that share a cursor (per-memcg = memcg_lock, "
                   "per-memcg-global-lock = memcg_global_lock)")
@click.option("--pattern", type=click.Choice(["same", "different"]), default="different", show_default=True,
              help="agents all on one parent cgroup, or each on its own cgroup")
@click.option("--cpus", default=8, show_default=True)
@click.option("--reclaimers", default=1, show_default=True, help="kernel writeback threads")
@click.option("--zombies", default=0, show_default=True, help="offline memcgs under the shared parent")
@click.option("--duration", default=2.0, show_default=True, help="simulated seconds per run")
@click.option("--seed", default=0, show_default=True)
@click.option("--cost", "costs", multiple=True, metavar="NAME=VALUE",
              help=f"override a cost ({', '.join(Costs.names())})")
@click.option("--calibrate", is_flag=True,
              help="measure atomics, spinlock and lock hand-off on this machine (builds a small C program)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="write contention.png and contention.html into this directory")
def contention_cmd(agents: tuple[int, ...], strategies: tuple[str, ...], pattern: str, cpus: int,
                   reclaimers: int, zombies: int, duration: float, seed: int, costs: tuple[str, ...],
                   calibrate: bool, out: Path | None) -> None:
    """Timed simulation of cursor lock contention: reclaim regression and lock waits as M agents grow."""
    measured: dict[str, str] = {}
    if calibrate:
        from .calibrate import CalibrationUnavailable
        from .calibrate import calibrate as run_calibration

        try:
            cal = run_calibration()
        except CalibrationUnavailable as e:
            raise click.ClickException(str(e)) from None
        costs = (*cal.overrides(), *costs)  # explicit --cost still wins
        measured = {k.split("=")[0]: cal.describe() for k in cal.overrides()}
    try:
        c = Costs().override(list(costs))
        cfg = SimConfig(cpus=cpus, reclaimers=reclaimers, pattern=pattern, zombies=zombies, duration_s=duration,
                        seed=seed, costs=c)
        cfg.validate()
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    ms = tuple(agents) or DEFAULT_MS
    if any(m < 0 for m in ms):
        raise click.BadParameter(f"--agents {ms}: M must be >= 0")
    if 0 not in ms:
        ms = (0, *ms)
    console = Console()  # the terminal's width, or $COLUMNS (80 when piped)
    try:
        rows = sweep(cfg, tuple(strategies) or DEFAULT_STRATEGIES, ms)
    except UnsafeAlgorithm as e:
        raise click.ClickException(str(e)) from None
    console.print("[bold green]Answer[/] (reclaim throughput regression against no agents):", highlight=False)
    for line in threshold_lines(rows):
        console.print(f"  {escape(line)}", highlight=False)
    console.print(sweep_table(rows, cfg))
    console.print("[dim]cost model:[/]")
    for line in costs_lines(c, measured):
        console.print(f"[dim]  {escape(line)}[/]")
    if out is not None:
        png, page = write_report(rows, cfg, out, measured)
        console.print(f"wrote {png} and {page}")


commands = [check_cmd, contention_cmd]


def demo(console: Console) -> None:
    """The leak in the xchg sketch found and fixed, the lock variants verified, the contention table."""
    console.rule("[bold]concurrency: the xchg / try_cmpxchg cursor sketch (kernel-semantics §3.4)")
    res = check(CheckConfig("xchg_sketch", threads=3, memcgs=5, rounds=3))
    print_check(console, res)
    console.rule("[bold]the same sketch with the fixed protocol")
    print_check(console, check(CheckConfig("xchg_fixed", threads=3, memcgs=4, rounds=2)))
    console.rule("[bold]lock-based cursors at 3 threads x 5 memcgs x 3 rounds")
    for name in ("global_lock", "memcg_lock", "memcg_global_lock"):
        print_check(console, check(CheckConfig(name, threads=3, memcgs=5, rounds=3)))
    console.rule("[bold]lock contention: does the global lock hurt reclaim as agents grow?")
    cfg = SimConfig(pattern="same", duration_s=2.0)
    rows = sweep(cfg)
    zcfg = replace(cfg, zombies=300, duration_s=0.5)
    zrows = sweep(zcfg, ("memcg_global_lock", "memcg_lock"), (0, 100, 1000))
    console.print("[bold green]Answer[/] (reclaim throughput regression against no agents, computed from the "
                  "tables below):", highlight=False)
    for c, r in ((cfg, rows), (zcfg, zrows)):
        for line in threshold_lines(r):
            console.print(f"  {escape(line)} ({c.zombies} zombie memcgs)", highlight=False)
    console.print(sweep_table(rows, cfg))
    console.print(sweep_table(zrows, zcfg))
