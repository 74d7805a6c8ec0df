"""``zswaplab stat PATH``: the zswap state of a real cgroup v2 directory (or a saved copy of one) and its direct
children, with units — the model's ``memory.stat`` keys read from the kernel's files.

``PATH`` is a cgroup directory (``/sys/fs/cgroup/web.slice``), a copy of one (``cp -r`` keeps the files, which
is a snapshot), or a single saved ``memory.stat`` file. Read-only: nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import fmt
from .adapter import parse_stat

# (memory.stat key, unit): sizes are bytes, event counters count pages
STAT_KEYS = (("zswap", "bytes"), ("zswapped", "bytes"), ("zswpout", "pages"), ("zswpin", "pages"),
             ("zswpwb", "pages"), ("pswpin", "pages"), ("pswpout", "pages"))
FILES = ("memory.zswap.current", "memory.zswap.max", "memory.zswap.writeback")


class StatError(ValueError):
    """A path that is neither a cgroup directory nor a memory.stat file (names the path)."""


def _read(p: Path) -> str | None:
    try:
        return p.read_text()
    except OSError:
        return None


def read_cgroup(path: Path) -> dict[str, Any]:
    """memory.stat (parsed) and the memory.zswap.* files of one cgroup directory or one memory.stat file."""
    stat_file = path if path.is_file() else path / "memory.stat"
    text = _read(stat_file)
    if text is None:
        raise StatError(f"{stat_file}: cannot read (a cgroup v2 directory with memory.stat, or a saved memory.stat)")
    try:
        stat = parse_stat(text)
    except ValueError as e:
        raise StatError(f"{stat_file}: not a memory.stat: {e}") from None
    if not stat:
        raise StatError(f"{stat_file}: not a memory.stat (no 'key value' lines)")
    files = {} if path.is_file() else {f: (v.strip() if (v := _read(path / f)) is not None else None) for f in FILES}
    return {"path": str(path), "stat": stat, "files": files}


def read_tree(path: Path) -> list[dict[str, Any]]:
    """``path`` and each direct child directory that has a memory.stat."""
    out = [read_cgroup(path)]
    if path.is_dir():
        out += [read_cgroup(c) for c in sorted(path.iterdir()) if c.is_dir() and (c / "memory.stat").exists()]
    return out


def rows(tree: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """One row per key, one column per cgroup (the target, then its children): fits 80 columns."""
    header = ["key", *(Path(cg["path"]).name or cg["path"] for cg in tree)]
    out = []
    for k, unit in STAT_KEYS:
        out.append([k, *("–" if k not in cg["stat"] else fmt.size(cg["stat"][k]) if unit == "bytes"
                         else fmt.pages(cg["stat"][k]) for cg in tree)])
    for f in FILES:
        cells = []
        for cg in tree:
            v = cg["files"].get(f)
            cells.append("–" if v is None else fmt.size(int(v)) if v.isdigit() and f != "memory.zswap.writeback"
                         else {"1": "on", "0": "off"}.get(v, v) if f == "memory.zswap.writeback" else v)
        out.append([f, *cells])
    return header, out


def show(path: Path, as_json: bool = False) -> None:
    """Print the zswap state under ``path`` (``zswaplab stat PATH``)."""
    import json

    import click
    from rich.console import Console

    from ..common.termtable import rich_table

    try:
        tree = read_tree(path)
    except StatError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(tree, indent=1))
        return
    console = Console()
    kids = f" and its {len(tree) - 1} child cgroup(s)" if len(tree) > 1 else ""
    console.print(f"{path}{kids} (zswap: compressed size; zswapped: the same pages uncompressed; counters: "
                  "pages)", highlight=False)
    console.print(rich_table(None, *rows(tree)))


__all__ = ["StatError", "read_cgroup", "read_tree", "rows", "show"]
