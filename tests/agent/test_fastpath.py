"""The cycle's fast paths: kept directory descriptors, per-cycle ancestors and listings, hinted stat parsing,
collector-backed metrics. Each must give the same answers as the slow path and keep every safety rule."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zswaplab.agent.backend import CgroupRef, UnsafePath
from zswaplab.agent.cgroupfs import CgroupFSBackend
from zswaplab.agent.stats import parse_memory_stat, parse_pressure

from .conftest import Rig, policy

KEYS = ["zswap", "zswpin", "pswpin", "workingset_refault_anon", "zswpwb_proactive_b", "anon", "file"]


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def be(tmp_path):
    fk = Rig(tmp_path, "v5")
    for n in ("a", "b"):
        fk.mk(f"/p/{n}", 64)
    b = CgroupFSBackend(str(fk.mount), opener=fk.tree, allow_any_fs=True)
    yield fk, b
    b.close()


def test_kept_descriptor_is_reused_and_released(be) -> None:
    fk, b = be
    ref = b.resolve("/p/a")
    b.begin_cycle()
    with b.open(ref, keep=True) as h1:
        fd = h1.fd
        assert "zswap " in h1.read("memory.stat")
    b.end_cycle()
    b.begin_cycle()
    with b.open(ref, keep=True) as h2:
        assert h2.fd == fd  # kept across cycles, not reopened
    b.end_cycle()
    before = _fds()
    b.release(ref)
    assert _fds() == before - 1
    b.begin_cycle()
    with b.open(ref, keep=True) as h3:
        assert h3.read("memory.stat")
    b.end_cycle()


def test_no_descriptor_leaks_over_cycles(be) -> None:
    fk, b = be
    refs = [b.resolve("/p/a"), b.resolve("/p/b")]
    for r in refs:  # first cycle: the kept descriptors are opened
        b.begin_cycle()
        b.open(r, keep=True).__exit__(None, None, None)
        b.end_cycle()
    base = _fds()
    for _ in range(5):
        b.begin_cycle()
        for r in refs:
            with b.open(r, keep=True) as h:
                h.read("memory.pressure")
            with b.open(r) as h:  # not kept: closed on exit
                h.read("memory.stat")
        b.end_cycle()
        assert _fds() == base


def test_kept_descriptor_is_bounded(be) -> None:
    fk, b = be
    b.max_kept = 1
    ra, rb = b.resolve("/p/a"), b.resolve("/p/b")
    b.begin_cycle()
    with b.open(ra, keep=True) as ha, b.open(rb, keep=True) as hb:
        assert not ha.owned and hb.owned  # over the bound: opened for this cycle only
    b.end_cycle()


def test_replaced_or_symlinked_cgroup_is_caught_each_cycle(be, tmp_path) -> None:
    fk, b = be
    ref, rb = b.resolve("/p/a"), b.resolve("/p/b")
    b.begin_cycle()
    b.open(ref, keep=True).__exit__(None, None, None)
    b.open(rb, keep=True).__exit__(None, None, None)
    b.end_cycle()
    # replaced by another directory (another inode): ENOENT, even though a descriptor is kept
    os.rename(tmp_path / "cgroup" / "p" / "a", tmp_path / "cgroup" / "p" / "a.old")
    (tmp_path / "cgroup" / "p" / "a").mkdir()
    b.begin_cycle()
    with pytest.raises(FileNotFoundError):
        b.open(ref, keep=True)
    b.end_cycle()
    # turned into a symlink to the very same directory: refused, not followed
    shutil.rmtree(tmp_path / "cgroup" / "p" / "a")
    os.symlink(tmp_path / "cgroup" / "p" / "a.old", tmp_path / "cgroup" / "p" / "a")
    b.begin_cycle()
    with pytest.raises(UnsafePath):
        b.open(ref, keep=True)
    b.end_cycle()
    # an ancestor turned into a symlink: refused when the cycle opens it
    os.rename(tmp_path / "cgroup" / "p", tmp_path / "cgroup" / "p.real")
    os.symlink(tmp_path / "cgroup" / "p.real", tmp_path / "cgroup" / "p")
    b.begin_cycle()
    with pytest.raises(UnsafePath):
        b.open(rb, keep=True)
    b.end_cycle()


def test_change_after_the_cycle_listing_falls_back_to_fstatat(be, tmp_path) -> None:
    fk, b = be
    ra, rb = b.resolve("/p/a"), b.resolve("/p/b")
    b.begin_cycle()
    b.open(ra, keep=True).__exit__(None, None, None)  # lists /p for this cycle
    shutil.rmtree(tmp_path / "cgroup" / "p" / "b")
    os.symlink(tmp_path / "cgroup" / "p" / "a", tmp_path / "cgroup" / "p" / "b")
    with pytest.raises(UnsafePath):  # listed as a directory, but the listing is not trusted on a mismatch
        b.open(CgroupRef("/p/b", ra.id), keep=True)
    with pytest.raises(UnsafePath):  # listed, but no descriptor kept yet: its O_NOFOLLOW open refuses
        b.open(rb, keep=True)
    b.end_cycle()


def test_stale_kept_descriptor_is_dropped(be) -> None:
    fk, b = be
    ref = b.resolve("/p/a")
    b.begin_cycle()
    b.open(ref, keep=True).__exit__(None, None, None)
    b.end_cycle()
    fk.rmdir("/p/a")
    b.begin_cycle()
    with pytest.raises(FileNotFoundError):
        b.open(ref, keep=True)
    b.end_cycle()
    assert ref.id in b._kept  # still kept until the agent releases it (or a read fails on it)
    b.release(ref)
    assert ref.id not in b._kept


def test_agent_releases_removed_targets(rig) -> None:
    r = rig("v5")
    for n in ("a", "b"):
        r.mk(f"/{n}", 1024)
    ag = r.agent(policy(path="/*"))
    ag.run_cycle()
    assert len(r.be._kept) == 2
    r.rmdir("/a")
    ag.run_cycle()
    ag.run_cycle()
    assert set(r.be._kept) == {st.ref.id for st in ag.states.values()} and len(r.be._kept) == 1


@given(vals=st.lists(st.integers(0, 10**15), min_size=len(KEYS), max_size=len(KEYS)),
       later=st.lists(st.integers(0, 10**15), min_size=len(KEYS), max_size=len(KEYS)),
       order=st.permutations(range(len(KEYS))), drop=st.sets(st.sampled_from(KEYS)),
       alts=st.permutations(["pswpin", "workingset_refault_anon"]))
def test_hinted_parse_equals_plain_parse(vals, later, order, drop, alts) -> None:
    want = frozenset({"zswap", "zswpin", "zswpwb_proactive_b"})

    def text(vs: list[int]) -> str:
        return "".join(f"{KEYS[i]} {vs[i]}\n" for i in order if KEYS[i] not in drop)

    hints: dict[str, int] = {}
    for t in (text(vals), text(later), text(vals)):
        full = parse_memory_stat(t).values
        got = parse_memory_stat(t, want, hints, tuple(alts)).values
        plain = parse_memory_stat(t, want | set(alts)).values
        assert {k: v for k, v in got.items() if k in want} == {k: full[k] for k in want if k in full}
        # of the alternatives, exactly the first one present is extracted
        first = next((k for k in alts if k in full), None)
        assert {k for k in got if k not in want} == ({first} if first else set())
        assert all(plain[k] == v for k, v in got.items())


def test_metrics_collector_exposes_the_same_series(rig) -> None:
    r = rig("v5")
    r.mk("/a", 1024)
    ag = r.agent(policy())
    ag.run(once=True)
    samples = {(s.name, tuple(s.labels.items())): s.value for m in ag.metrics.registry.collect() for s in m.samples}
    assert samples[("zswaplab_agent_steps_total", (("target", "/a"), ("name", "/a"), ("outcome", "ok")))] == 4
    assert samples[("zswaplab_agent_quota_exceeded_total", (("target", "/a"), ("name", "/a"), ("quota", "cycle")))] == 1
    assert samples[("zswaplab_agent_backoff_remaining_seconds", (("target", "/a"), ("name", "/a"),))] == 0
    ag.metrics.forget("/a")
    assert not [s for m in ag.metrics.registry.collect() for s in m.samples if s.labels.get("target") == "/a"]


@given(vals=st.lists(st.integers(0, 10**4), min_size=6, max_size=6), total=st.integers(0, 10**12),
       full_line=st.booleans())
def test_psi_fast_path_equals_the_general_parser(vals, total, full_line) -> None:
    from zswaplab.agent import stats

    a10, a60, a300, f10, f60, f300 = (f"{v / 100:.2f}" for v in vals)
    text = f"some avg10={a10} avg60={a60} avg300={a300} total={total}\n"
    if full_line:
        text += f"full avg10={f10} avg60={f60} avg300={f300} total={total}\n"
    got = parse_pressure(text)
    assert stats._PSI_RE.match(text) is not None or not full_line
    want = stats.Pressure(float(a10), float(a60), float(a300), total,
                          float(f10) if full_line else 0.0, float(f60) if full_line else 0.0)
    assert got == want


def test_second_read_of_a_handle_sees_new_content_and_never_a_removed_file(be, tmp_path) -> None:
    fk, b = be
    ref = b.resolve("/p/a")
    d = tmp_path / "cgroup" / "p" / "a"
    with b.open(ref) as h:
        first = h.read("memory.stat")
        (d / "memory.stat").write_text("zswap 1\n")  # rewritten in place (like a seq_file's next show)
        assert h.read("memory.stat") == "zswap 1\n" != first
        os.unlink(d / "memory.stat")  # removed: not served stale from the open descriptor
        with pytest.raises(FileNotFoundError):
            h.read("memory.stat")
        (d / "memory.stat").write_text("zswap 2\n")  # replaced by a new file: that one is read
        assert h.read("memory.stat") == "zswap 2\n"
