"""Tables that read at 80 columns, shared by every command that prints one (lab, concurrency, agent, vm).

Name columns stay whole on one line, number columns are right-aligned and keep their cells whole, headers wrap
at spaces, and long text wraps (``overflow="fold"``): a cell is never cut with "…".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich import box
from rich.padding import Padding
from rich.table import Table


def numeric(cells: Sequence[str]) -> bool:
    """A column of numbers (with their units): right-aligned."""
    return bool(cells) and all(re.match(r"^[\d–.#-]", c) or c in ("never", "no trip", "on", "off") for c in cells)


def width(h: str, cells: Sequence[str]) -> int:
    """The narrowest width that keeps every cell whole and no header word broken."""
    return max([len(c) for c in cells] + [len(w) for w in h.split()])


def rich_table(title: str | None, header: list[str], rows: list[list[str]], left: Sequence[int] = (0,)) -> Padding:
    """A table that reads at 80 columns: name columns (``left``, and any column of words) are left-aligned and
    never wrap, number columns are right-aligned and keep their cells whole; headers wrap at spaces. A blank
    line above and below it sets it apart from the text and the next table."""
    # two spaces between columns (the divider and one of padding), no edge columns: more room for the cells
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
              padding=(0, 1, 0, 0))
    for i, h in enumerate(header):
        cells = [r[i] for r in rows]
        num = i not in left and numeric(cells)
        widest = max((len(c) for c in cells), default=0)
        fixed = width(h, cells)
        t.add_column(h, justify="right" if num else "left", no_wrap=i in left,
                     width=fixed if num or i in left or widest <= 16 else None, overflow="fold")
    for r in rows:
        t.add_row(*r)
    return Padding(t, (1, 0, 1, 0), expand=False)
