"""CLI for the kernel model: ``zswaplab stat`` and the kernel part of ``zswaplab demo``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from .config import KernelConfig
from .constants import PAGE_SIZE
from .profiles import PROFILES
from .system import Kernel

ZSWAP_KEYS = ("zswap", "zswapped", "zswpout", "zswpin", "zswpwb", "pswpout")


def _stat(k: Kernel, cg: str) -> dict[str, int]:
    return {a: int(b) for a, b in (ln.split() for ln in k.fs.read(cg, "memory.stat").splitlines())}


def store_path_demo(profile: str = "mainline", seed: int = 0, pages: int = 4096) -> tuple[Kernel, list[dict]]:
    """A parent with two children pushed into zswap, then ``memory.zswap.max`` lowered on one child and more
    pages reclaimed from both. Returns the kernel and one row per (phase, cgroup)."""
    k = Kernel(KernelConfig(profile=profile), seed=seed)
    for cg in ("/parent", "/parent/a", "/parent/b"):
        k.fs.mkdir(cg)
    for cg in ("/parent/a", "/parent/b"):
        k.alloc(cg, pages, clen=lambda rng: rng.randint(600, 1400))
    rows: list[dict] = []

    def snap(phase: str) -> None:
        for cg in ("/parent", "/parent/a", "/parent/b"):
            rows.append({"phase": phase, "cgroup": cg, **{key: _stat(k, cg)[key] for key in ZSWAP_KEYS}})

    k.fs.write("/parent", "memory.reclaim", f"{pages * PAGE_SIZE // 2}")
    snap(f"1. echo {pages * PAGE_SIZE // 2} > /parent/memory.reclaim")
    half = int(k.fs.read("/parent/a", "memory.zswap.current")) // 2
    k.fs.write("/parent/a", "memory.zswap.max", str(half))
    k.fs.write("/parent/a", "memory.reclaim", f"{pages * PAGE_SIZE // 2}")
    k.fs.write("/parent/b", "memory.reclaim", f"{pages * PAGE_SIZE // 2}")
    snap(f"2. /parent/a memory.zswap.max = {half}; {pages * PAGE_SIZE // 2} reclaimed from each child")
    return k, rows


def print_rows(console: Console, rows: list[dict]) -> None:
    for phase in dict.fromkeys(r["phase"] for r in rows):
        t = Table("cgroup", *ZSWAP_KEYS, title=phase, title_justify="left")
        for r in rows:
            if r["phase"] == phase:
                t.add_row(r["cgroup"], *(str(r[c]) for c in ZSWAP_KEYS))
        console.print(t)


def demo(console: Console) -> None:
    k, rows = store_path_demo()
    console.rule("[bold]Kernel model: memory.zswap.max and the store-path shrink_memcg (mainline)")
    print_rows(console, rows)
    console.print(
        "Lowering /parent/a's memory.zswap.max sends every later store of /parent/a through shrink_memcg: the "
        "freshly stored entries are referenced, so the first calls only rotate (store rejected → page goes "
        "straight to disk: pswpout) and writeback (zswpwb) starts once the head entries lost their second "
        "chance. /parent/b is untouched (zswpwb 0).\n"
        "debugfs (/sys/kernel/debug/zswap; pool_total_size in bytes, the rest event counts): "
        + ", ".join(f"{key} {v}" for key, v in k.debugfs().items()),
        highlight=False,
    )


@click.command("stat")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="mainline", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="with PATH: print what was read as JSON")
def stat_cmd(path: Path | None, profile: str, seed: int, as_json: bool) -> None:
    """Run the store-path example and print every cgroup's memory.stat zswap lines; or, with PATH (a cgroup v2
    directory, a copy of one, or a saved memory.stat), show that cgroup's and its children's zswap state."""
    if path is not None:
        from ..lab.cgstat import show

        show(path, as_json)
        return
    console = Console()
    _k, rows = store_path_demo(profile, seed)
    print_rows(console, rows)


commands = [stat_cmd]
