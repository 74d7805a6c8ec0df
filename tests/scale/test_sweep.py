from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from zswaplab.scale.cli import sweep as sweep_cmd
from zswaplab.scale.sweep import SweepError, load_sweep, run_sweep

SWEEP = """
[sweep]
name = "t"
[grid]
profile = ["v3", "mainline"]
strategy = ["restart", "per-memcg"]
budget = ["64K"]
children = [2]
seed = [0]
[fixed]
child_size = "256K"
calls = 3
"""


def test_grid_expansion_and_bad_fields(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(SWEEP)
    name, points = load_sweep(f)
    assert name == "t" and len(points) == 4
    assert {(p["profile"], p["strategy"]) for p in points} == {
        ("v3", "restart"), ("v3", "per-memcg"), ("mainline", "restart"), ("mainline", "per-memcg")}
    f.write_text(SWEEP.replace('budget = ["64K"]', 'budget = ["lots"]'))
    with pytest.raises(SweepError, match=r"s.toml: grid.budget"):
        load_sweep(f)
    f.write_text(SWEEP + "bogus = 1\n")
    with pytest.raises(SweepError, match="bogus"):
        load_sweep(f)


def test_local_sweep_resumable_and_reports_failures(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(SWEEP)
    out = tmp_path / "out"
    res = run_sweep(f, out, jobs=1)
    assert res["ran"] == 4 and res["skipped"] == 0
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 4 and (out / "results.csv").exists() and (out / "summary.png").stat().st_size > 0
    ok = df[df.status == "ok"]
    assert set(ok.profile) == {"v3"} and (ok.written_pages > 0).all()
    bad = df[df.status == "failed"]
    assert set(bad.profile) == {"mainline"}  # no proactive interface: reported, the others kept
    assert all("ValueError" in e and "Traceback" in t for e, t in zip(bad.error, bad.traceback, strict=True))
    again = run_sweep(f, out, jobs=1)
    assert again["skipped"] == 2 and again["ran"] == 2  # finished points skipped, failed ones retried
    r = CliRunner().invoke(sweep_cmd, [str(f), "--out", str(out), "--jobs", "1"])
    assert r.exit_code == 1 and "FAILED profile=mainline" in r.output and "skipped 2" in r.output


def test_dask_loopback_cluster_gives_same_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    f = tmp_path / "s.toml"
    f.write_text(SWEEP.replace('["v3", "mainline"]', '["v3"]'))
    local = run_sweep(f, tmp_path / "local", jobs=1)
    assert local["ran"] == 2
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        res = run_sweep(f, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert res["ran"] == 2 and len(res["failed"]) == 0
    cols = ["key", "written_pages", "jain", "per_child"]
    a = pd.read_csv(tmp_path / "local" / "results.csv")[cols].sort_values("key").reset_index(drop=True)
    b = pd.read_csv(tmp_path / "dask" / "results.csv")[cols].sort_values("key").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert json.loads(a.per_child[0])


def test_shipped_sweep_file_expands():
    from pathlib import Path

    import zswaplab.scale

    name, points = load_sweep(Path(zswaplab.scale.__file__).parent / "sweeps" / "fairness.toml")
    assert name == "fairness" and len(points) == 2 * 3 * 2 * 2 * 2 * 2
    assert all(p["bypass_second_chance"] is True and p["calls"] == 20 for p in points)


def test_summary_png_keeps_populations_apart(tmp_path):
    """summary.png: one panel per number of children (Jain's floor 1/n differs), bars = mean over the seeds of
    that population only, min-max error bars; never an average over 2- and 3-child points."""
    f = tmp_path / "s.toml"
    f.write_text(SWEEP.replace("children = [2]", "children = [2, 3]").replace("seed = [0]", "seed = [0, 1]")
                 .replace('"mainline"', '"v5"').replace('"64K"', '"16K"').replace('"256K"', '"1M"')
                 .replace("calls = 3", "calls = 5\nbypass_second_chance = true"))
    out = tmp_path / "out"
    run_sweep(f, out, jobs=1)
    df = pd.read_parquet(out / "results.parquet")
    from zswaplab.scale.sweep import summary_figure, summary_panels

    panels = summary_panels(df)
    assert sorted(panels) == [2, 3]
    for n, g in panels.items():
        assert list(g["label"]) == ["v3/restart", "v3/per-memcg", "v5/restart", "v5/per-memcg"]
        for row in g.itertuples():
            prof, strat = row.label.split("/")
            pts = df[(df.children == n) & (df.profile == prof) & (df.strategy == strat)]["jain"]
            assert len(pts) == 2 == row.count and row.mean == pytest.approx(pts.mean())
            assert (row.min, row.max) == (pts.min(), pts.max())
    mixed = df[(df.profile == "v3") & (df.strategy == "restart")]["jain"]
    assert panels[2].loc[0, "mean"] != pytest.approx(mixed.mean())  # the old plot's average over both sizes
    fig = summary_figure(df, "t")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left").split(" (")[0] for ax in axes] == ["2 children", "3 children"]
    for ax, n in zip(axes, (2, 3), strict=True):
        heights = [p.get_height() for p in ax.patches]
        assert heights == pytest.approx(list(panels[n]["mean"]))
        assert any(line.get_ydata()[0] == pytest.approx(1 / n) for line in ax.get_lines())
    assert [t.get_text() for t in axes[-1].get_xticklabels()] == list(panels[2]["label"])
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
