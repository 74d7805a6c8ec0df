"""Parameter sweeps over the fast core: grid expansion, local process pool or Dask, Parquet/CSV results,
resumable, failures reported with their parameters and traceback.

``SWEEP.toml``::

    [sweep]
    name = "fairness"
    [grid]                      # every combination is one point
    profile = ["v3", "v5"]
    strategy = ["restart", "per-memcg", "batch-each-then-check"]
    budget = ["1M", "6M"]       # bytes per proactive call
    wb_batch = [32, 128]
    children = [2, 10]
    seed = [0, 1]
    [fixed]                     # the same for every point
    child_size = "16M"
    calls = 20
    interval = 2.0

Each point builds ``children`` memcgs under ``/parent`` holding ``child_size`` each in zswap, then makes
``calls`` proactive writeback calls of ``budget`` on ``/parent`` (the profile's own request) and records the
per-child writeback, Jain's fairness index, failed calls and wall time.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import tomllib
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

GRID_AXES = ("profile", "strategy", "budget", "wb_batch", "children", "seed")
FIXED_KEYS = {"child_size": "16M", "calls": 20, "interval": 2.0, "bypass_second_chance": None}


class SweepError(ValueError):
    """A bad sweep file; the message names the file and the field."""


def _size(v: Any, where: str) -> int:
    from zswaplab.kernel.cgroupfs import memparse

    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    if isinstance(v, str):
        val, n = memparse(v.strip())
        if n and n == len(v.strip()):
            return val
    raise SweepError(f"{where}: not a size: {v!r}")


def load_sweep(path: str | Path) -> tuple[str, list[dict[str, Any]]]:
    """Parse and expand ``SWEEP.toml`` into (name, points)."""
    from zswaplab.kernel.profiles import PROFILES, STRATEGIES

    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SweepError(f"{path}: {e}") from None
    name = str(doc.get("sweep", {}).get("name", path.stem))
    grid = doc.get("grid", {})
    unknown = sorted(set(grid) - set(GRID_AXES)) + sorted(set(doc.get("fixed", {})) - set(FIXED_KEYS))
    if unknown:
        raise SweepError(f"{path}: unknown field(s) {unknown}; grid axes {GRID_AXES}, fixed {sorted(FIXED_KEYS)}")
    axes: dict[str, list[Any]] = {}
    defaults = {"profile": ["v5"], "strategy": [None], "budget": ["1M"], "wb_batch": [None], "children": [2],
                "seed": [0]}
    for ax in GRID_AXES:
        vals = grid.get(ax, defaults[ax])
        if not isinstance(vals, list) or not vals:
            raise SweepError(f"{path}: grid.{ax}: expected a non-empty list")
        for v in vals:
            where = f"{path}: grid.{ax}"
            if ax == "profile" and v not in PROFILES:
                raise SweepError(f"{where}: unknown profile {v!r}")
            if ax == "strategy" and v is not None and v not in STRATEGIES:
                raise SweepError(f"{where}: unknown strategy {v!r}")
            if ax == "budget":
                _size(v, where)
            if ax in ("wb_batch", "children", "seed") and not (isinstance(v, int) and v >= 0) \
                    and not (ax == "wb_batch" and v is None):
                raise SweepError(f"{where}: expected a non-negative integer, got {v!r}")
        axes[ax] = vals
    fixed = {**FIXED_KEYS, **doc.get("fixed", {})}
    _size(fixed["child_size"], f"{path}: fixed.child_size")
    points = [dict(zip(GRID_AXES, combo, strict=True), **fixed) for combo in itertools.product(*axes.values())]
    return name, points


def point_key(p: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(p, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_point(p: dict[str, Any]) -> dict[str, Any]:
    """Run one point on :class:`FastKernel`; returns its metrics."""
    import numpy as np

    from zswaplab.kernel import KernelConfig, proactive_request

    from .fastkernel import FastKernel

    t0 = time.perf_counter()
    cfg = KernelConfig(profile=p["profile"], totalram_pages=1 << 24, swap_pages=1 << 24, strategy=p["strategy"],
                       wb_batch=p["wb_batch"], bypass_second_chance=p.get("bypass_second_chance"))
    k = FastKernel(cfg, seed=p["seed"], keep_log=False)
    budget = _size(p["budget"], "budget")
    file, text = proactive_request(p["profile"], budget)
    n = _size(p["child_size"], "child_size") // 4096
    rng = np.random.default_rng(p["seed"])
    k.fs.mkdir("/parent")
    for i in range(p["children"]):
        k.fs.mkdir(f"/parent/c{i}")
        k.alloc(f"/parent/c{i}", n, clen=np.clip(rng.normal(0.35, 0.08, n) * 4096, 1, 4096).astype(np.int64))
        k.fs.write(f"/parent/c{i}", "memory.reclaim", str(n * 4096))
    k.advance(60)
    failed = 0
    for _ in range(int(p["calls"])):
        try:
            k.fs.write("/parent", file, text)
        except OSError:
            failed += 1
        k.advance(float(p["interval"]))
    wb = []
    for i in range(p["children"]):
        st = dict(line.split() for line in k.fs.read(f"/parent/c{i}", "memory.stat").splitlines())
        wb.append(int(st["zswpwb"]))
    x = np.array(wb, dtype=np.float64)
    jain = float(x.sum() ** 2 / (len(x) * (x ** 2).sum())) if x.sum() > 0 else float("nan")
    return {"written_pages": int(x.sum()), "jain": jain, "min_share": float(x.min() / x.sum()) if x.sum() else 0.0,
            "max_share": float(x.max() / x.sum()) if x.sum() else 0.0, "failed_calls": failed,
            "per_child": json.dumps(wb), "wall_s": time.perf_counter() - t0}


def run_point_safe(p: dict[str, Any]) -> dict[str, Any]:
    """``run_point`` that never raises: a failure comes back with its traceback."""
    row: dict[str, Any] = {**{k: (json.dumps(v) if v is None else v) for k, v in p.items()}, "key": point_key(p)}
    try:
        row.update(run_point(p), status="ok", error="", traceback="")
    except Exception as e:  # noqa: BLE001 - reported per point
        row.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    return row


def _submit_local(points: list[dict[str, Any]], jobs: int) -> Iterable[dict[str, Any]]:
    if jobs <= 1:
        for p in points:
            yield run_point_safe(p)
        return
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        futs = [ex.submit(run_point_safe, p) for p in points]
        for f in as_completed(futs):
            yield f.result()


def _submit_dask(points: list[dict[str, Any]], scheduler: str) -> Iterable[dict[str, Any]]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(scheduler, timeout="30s") as client:
        futs = client.map(run_point_safe, points, pure=False)
        for f in dask_completed(futs):
            yield f.result()


def run_sweep(path: str | Path, out: str | Path, jobs: int = 2, scheduler: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run every unfinished point of the sweep; write results.parquet/.csv and summary.png in ``out``."""
    import pandas as pd

    name, points = load_sweep(path)
    out = Path(out)
    pdir = out / "points"
    pdir.mkdir(parents=True, exist_ok=True)
    todo, skipped = [], 0
    for p in points:
        f = pdir / f"{point_key(p)}.json"
        if f.exists() and json.loads(f.read_text()).get("status") == "ok":
            skipped += 1
        else:
            todo.append(p)
    done = 0
    if progress:
        progress(0, len(todo))
    runner = _submit_dask(todo, scheduler) if scheduler else _submit_local(todo, jobs)
    for row in runner:
        (pdir / f"{row['key']}.json").write_text(json.dumps(row, sort_keys=True))
        done += 1
        if progress:
            progress(done, len(todo))
    rows = [json.loads((pdir / f"{point_key(p)}.json").read_text()) for p in points]
    df = pd.DataFrame(rows)
    df.to_parquet(out / "results.parquet", index=False)
    df.to_csv(out / "results.csv", index=False)
    failed = df[df["status"] != "ok"]
    _plot(df[df["status"] == "ok"], out / "summary.png", name)
    return {"name": name, "points": len(points), "ran": len(todo), "skipped": skipped, "failed": failed,
            "out": out}


def summary_panels(df: Any) -> dict[int, Any]:
    """Jain's index per sweep point, one panel per number of children (Jain's floor is 1/n: populations of
    different sizes are never averaged together). In a panel: one row per combination of the other grid axes
    that vary (seed excepted), with the mean, min and max over the seeds and their count ``n``."""
    panels: dict[int, Any] = {}
    if not len(df):
        return panels
    keys = [a for a in GRID_AXES if a not in ("children", "seed") and df[a].nunique() > 1] or ["profile"]
    for n, part in df.groupby("children", sort=True):
        g = part.groupby(keys, sort=False, dropna=False)["jain"].agg(["mean", "min", "max", "count"]).reset_index()
        g["label"] = ["/".join(str(getattr(r, k)) for k in keys) for r in g.itertuples()]
        panels[int(n)] = g.set_index("label")
    labels = list(dict.fromkeys(lab for g in panels.values() for lab in g.index))
    for n, g in panels.items():  # the same rows in every panel (a point that failed leaves a gap)
        panels[n] = g.reindex(labels).reset_index()
        panels[n].attrs["keys"] = keys
    return panels


def summary_figure(df: Any, name: str) -> Any:
    """The figure of :func:`summary_panels`: stacked panels (titled "N children"), bars = mean over seeds with
    min–max error bars, a dotted line at Jain's floor 1/N. Fonts 11 pt at the saved size (slide-legible)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = summary_panels(df)
    with plt.rc_context({"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "xtick.labelsize": 10}):
        fig, axes = plt.subplots(max(1, len(panels)), 1, figsize=(10, 2.6 + 2.4 * max(1, len(panels))),
                                 squeeze=False, sharex=True)
        for ax, (n, g) in zip(axes[:, 0], panels.items(), strict=False):
            xs = range(len(g))
            ax.bar(xs, g["mean"], color="#4477aa", width=0.7,
                   yerr=[g["mean"] - g["min"], g["max"] - g["mean"]], capsize=3, ecolor="#222222")
            ax.axhline(1 / n, color="#aa3377", linestyle=":", linewidth=1.5, label=f"1/{n}: one child wrote all")
            seeds = sorted({int(c) for c in g["count"].dropna()})
            ax.set_title(f"{n} children (bars: mean over {'/'.join(map(str, seeds))} seed(s), min–max)",
                         loc="left")
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("Jain's index")
            ax.legend(loc="lower right", frameon=False)
            ax.grid(alpha=0.3, axis="y")
        if panels:
            g = next(iter(panels.values()))
            last = axes[-1, 0]
            last.set_xticks(range(len(g)), g["label"], rotation=45, ha="right")
            last.set_xlabel(" / ".join(g.attrs["keys"]))
        fig.suptitle(f"sweep {name}: Jain's index of the per-child writeback (1 = even)", x=0.01, ha="left")
        fig.tight_layout()
    return fig


def _plot(df: Any, path: Path, name: str) -> None:
    import matplotlib.pyplot as plt

    fig = summary_figure(df, name)
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)
