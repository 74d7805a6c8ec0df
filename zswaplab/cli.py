"""The ``zswaplab`` command line.

Each subsystem contributes its commands from ``zswaplab/<subsystem>/cli.py``: a module-level ``commands``
list of click commands, and optionally a ``demo(console)`` function that ``zswaplab demo`` calls in order.
"""

from __future__ import annotations

import importlib
import json

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


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="print the lab's and the agent's sections (question, answer, table) as JSON instead (the "
                   "other demos are terminal-only)")
def demo(as_json: bool) -> None:
    """Run the main job on the embedded simulator and print what it shows."""
    if as_json:
        from .agent.cli import demo_section
        from .lab.demo import sections

        click.echo(json.dumps([*sections(), demo_section()], indent=1))
        return
    console = Console()
    for mod in _subsystem_modules():
        fn = getattr(mod, "demo", None)
        if fn is not None:
            fn(console)


for _mod in _subsystem_modules():
    for _cmd in getattr(_mod, "commands", []):
        main.add_command(_cmd)


if __name__ == "__main__":
    main()
