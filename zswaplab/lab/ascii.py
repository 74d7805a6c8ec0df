"""Terminal views of a run's key result (damo's ``--plot_ascii`` habit): a per-child heat strip of what each
variant wrote back, and a small line chart of any ``stats.csv`` key over the run's steps. Pure functions that
return lines of text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

LEVELS = " ▁▂▃▄▅▆▇█"


def heat(fractions: Sequence[float]) -> str:
    """One character per value in [0, 1]: blank = nothing, █ = all of it (anything > 0 shows at least ▁)."""
    out = []
    for f in fractions:
        f = min(1.0, max(0.0, f))
        i = 0 if f <= 0 else max(1, round(f * (len(LEVELS) - 1)))
        out.append(LEVELS[i])
    return "".join(out)


def written_heat(pages: Mapping[str, int], eligible: Mapping[str, int], bytes_: Mapping[str, int]) -> str:
    """Each eligible child's written-back fraction of its zswap bytes at the first call, as a heat strip."""
    return heat([bytes_.get(c, 0) / e if e else 0.0 for c, e in eligible.items()])


def line_chart(series: Mapping[str, Sequence[float]], width: int = 64, height: int = 10,
               unit: str = "") -> list[str]:
    """Several series over the same x (step) as a character chart; each series drawn with its own letter
    (``a``, ``b``, …; ``*`` where they coincide), with the y range and a legend."""
    names = list(series)
    n = max((len(v) for v in series.values()), default=0)
    if not names or n == 0:
        return ["(no data)"]
    lo = min(min(v) for v in series.values() if len(v))
    hi = max(max(v) for v in series.values() if len(v))
    span = (hi - lo) or 1.0
    grid = [[" "] * width for _ in range(height)]
    for k, name in enumerate(names):
        mark = chr(ord("a") + k % 26)
        vals = series[name]
        for x in range(width):
            i = round(x * (len(vals) - 1) / max(1, width - 1))
            y = height - 1 - round((vals[i] - lo) / span * (height - 1))
            grid[y][x] = mark if grid[y][x] in (" ", mark) else "*"
    label_w = max(len(f"{hi:g}"), len(f"{lo:g}"))
    lines = []
    for r, row in enumerate(grid):
        label = f"{hi:g}" if r == 0 else f"{lo:g}" if r == height - 1 else ""
        lines.append(f"{label:>{label_w}} |" + "".join(row))
    lines.append(" " * label_w + " +" + "-" * width)
    lines.append(" " * label_w + f"  step 0 … {n - 1}" + (f"   ({unit})" if unit else ""))
    lines += [f"  {chr(ord('a') + k % 26)} = {name}" for k, name in enumerate(names)]
    if len(names) > 1:
        lines.append("  * = several series at the same point")
    return lines


__all__ = ["heat", "line_chart", "written_heat"]
