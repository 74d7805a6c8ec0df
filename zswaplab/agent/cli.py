"""``zswaplab agent``: run the proactive zswap writeback agent on a real cgroup v2 mount or on the simulator."""

from __future__ import annotations

import ipaddress
import json
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from ..kernel.profiles import PROFILES
from . import logs
from .cgroupfs import CgroupFSBackend, NotCgroup2
from .engine import Agent, CycleReport
from .metrics import Metrics
from .policy import Policy, PolicyError, load, loads
from .scenario import SCENARIOS, PrematureAbort
from .sdnotify import Notifier
from .sim import SimBackend

if TYPE_CHECKING:
    from rich.console import Console


def build_sim(policy: Policy, profile: str | None = None, mb: float | None = None) -> tuple[SimBackend, PrematureAbort]:
    s = policy.sim
    sc = SCENARIOS[s.scenario](profile=profile or s.profile, mb_per_child=mb or s.mb_per_child, seed=s.seed)
    return SimBackend(sc.kernel, sc), sc


# exit status: 0 stopped normally; 1 runtime or environment error (retried by Restart=on-failure);
# 2 configuration error (the unit's RestartPreventExitStatus=2: restarting cannot fix it)
EXIT_RUNTIME = 1
EXIT_CONFIG = 2
SIM_MAX_INTERVAL_S = 3600.0  # the simulator ticks the model every SIM_TICK_S: longer waits take too long


def _fail(code: int, msg: str) -> NoReturn:
    click.echo(f"zswaplab agent: {msg}", err=True)
    sys.exit(code)


@click.command("agent")
@click.option("--config", "-c", "config", required=True, type=click.Path(dir_okay=False),
              help="Policy TOML file (see docs/agent.md, examples/agent/).")
@click.option("--backend", type=click.Choice(["cgroupfs", "sim"]), default="cgroupfs", show_default=True)
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@click.option("--dry-run", is_flag=True, help="Log what would be written; write nothing, bind nothing "
              "(unless --metrics-port is given).")
@click.option("--check-config", is_flag=True, help="Validate the policy, print a summary and exit (2 if invalid).")
@click.option("--mount", default=None, help="cgroup v2 mount (overrides agent.mount).")
@click.option("--cycles", type=click.IntRange(min=1), default=None, help="Stop after N cycles (sim default: sim.cycles).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Prometheus port (overrides agent.metrics_port).")
@click.option("--metrics-addr", default=None, help="Address to bind metrics to (default 127.0.0.1).")
@click.option("--profile", default=None, help="sim: kernel profile (overrides sim.profile).")
@click.option("--mb-per-child", type=float, default=None, help="sim: scenario size (overrides sim.mb_per_child).")
@click.option("--log-level", default=None, type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--allow-any-fs", is_flag=True, hidden=True,
              help="Tests only: accept a mount that is not cgroup2 (a plain directory tree).")
def agent(config: str, backend: str, once: bool, dry_run: bool, check_config: bool, mount: str | None,
          cycles: int | None, metrics_port: int | None, metrics_addr: str | None, profile: str | None,
          mb_per_child: float | None, log_level: str | None, allow_any_fs: bool) -> None:
    """Proactive zswap writeback agent: steps of writeback per target cgroup, guarded by PSI and refaults.

    Logs are JSON lines on stderr. With --backend sim the agent drives the in-process model (scenario from the
    policy's [sim] table) on a simulated clock and prints a JSON summary on stdout. Exit status: 0 stopped,
    1 runtime error, 2 configuration error (also: the mount is not cgroup2). SIGHUP reloads the policy.
    """
    try:
        policy = load(config)
    except PolicyError as e:
        _fail(EXIT_CONFIG, str(e))
    if metrics_addr is not None:
        try:
            ipaddress.ip_address(metrics_addr)
        except ValueError:
            _fail(EXIT_CONFIG, f"--metrics-addr: expected an IP address like 127.0.0.1, got {metrics_addr!r}")
    if backend == "sim" and policy.agent.interval > SIM_MAX_INTERVAL_S:
        _fail(EXIT_CONFIG, f"{config}: agent.interval: at most {SIM_MAX_INTERVAL_S:.0f}s on the sim backend")
    if check_config:
        click.echo(json.dumps({"config": config, "ok": True, "targets": [t.path for t in policy.targets],
                               "mount": mount or policy.agent.mount, "interval_s": policy.agent.interval}))
        return
    logs.setup(sys.stderr, log_level or policy.agent.log_level, wall_clock=backend != "sim")
    sc = None
    if backend == "sim":
        be, sc = build_sim(policy, profile, mb_per_child)
    else:
        where = mount or policy.agent.mount
        try:
            be = CgroupFSBackend(where, allow_any_fs=allow_any_fs)
        except NotCgroup2 as e:
            _fail(EXIT_CONFIG, str(e))
        except OSError as e:
            _fail(EXIT_RUNTIME, f"cannot open cgroup mount {where}: {e.strerror}")
    metrics = Metrics()
    # a dry run binds nothing unless a port is asked for on the command line
    port = metrics_port if metrics_port is not None else (0 if dry_run else policy.agent.metrics_port)
    if port:
        addr = metrics_addr or policy.agent.metrics_addr
        try:
            metrics.serve(port, addr)
        except OSError as e:
            be.close()
            _fail(EXIT_RUNTIME, f"cannot serve metrics on {addr}:{port}: {e.strerror or e}")
    ag = Agent(policy, be, dry_run=dry_run, metrics=metrics, notifier=Notifier() if backend != "sim" else None)
    ag.reloader = lambda: load(config)
    ag.install_signal_handlers()
    ag.events.info("start", backend=be.name, config=config, dry_run=dry_run, once=once,
                   targets=[t.path for t in policy.targets])
    max_cycles = cycles if cycles is not None else (policy.sim.cycles if backend == "sim" else None)
    totals = {"cycles": 0, "requested": 0, "written": 0}
    outcomes: list[list[str]] = []

    def on_cycle(rep: CycleReport) -> None:
        totals["cycles"] += 1
        totals["requested"] += rep.requested
        totals["written"] += rep.written
        if sc is not None:  # the sim summary lists every cycle (bounded by --cycles / sim.cycles)
            outcomes.append([r.outcome for r in rep.results])

    try:
        ag.run(once=once, max_cycles=max_cycles, keep=0, on_cycle=on_cycle)
    finally:
        ag.close_signal_handlers(ignore=True)  # a second SIGTERM during teardown is ignored: exit status 0
        be.close()
    if sc is not None:
        out = {"profile": sc.profile, "mb_per_child": sc.mb_per_child, "cycles": totals["cycles"],
               "interface": ag.capability.interface.value if ag.capability else None,
               "requested": totals["requested"], "written": totals["written"],
               "outcomes": outcomes, "children": sc.summary()}
        click.echo(json.dumps(out, indent=2))


DEMO_POLICY = """
[agent]
interval = "30s"
[[target]]
path = "/parent"
step = "{step}"
step_interval = "1s"
guard_scope = "children"
[target.guardrails]
refault_rate = "64K/s"
"""


def premature_abort(profile: str, step: str = "32K", mb: float = 2, cycles: int = 1) -> dict[str, dict[str, int]]:
    """Run the premature-abort scenario quietly; returns the per-child summary."""
    import io

    logs.setup(io.StringIO())
    policy = loads(DEMO_POLICY.format(step=step))
    be, sc = build_sim(policy, profile, mb)
    Agent(policy, be).run(max_cycles=cycles)
    return sc.summary()


def demo(console: Console) -> None:
    from rich.table import Table

    console.rule("[bold]agent: premature abort without a writeback cursor (sim, 2 MB/child, 32K steps)")
    t = Table("profile", "cursor", "c1 inactive written", "c2 inactive written", "active written (c1/c2)")
    for prof in ("v3", "v4", "v5"):
        cursor = PROFILES[prof].cursor_default or "none"  # the profile's cursor strategy (restart: none kept)
        s = premature_abort(prof)
        c1, c2 = s["/parent/c1"], s["/parent/c2"]
        t.add_row(prof, cursor, f"{c1['inactive_on_disk']}/{c1['inactive_total']}",
                  f"{c2['inactive_on_disk']}/{c2['inactive_total']}", f"{c1['active_written']}/{c2['active_written']}")
    console.print(t)
    console.print("The agent stops at the first refault guardrail trip; without a cursor every small request "
                  "restarts at the first child, so the second child's cold memory is never reached.")


@click.command("agent-compare")
@click.option("--profile", default="mainline", show_default=True,
              help="Kernel profile (a stock kernel: mainline takes swappiness=max, 6.12 does not).")
@click.option("--mb", type=click.IntRange(1, 4096), default=16, show_default=True, help="Workload size (MiB).")
@click.option("--duration", type=click.IntRange(12, 86400), default=600, show_default=True,
              help="Simulated seconds per run.")
@click.option("--seed", type=int, default=0, show_default=True)
def agent_compare(profile: str, mb: int, duration: int, seed: int) -> None:
    """The agent's PSI-paced reclaim against a Senpai-style controller on the kernel model (docs/agent.md)."""
    from .compare import table

    click.echo(f"profile {profile}, {mb} MiB, {duration} s simulated, seed {seed}")
    click.echo(table(profile=profile, mb=mb, duration_s=duration, seed=seed))


commands = [agent, agent_compare]
