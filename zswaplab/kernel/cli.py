"""CLI for the kernel model: ``zswaplab stat`` and the kernel part of ``zswaplab demo``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

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

    push = pages * PAGE_SIZE // 2
    k.fs.write("/parent", "memory.reclaim", str(push))
    snap(f"1. {_size(push)} reclaimed from /parent (echo {push} > memory.reclaim)")
    half = int(k.fs.read("/parent/a", "memory.zswap.current")) // 2
    k.fs.write("/parent/a", "memory.zswap.max", str(half))
    k.fs.write("/parent/a", "memory.reclaim", str(push))
    k.fs.write("/parent/b", "memory.reclaim", str(push))
    snap(f"2. /parent/a's memory.zswap.max set to half its zswap ({_size(half)}), then {_size(push)} reclaimed "
         "from each child")
    return k, rows


def _size(n: int) -> str:
    from ..lab.fmt import size

    return size(n)


# memory.stat keys as the demo prints them: sizes (zswap: compressed, zswapped: uncompressed), the rest are
# event counts of pages
HEADERS = {"zswap": "zswap", "zswapped": "zswapped", "zswpout": "zswpout (pages)", "zswpin": "zswpin (pages)",
           "zswpwb": "zswpwb (pages)", "pswpout": "pswpout (pages)"}
UNITS = "zswap: compressed size in zswap; zswapped: the same pages uncompressed; the rest count pages"


def _cell(key: str, v: int) -> str:
    return _size(v) if key in ("zswap", "zswapped") else f"{v:,}"


def print_rows(console: Console, rows: list[dict]) -> None:
    from ..common.termtable import rich_table

    for phase in dict.fromkeys(r["phase"] for r in rows):
        console.print(rich_table(phase, ["cgroup", *(HEADERS[c] for c in ZSWAP_KEYS)],
                                 [[r["cgroup"], *(_cell(c, r[c]) for c in ZSWAP_KEYS)] for r in rows
                                  if r["phase"] == phase]))
    console.print(f"[dim]{UNITS}[/]", highlight=False)


def answer(rows: list[dict]) -> str:
    """The demo's finding, computed from the rows of the last phase against the first."""
    first, last = ({r["cgroup"]: r for r in rows if r["phase"] == p} for p in dict.fromkeys(r["phase"] for r in rows))
    d = {cg: {key: last[cg][key] - first[cg][key] for key in ZSWAP_KEYS} for cg in ("/parent/a", "/parent/b")}
    a, b = d["/parent/a"], d["/parent/b"]
    return (f"With its memory.zswap.max lowered, /parent/a stored {a['zswpout']:,} more pages, sent "
            f"{a['pswpout']:,} straight to disk (pswpout: the store was rejected while the first shrink_memcg "
            f"calls only rotated referenced entries) and wrote back {a['zswpwb']:,} (zswpwb) once the head "
            f"entries had lost their second chance; /parent/b, without a limit, stored {b['zswpout']:,} and "
            f"wrote back {b['zswpwb']:,}.")


def demo(console: Console) -> None:
    k, rows = store_path_demo()
    console.rule("[bold]kernel model: memory.zswap.max and the store path (mainline)")
    console.print(f"[bold green]Answer:[/] {answer(rows)}", highlight=False)
    print_rows(console, rows)
    console.print(
        "[dim]debugfs (/sys/kernel/debug/zswap): "
        + ", ".join(f"{key} {_size(v) if key == 'pool_total_size' else f'{v:,}'}" for key, v in k.debugfs().items())
        + " (sizes compressed, the rest page counts)[/]", highlight=False)


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
