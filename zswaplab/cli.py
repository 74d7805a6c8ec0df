"""The ``zswaplab`` command line.

Each subsystem contributes its commands from ``zswaplab/<subsystem>/cli.py``: a module-level ``commands``
list of click commands, and optionally a ``demo(console)`` function that ``zswaplab demo`` calls in order.
"""

from __future__ import annotations

import importlib
import json
import time

import click
from rich.console import Console

SUBSYSTEMS = ("kernel", "lab", "concurrency", "agent", "scale", "vm")


def _subsystem_modules():
    for name in SUBSYSTEMS:
        try:
            yield importlib.import_module(f"zswaplab.{name}.cli")
        except ModuleNotFoundError as e:  # subsystem without a CLI module
            if e.name != f"zswaplab.{name}.cli" and e.name != f"zswaplab.{name}":
                raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zswaplab")
def main() -> None:
    """zswaplab: Linux zswap writeback, the per-cgroup proactive writeback series, and an agent for it."""


def warm_fast_core() -> float:
    """Compile the fast core's numba functions (or load them from numba's cache) with a tiny run of the
    operations the demos time; return the seconds it took."""
    from .kernel import KernelConfig
    from .scale.fastkernel import FastKernel

    t0 = time.perf_counter()
    for strategy in ("per-memcg", "restart"):
        k = FastKernel(KernelConfig(profile="v3", totalram_pages=1 << 16, swap_pages=1 << 16, strategy=strategy,
                                    bypass_second_chance=True), seed=0)
        k.fs.mkdir("/p")
        for i in range(2):
            k.fs.mkdir(f"/p/c{i}")
            k.alloc(f"/p/c{i}", 64, clen=lambda r: 1000 + r.randrange(100))
            k.fs.write(f"/p/c{i}", "memory.reclaim", "256K")
        k.advance(1)
        k.fs.write("/p", "memory.reclaim", "16K zswap_writeback_only")
        k.stats_of(k.tree.lookup("/p/c0"))
    return time.perf_counter() - t0


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="print the lab's sections (question, answer, table) as JSON instead (the other demos are "
                   "terminal-only)")
def demo(as_json: bool) -> None:
    """Run the main job on the embedded simulator and print what it shows."""
    if as_json:
        from .lab.demo import sections

        click.echo(json.dumps(sections(), indent=1))
        return
    console = Console()
    for mod in _subsystem_modules():
        fn = getattr(mod, "demo", None)
        if fn is None:
            continue
        if mod.__name__ == "zswaplab.scale.cli":
            with console.status("compiling the fast core (numba, one-off; cached for later runs) …"):
                dt = warm_fast_core()
            console.print(f"compiling fast core (one-off) … {dt:.1f} s — not counted in the wall times below",
                          highlight=False)
        fn(console)


for _mod in _subsystem_modules():
    for _cmd in getattr(_mod, "commands", []):
        main.add_command(_cmd)


if __name__ == "__main__":
    main()
