"""``zswaplab agent``: run the proactive zswap writeback agent on a real cgroup v2 mount or on the simulator."""

from __future__ import annotations

import ipaddress
import json
import sys
from typing import TYPE_CHECKING, NoReturn, TextIO

import click

from ..kernel.profiles import PROFILES
from ..kernel.strategies import CURSOR_STRATEGIES
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
refault_rate = "{refault}"
"""
DEMO_REFAULT = "64K/s"


def premature_abort(profile: str, step: str = "32K", mb: float = 2, cycles: int = 1,
                    policy_text: str | None = None, log: TextIO | None = None) -> dict[str, dict[str, int]]:
    """Run the premature-abort scenario quietly; returns the per-child summary. ``policy_text`` replaces the
    demo's policy and ``log`` receives the agent's debug events (the real-kernel run of zswaplab.vm.series
    holds the kernel to the sim with both)."""
    import io

    logs.setup(log if log is not None else io.StringIO(), "debug" if log is not None else "info")
    policy = loads(policy_text if policy_text is not None else DEMO_POLICY.format(step=step, refault=DEMO_REFAULT))
    be, sc = build_sim(policy, profile, mb)
    Agent(policy, be).run(max_cycles=cycles)
    return sc.summary()


# the profiles shown and their cursor, read from the profile ("none": a fresh walk per call, nothing kept)
DEMO_PROFILES = tuple((p, c if c and CURSOR_STRATEGIES[c].persistent else "none")
                      for p, c in ((p, PROFILES[p].cursor_default) for p in ("v3", "v4", "v5")))


def demo_section(step: str = "32K", mb: float = 2) -> dict:
    """The premature-abort demo as a section (question, answer computed from the rows, table, notes), in the
    lab demo's format (:mod:`zswaplab.lab.demo`). Counts are pages (4 KiB uncompressed, :data:`CLEN` compressed
    bytes each in zswap)."""
    from zswaplab.common.units import parse_rate, parse_size
    from zswaplab.lab import fmt

    from .scenario import CHILDREN, CLEN

    names = [fmt.child(c) for c in CHILDREN]
    rows, missed, tripped = [], {}, {}
    for prof, cursor in DEMO_PROFILES:
        s = premature_abort(prof, step=step, mb=mb)
        cs = [s[c] for c in CHILDREN]
        missed[prof] = [(n, c["inactive_total"] - c["inactive_on_disk"], c["inactive_total"])
                        for n, c in zip(names, cs, strict=True) if c["inactive_on_disk"] < c["inactive_total"]]
        tripped[prof] = [n for n, c in zip(names, cs, strict=True) if c["pswpin"] > 0]
        rows.append([prof, cursor, *(f"{c['inactive_on_disk']} of {c['inactive_total']}" for c in cs),
                     " / ".join(str(c["active_written"]) for c in cs),
                     ", ".join(tripped[prof]) or "no trip"])
    short = [p for p, m in missed.items() if m]
    full = [p for p, m in missed.items() if not m]
    if short:
        n, left, tot = missed[short[0]][0]
        by = f" on {tripped[short[0]][0]}'s refaults" if tripped[short[0]] else ""
        answer = (f"Yes: on {' and '.join(short)} the agent stopped{by} with {left} of {n}'s {fmt.pages(tot)} of "
                  "inactive memory still in zswap")
        answer += (f"; on {' and '.join(full)} it wrote back every child's inactive memory first." if full else ".")
    else:
        answer = f"No: on {', '.join(full)} the agent wrote back every child's inactive memory before it stopped."
    pages = int(mb * (1 << 20)) // 4096
    return {
        "id": "agent", "question": "Does the agent stop before the inactive memory is written back when the "
                                   "kernel has no writeback cursor (v4, v5)?",
        "setup": f"the agent (sim backend) on /parent: {len(names)} children ({', '.join(names)}), each "
                 f"{fmt.size(mb * (1 << 20))} of anon memory ({pages} pages: the older half inactive, the newer "
                 f"half active) in zswap at {CLEN:,} compressed bytes per page; {fmt.size(parse_size(step))} "
                 f"steps; it stops at the first child whose refaults exceed {fmt.rate(parse_rate(DEMO_REFAULT))}",
        "answer": answer,
        "header": ["profile", "cursor", *(f"{n} inactive pages written" for n in names),
                   f"active pages written ({' / '.join(names)})", "refaulted"],
        "rows": rows,
        "notes": "written: pages written back from zswap to swap (4 KiB each uncompressed); refaulted: the "
                 "child whose refaults stopped the agent.",
    }


def demo(console: Console) -> None:
    from zswaplab.lab.demo import print_section

    console.rule("[bold]agent: premature abort without a writeback cursor (simulator)")
    print_section(console, demo_section())


@click.command("agent-compare")
@click.option("--profile", default="mainline", show_default=True,
              help="Kernel profile (a stock kernel: mainline takes swappiness=max, 6.12 does not).")
@click.option("--mb", type=click.IntRange(1, 4096), default=16, show_default=True, help="Workload size (MiB).")
@click.option("--duration", type=click.IntRange(12, 86400), default=600, show_default=True,
              help="Simulated seconds per run.")
@click.option("--seeds", type=click.IntRange(1, 100), default=3, show_default=True,
              help="Seeds 0..N-1 per workload and controller (the table shows min / median).")
def agent_compare(profile: str, mb: int, duration: int, seeds: int) -> None:
    """The agent's PSI-paced reclaim against a Senpai-style controller on the kernel model (docs/agent.md)."""
    from .compare import settings, table

    click.echo(f"profile {profile}, {mb} MiB, {duration} s simulated, seeds 0..{seeds - 1} (min / median)")
    click.echo(settings(mb))
    click.echo(table(profile=profile, mb=mb, duration_s=duration, seeds=range(seeds)))


commands = [agent, agent_compare]
