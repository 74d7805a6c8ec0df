"""The shared 80-column table: cells whole, numbers right-aligned, headers wrapped at spaces only."""

from __future__ import annotations

from rich.console import Console

from zswaplab.common.termtable import rich_table


def _render(header: list[str], rows: list[list[str]], width: int = 80) -> str:
    c = Console(width=width, record=True)
    c.print(rich_table(None, header, rows))
    return c.export_text()


def test_cells_stay_whole_at_80_columns() -> None:
    """Seven columns whose widest cells and header words add up to 67 characters fit 80 columns whole."""
    header = ["cursor algorithm", "M", "lock wait p50 / p99 / max (µs)", "reclaim pages/s", "regression vs M=0",
              "agent pages/s", "cmpxchg retries"]
    rows = [["memcg_global_lock", "1000", "0 / 20.1 / 48.0", "195,328", "1.04%", "136,704", "0"],
            ["memcg_lock", "0", "0 / 0 / 0", "197,376", "0.00%", "0", "0"]]
    out = _render(header, rows)
    assert max(map(len, out.splitlines())) <= 80 and "…" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("memcg_global_lock"))
    for cell in rows[0]:
        assert cell in line
    words = out.split()
    for w in ("regression", "cmpxchg", "retries", "pages/s", "(µs)"):
        assert w in words  # header words never broken
    assert line.endswith("136,704        0")  # numbers right-aligned
