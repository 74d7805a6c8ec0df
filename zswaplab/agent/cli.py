"""``zswaplab agent``: run the proactive zswap writeback agent on a real cgroup v2 mount or on the simulator."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from . import logs
from .cgroupfs import CgroupFSBackend
from .engine import Agent
from .metrics import Metrics
from .policy import Policy, PolicyError, load, loads
from .scenario import SCENARIOS, PrematureAbort
from .sim import SimBackend


def build_sim(policy: Policy, profile: str | None = None, mb: float | None = None) -> tuple[SimBackend, PrematureAbort]:
    s = policy.sim
    sc = SCENARIOS[s.scenario](profile=profile or s.profile, mb_per_child=mb or s.mb_per_child, seed=s.seed)
    return SimBackend(sc.kernel, sc), sc


@click.command("agent")
@click.option("--config", "-c", "config", required=True, type=click.Path(dir_okay=False),
              help="Policy TOML file (see docs/agent.md, examples/agent/).")
@click.option("--backend", type=click.Choice(["cgroupfs", "sim"]), default="cgroupfs", show_default=True)
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@click.option("--dry-run", is_flag=True, help="Log what would be written; write nothing.")
@click.option("--mount", default=None, help="cgroup v2 mount (overrides agent.mount).")
@click.option("--cycles", type=int, default=None, help="Stop after N cycles (sim default: sim.cycles).")
@click.option("--metrics-port", type=int, default=None, help="Prometheus port (overrides agent.metrics_port).")
@click.option("--metrics-addr", default=None, help="Address to bind metrics to (default 127.0.0.1).")
@click.option("--profile", default=None, help="sim: kernel profile (overrides sim.profile).")
@click.option("--mb-per-child", type=float, default=None, help="sim: scenario size (overrides sim.mb_per_child).")
@click.option("--log-level", default=None, type=click.Choice(["debug", "info", "warning", "error"]))
def agent(config: str, backend: str, once: bool, dry_run: bool, mount: str | None, cycles: int | None,
          metrics_port: int | None, metrics_addr: str | None, profile: str | None, mb_per_child: float | None,
          log_level: str | None) -> None:
    """Proactive zswap writeback agent: steps of writeback per target cgroup, guarded by PSI and refaults.

    Logs are JSON lines on stderr. With --backend sim the agent drives the in-process model (scenario from the
    policy's [sim] table) on a simulated clock and prints a JSON summary on stdout.
    """
    try:
        policy = load(config)
    except PolicyError as e:
        click.echo(f"zswaplab agent: {e}", err=True)
        sys.exit(2)
    logs.setup(sys.stderr, log_level or policy.agent.log_level, wall_clock=backend != "sim")
    sc = None
    if backend == "sim":
        be, sc = build_sim(policy, profile, mb_per_child)
    else:
        try:
            be = CgroupFSBackend(mount or policy.agent.mount)
        except OSError as e:
            click.echo(f"zswaplab agent: cannot open cgroup mount {mount or policy.agent.mount}: {e.strerror}",
                       err=True)
            sys.exit(1)
    metrics = Metrics()
    port = policy.agent.metrics_port if metrics_port is None else metrics_port
    if port:
        metrics.serve(port, metrics_addr or policy.agent.metrics_addr)
    ag = Agent(policy, be, dry_run=dry_run, metrics=metrics)
    ag.install_signal_handlers()
    ag.events.info("start", backend=be.name, config=config, dry_run=dry_run, once=once,
                   targets=[t.path for t in policy.targets])
    max_cycles = cycles if cycles is not None else (policy.sim.cycles if backend == "sim" else None)
    reports = ag.run(once=once, max_cycles=max_cycles)
    be.close()
    if sc is not None:
        out = {"profile": sc.profile, "mb_per_child": sc.mb_per_child, "cycles": len(reports),
               "interface": ag.capability.interface.value if ag.capability else None,
               "requested": sum(r.requested for r in reports), "written": sum(r.written for r in reports),
               "outcomes": [[r.outcome for r in rep.results] for rep in reports], "children": sc.summary()}
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
    console.rule("[bold]agent: premature abort without a writeback cursor (sim, 2 MB/child, 32K steps)")
    t = Table("profile", "cursor", "c1 inactive written", "c2 inactive written", "active written (c1/c2)")
    for prof, cursor in (("v3", "per-memcg"), ("v4", "none"), ("v5", "none")):
        s = premature_abort(prof)
        c1, c2 = s["/parent/c1"], s["/parent/c2"]
        t.add_row(prof, cursor, f"{c1['inactive_on_disk']}/{c1['inactive_total']}",
                  f"{c2['inactive_on_disk']}/{c2['inactive_total']}", f"{c1['active_written']}/{c2['active_written']}")
    console.print(t)
    console.print("The agent stops at the first refault guardrail trip; without a cursor every small request "
                  "restarts at the first child, so the second child's cold memory is never reached.")


commands = [agent]
