from __future__ import annotations

import numpy as np
import pytest

from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.scale.fastkernel import FastKernel
from zswaplab.scale.traces import (
    Trace,
    TraceError,
    read_csv,
    read_oracle_general,
    read_parquet,
    write_csv,
    write_oracle_general,
    write_parquet,
)
from zswaplab.scale.workloads import WorkingSet, generate, interleave


def _trace(seed: int = 3, n: int = 3000) -> Trace:
    return generate(WorkingSet(400, phase_len=700, idle_every=200, idle_len=30), n, seed)


def test_generators_are_deterministic_and_skewed():
    a, b = _trace(), _trace()
    assert np.array_equal(a.obj_id, b.obj_id) and np.array_equal(a.clen, b.clen)
    assert not np.array_equal(a.obj_id, _trace(4).obj_id)
    counts = np.bincount(generate(WorkingSet(1000), 20000, 1).obj_id.astype(np.int64))
    top = np.sort(counts)[::-1]
    assert top[:100].sum() > 0.7 * counts.sum()  # hot 10% of pages take ~80% of accesses
    tr = interleave([generate(WorkingSet(50), 100, 1), generate(WorkingSet(50), 100, 2, id_base=1000)])
    assert np.all(np.diff(tr.time.astype(np.int64)) >= 0) and len(tr) == 200


def test_roundtrip_csv_parquet_oracle_general(tmp_path):
    tr = _trace()
    write_csv(tr, tmp_path / "t.csv")
    write_parquet(tr, tmp_path / "t.parquet")
    write_oracle_general(tr, tmp_path / "t.oracleGeneral")
    for back in (read_csv(tmp_path / "t.csv"), read_parquet(tmp_path / "t.parquet")):
        assert np.array_equal(back.obj_id, tr.obj_id) and np.array_equal(back.clen, tr.clen)
        assert np.array_equal(back.time, tr.time)
    og = read_oracle_general(tmp_path / "t.oracleGeneral")
    assert np.array_equal(og.obj_id, tr.obj_id) and np.array_equal(og.time, tr.time)
    assert (tmp_path / "t.oracleGeneral").stat().st_size == 24 * len(tr)
    nxt = tr.next_access()
    for i in (0, 5, 100):
        later = np.flatnonzero(tr.obj_id[i + 1:] == tr.obj_id[i])
        assert nxt[i] == (i + 1 + later[0] if later.size else -1)


def test_oracle_general_is_readable_by_libcachesim(tmp_path):
    lcs = pytest.importorskip("libcachesim")
    tr = _trace(n=2000)
    write_oracle_general(tr, tmp_path / "t.oracleGeneral")
    reader = lcs.TraceReader(str(tmp_path / "t.oracleGeneral"), lcs.TraceType.ORACLE_GENERAL_TRACE)
    ids = [req.obj_id for req in reader]
    assert ids == tr.obj_id.tolist()


def test_bad_input_names_file_line_field(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("time,obj_id,clen\n1,2,100\n2,x,100\n")
    with pytest.raises(TraceError, match=r"bad.csv:3: field 'obj_id'"):
        read_csv(p)
    p.write_text("time,obj_id,clen\n1,2,9000\n")
    with pytest.raises(TraceError, match=r"bad.csv:2: field 'clen'"):
        read_csv(p)
    q = tmp_path / "bad.oracleGeneral"
    q.write_bytes(b"\0" * 30)
    with pytest.raises(TraceError, match="record"):
        read_oracle_general(q)


@pytest.mark.parametrize("profile", ["mainline", "v5"])
def test_replay_matches_oracle_alloc_touch(profile):
    """``FastKernel.replay`` == the oracle doing alloc (first access) / touch (later accesses) per event."""
    tr = generate(WorkingSet(600, phase_len=900), 4000, 11)
    objs, clens = tr.dense()
    cfg = KernelConfig(profile=profile, totalram_pages=2048, max_pool_percent=3, swap_pages=5000)
    o, f = Kernel(cfg, seed=1), FastKernel(cfg, seed=1)
    for k in (o, f):
        k.fs.mkdir("/w")
        k.fs.write("/w", "memory.max", str(200 * 4096))
    pages: dict[int, object] = {}
    for ob in objs.tolist():
        p = pages.get(ob)
        if p is None:
            pages[ob] = o.alloc("/w", 1, clen=int(clens[ob]))[0]
        else:
            o.touch([p])
    f.replay("/w", objs, clens)
    for path in ("/", "/w"):
        assert o.fs.read(path, "memory.stat") == f.fs.read(path, "memory.stat")
    assert o.debugfs() == f.debugfs()
    assert o.debugfs()["written_back_pages"] > 0 and o.vm_events["zswpin"] > 0


def test_cli_convert_and_replay(tmp_path):
    from click.testing import CliRunner

    from zswaplab.scale.cli import replay, trace_convert

    tr = _trace(n=5000)
    write_csv(tr, tmp_path / "t.csv")
    r = CliRunner().invoke(trace_convert, [str(tmp_path / "t.csv"), str(tmp_path / "t.oracleGeneral")])
    assert r.exit_code == 0, r.output
    assert np.array_equal(read_oracle_general(tmp_path / "t.oracleGeneral").obj_id, tr.obj_id)
    r = CliRunner().invoke(replay, [str(tmp_path / "t.csv"), "--memory-max", "1M", "--totalram", "64M"])
    assert r.exit_code == 0, r.output
    assert "5,000 events" in r.output and "zswpout" in r.output
    stat = dict(line.split() for line in r.output.splitlines() if line.startswith(("zswpout ", "zswpin ")))
    assert int(stat["zswpout"]) > 0 and int(stat["zswpin"]) > 0
    r = CliRunner().invoke(replay, [str(tmp_path / "t.csv"), "--memory-max", "40K"])
    assert r.exit_code == 1 and "ran out of memory" in r.output
    (tmp_path / "bad.csv").write_text("time,obj_id\n1,-3\n")
    r = CliRunner().invoke(replay, [str(tmp_path / "bad.csv")])
    assert r.exit_code != 0 and "bad.csv:2: field 'obj_id'" in r.output


def test_replay_prints_a_cachesim_line_and_json(tmp_path):
    """`zswaplab replay`: one cachesim-style line (requests, miss/hit ratio, zswap store/load/writeback per
    request, zswap's hit ratio, requests/s) computed from memory.stat, and the same as JSON."""
    import json
    import re

    from click.testing import CliRunner

    from zswaplab.scale.cli import replay, trace_gen

    t = tmp_path / "t.csv"
    r = CliRunner().invoke(trace_gen, [str(t), "--events", "5000", "--pages", "600", "--phase-len", "900"])
    assert r.exit_code == 0 and "5,000 accesses to 600 pages" in r.output, r.output
    args = [str(t), "--memory-max", "1M", "--totalram", "2M"]  # a 400 KiB pool: writeback and swap-ins
    j = json.loads(CliRunner().invoke(replay, [*args, "--json"]).stdout)
    st = j["memory_stat"]
    assert st["zswpwb"] > 0 and st["pswpin"] > 0 and st["zswpin"] > 0
    assert j["events"] == 5000 and j["cache_size_bytes"] == 1 << 20
    assert j["misses"] == j["objects"] + st["zswpin"] + st["pswpin"]  # first access + faults from zswap or swap
    assert j["miss_ratio"] == j["misses"] / 5000 and abs(j["hit_ratio"] + j["miss_ratio"] - 1) < 1e-12
    assert (j["zswap_store_ratio"], j["zswap_load_ratio"], j["zswap_writeback_ratio"]) == (
        st["zswpout"] / 5000, st["zswpin"] / 5000, st["zswpwb"] / 5000)
    assert j["zswap_hit_ratio"] == st["zswpin"] / (st["zswpin"] + st["pswpin"])
    line = CliRunner().invoke(replay, args).stdout.splitlines()[0]
    assert line.startswith("t.csv mainline, cache size 1 MiB (memory.max), 5,000 req, ")
    assert f"miss ratio {j['miss_ratio']:.4f}, hit ratio {j['hit_ratio']:.4f} | " in line
    assert (f"zswap store {j['zswap_store_ratio']:.4f} load {j['zswap_load_ratio']:.4f} writeback "
            f"{j['zswap_writeback_ratio']:.4f} per req, zswap hit ratio {j['zswap_hit_ratio']:.4f} | ") in line
    assert re.search(r"\| [\d,]+ req/s$", line), line
