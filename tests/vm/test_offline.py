"""VM harness pieces that run without a VM (part of the default ``make test``): the workload program, the guest
driver against a directory tree standing in for /sys/fs/cgroup, the harness's error paths, the model driver and
the comparison against the recorded Linux 6.12 runs in tests/vm/data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from zswaplab.vm import compare, guest, harness, kernels, scenarios
from zswaplab.vm.cli import compare_dir, recorded_names
from zswaplab.vm.model import COMPRESSED_LEN, run_model

from .conftest import DATA, RECORDED_KERNELS

HAVE_STATIC_GCC = shutil.which("gcc") is not None and Path("/usr/lib/x86_64-linux-gnu/libc.a").exists()
needs_gcc = pytest.mark.skipif(not HAVE_STATIC_GCC, reason="gcc or libc6-dev (static libc) not installed")


@pytest.fixture(scope="module")
def memeater(tmp_path_factory) -> Path:
    if not HAVE_STATIC_GCC:
        pytest.skip("gcc or libc6-dev (static libc) not installed")
    return harness.build_memeater(tmp_path_factory.mktemp("bin"))


# ---------------------------------------------------------------------------------------------- memeater
@needs_gcc
def test_memeater_protocol_and_verification(memeater):
    cmds = "\n".join([
        "alloc a 64 ratio3 7", "touch a", "alloc b 8 half", "touch b 2 3", "alloc z 4 zero", "touch z",
        "alloc r 2 random 9", "alloc y 2 byte", "touch y", "alloc a 1 half", "alloc q 1 nope", "free a", "touch a",
        "quit"]) + "\n"
    out = subprocess.run([str(memeater)], input=cmds, capture_output=True, text=True, timeout=30).stdout.split("\n")
    assert out[0].startswith("ok ready ")
    assert out[1:15] == [
        "ok alloc a 64", "ok touch a checked=64 bad=0", "ok alloc b 8", "ok touch b checked=3 bad=0",
        "ok alloc z 4", "ok touch z checked=4 bad=0", "ok alloc r 2", "ok alloc y 2", "ok touch y checked=2 bad=0",
        "err alloc a exists", "err alloc q unknown pattern nope", "ok free a", "err touch a no such region",
        "ok quit"]


# ---------------------------------------------------------------------------------------------- guest parsers
def test_guest_parsers():
    assert guest.parse_kv("anon 4096\nzswpout 12\nbogus\nx y\n") == {"anon": 4096, "zswpout": 12}
    psi = guest.parse_pressure("some avg10=1.50 avg60=0.00 avg300=0.00 total=123\n"
                               "full avg10=0.25 avg60=0.00 avg300=0.00 total=45\n")
    assert psi == {"some": {"avg10": 1.5, "avg60": 0.0, "avg300": 0.0, "total": 123},
                   "full": {"avg10": 0.25, "avg60": 0.0, "avg300": 0.0, "total": 45}}
    assert guest.parse_number("max\n") == "max" and guest.parse_number("42\n") == 42
    assert guest.parse_number(None) is None


@needs_gcc
def test_guest_driver_on_a_stand_in_tree(memeater, tmp_path, monkeypatch):
    """Every op of the driver against plain files (no kernel): knob writes land, memeater joins the cgroup,
    value_from uses a variable read earlier, records carry the documented shape."""
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(guest, "CGROOT", str(root))
    orig_mkdir = os.mkdir

    def mkdir(path, *a, **kw):  # a cgroup directory comes with its interface files
        orig_mkdir(path, *a, **kw)
        for f, v in (("cgroup.procs", ""), ("cgroup.subtree_control", ""), ("memory.zswap.current", "1000\n"),
                     ("memory.zswap.max", ""), ("memory.stat", "zswpout 5\nzswpwb 0\n"),
                     ("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n")):
            Path(path, f).write_text(v)

    monkeypatch.setattr(guest.os, "mkdir", mkdir)
    sc = {"name": "t", "steps": [
        {"op": "mkdir", "cgroup": "/a"},
        {"op": "read", "cgroup": "/a", "file": "memory.zswap.current", "var": "u"},
        {"op": "write", "cgroup": "/a", "file": "memory.zswap.max", "value_from": {"var": "u", "div": 2}},
        {"op": "spawn", "proc": "p", "cgroup": "/a"},
        {"op": "alloc", "proc": "p", "region": "m", "pages": 16, "pattern": "ratio2"},
        {"op": "touch", "proc": "p", "region": "m"},
        {"op": "write_file", "path": "{tmp}/x.txt", "text": "hi"},
        {"op": "exec", "argv": ["{python}", "-c", "print(open('{tmp}/x.txt').read())"]},
        {"op": "kill", "proc": "p"},
    ]}
    out = tmp_path / "out.jsonl"
    assert guest.run(sc, str(out), str(memeater), None) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["type"] for r in recs] == ["header"] + ["step"] * 9 + ["end"]
    assert recs[-1]["ok"] is True
    assert (root / "cgroup.subtree_control").read_text() == "+memory"
    assert (root / "a" / "memory.zswap.max").read_text() == "500"
    pid = recs[4]["result"]["pid"]
    assert (root / "a" / "cgroup.procs").read_text() == str(pid)
    assert recs[6]["result"] == {"rc": 0, "checked": 16, "bad": 0}
    assert recs[8]["result"]["stdout"] == "hi\n"
    snap = recs[6]["cgroups"]["/a"]
    assert snap["memory.stat"] == {"zswpout": 5, "zswpwb": 0}
    assert snap["memory.zswap.current"] == 1000
    assert snap["memory.pressure"]["some"]["total"] == 7


def test_guest_reports_a_broken_step(tmp_path, monkeypatch):
    monkeypatch.setattr(guest, "CGROOT", str(tmp_path))
    out = tmp_path / "out.jsonl"
    rc = guest.run({"name": "t", "steps": [{"op": "alloc", "proc": "nobody", "region": "m", "pages": 1,
                                            "pattern": "zero"}]}, str(out), "/bin/false", None)
    end = json.loads(out.read_text().splitlines()[-1])
    assert rc == 1 and end["ok"] is False and "step 0" in end["error"] and "nobody" in end["error"]


# ---------------------------------------------------------------------------------------------- harness errors
def test_find_assets_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSWAPLAB_VM_CACHE", str(tmp_path))
    monkeypatch.setenv("ZSWAPLAB_KERNEL_CACHE", str(tmp_path / "kernels"))
    monkeypatch.setattr(harness.shutil, "which", lambda name: "/usr/bin/" + name)
    with pytest.raises(harness.VMError, match="kernel linux-6.12.117 is not under .*kernels fetch linux-6.12.117"):
        harness.find_assets("linux-6.12.117")
    with pytest.raises(harness.VMError, match="unknown kernel 'linux-9.9'"):
        harness.find_assets("linux-9.9")


def test_find_assets_needs_busybox_for_a_modular_kernel(tmp_path, monkeypatch):
    """vng builds an initramfs with busybox for a distribution kernel: its absence is named, not a boot hang."""
    monkeypatch.setenv("ZSWAPLAB_VM_CACHE", str(tmp_path))
    monkeypatch.setenv("ZSWAPLAB_KERNEL_CACHE", str(tmp_path / "kernels"))
    spec = kernels.get("linux-7.2.13")
    image = kernels.root(spec) / "usr" / "lib" / "modules" / spec.release / "vmlinuz"
    image.parent.mkdir(parents=True)
    image.write_text("")
    (kernels.root(spec) / ".complete").write_text("")
    monkeypatch.setattr(harness.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(harness, "_busybox", lambda: None)
    with pytest.raises(harness.VMError, match="busybox not found.*busybox-static"):
        harness.find_assets("linux-7.2.13")


def _fake_assets(tmp_path: Path, script: str, memeater: Path) -> harness.Assets:
    vng = tmp_path / "vng"
    vng.write_text("#!/bin/sh\n" + script)
    vng.chmod(0o755)
    return harness.Assets(vmlinuz=tmp_path / "vmlinuz-6.12.0", kernel_release="6.12.0", kernel_package="x",
                          kernel_name="test", vng=vng, memeater=memeater, python="python3")


@needs_gcc
def test_hung_vm_is_killed_at_the_time_limit(tmp_path, monkeypatch, memeater):
    monkeypatch.setenv("ZSWAPLAB_VM_CACHE", str(tmp_path / "cache"))
    assets = _fake_assets(tmp_path, "sleep 600\n", memeater)
    t0 = time.monotonic()
    with pytest.raises(harness.VMError, match="timed out after 2s and was killed"):
        harness.run_scenario(scenarios.get("calibration"), timeout=2, assets=assets)
    assert time.monotonic() - t0 < 30


@needs_gcc
def test_vm_that_produces_nothing_is_a_boot_failure(tmp_path, monkeypatch, memeater):
    monkeypatch.setenv("ZSWAPLAB_VM_CACHE", str(tmp_path / "cache"))
    assets = _fake_assets(tmp_path, "echo 'Kernel panic - not syncing: VFS'\nexit 255\n", memeater)
    with pytest.raises(harness.VMError, match="(?s)produced no output .*boot failure.*Kernel panic"):
        harness.run_scenario(scenarios.get("calibration"), timeout=30, assets=assets)


def test_vng_command_never_uses_kvm(tmp_path):
    assets = _fake_assets(tmp_path, "", tmp_path / "memeater")
    cmd = harness.vng_command(assets, tmp_path, cpus=1, memory="1G", append="zswap.enabled=1")
    assert "--disable-kvm" in cmd and "--force-9p" in cmd
    assert cmd[cmd.index("--cpus") + 1] == "1"


# ---------------------------------------------------------------------------------------------- scenarios/model
@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_scenarios_are_well_formed(name):
    sc = scenarios.get(name)
    assert sc["name"] == name and sc["description"]
    known = {"mkdir", "write", "reclaim", "param", "spawn", "alloc", "touch", "free", "kill", "sleep", "read",
             "exec", "write_file", "move", "rmdir"}
    defined, procs = set(), set()
    for step in sc["steps"]:
        assert step["op"] in known
        if step["op"] == "read" and "var" in step:
            defined.add(step["var"])
        if "value_from" in step and "var" in step["value_from"]:
            assert step["value_from"]["var"] in defined
        if step["op"] == "spawn":
            procs.add(step["proc"])
        if step["op"] in ("alloc", "touch", "free", "kill", "move"):
            assert step["proc"] in procs
        if step["op"] == "alloc":
            assert step["pattern"] in COMPRESSED_LEN


def test_model_runs_are_deterministic():
    sc = scenarios.get("zswap_max_store_path")
    a = run_model(sc, totalram_pages=247185, swap_pages=131071)
    b = run_model(sc, totalram_pages=247185, swap_pages=131071)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ---------------------------------------------------------------------------------------------- comparison
COMPARED = [n for n in scenarios.SCENARIOS if n not in scenarios.MODEL_EXCLUDED]


def _recorded_rows(kernel: str, name: str) -> list[compare.Row]:
    return compare_dir(DATA / kernel, [name])[name]


@pytest.mark.parametrize("name", COMPARED)
def test_model_agrees_with_recorded_boots(kernel, recorded, name):
    boots = recorded(name)
    assert len(boots) >= 2, f"{kernel} {name}: the tolerance needs at least two recorded boots"
    assert all(b[0]["kernel"] == kernels.get(kernel).release for b in boots)
    fails = [r for r in _recorded_rows(kernel, name) if r.status == "FAIL"]
    assert not fails, [(r.step, r.cgroup, r.counter, (r.kernel_lo, r.kernel_hi), r.model, r.tolerance)
                       for r in fails[:10]]


def test_recorded_runs_cover_every_compared_scenario(kernel):
    assert set(recorded_names(DATA / kernel)) >= set(COMPARED)


def test_every_documented_deviation_is_needed_and_no_row_has_two_causes():
    """A deviation that no recorded row needs any more must be removed from DEVIATIONS and the docs; a row that
    two deviations could explain means their scopes overlap and the label would not name the true cause."""
    used: set[str] = set()
    ambiguous = []
    for kernel in RECORDED_KERNELS:
        for name, rows in compare_dir(DATA / kernel).items():
            for r in rows:
                if r.status.startswith("dev:"):
                    ids = r.status[4:].split("+")
                    used |= set(ids)
                    if len(ids) > 1:
                        ambiguous.append((kernel, name, r.step, r.cgroup, r.counter, ids))
    assert not ambiguous, ambiguous[:10]
    assert used == {d.id for d in compare.DEVIATIONS}


def _rec(step: int, op: str, zswpout: int, rc: int = 0) -> dict:
    return {"type": "step", "step": step, "action": {"op": op, "cgroup": "/a", "value": "1M"},
            "result": {"rc": rc}, "cgroups": {"/a": {"memory.stat": {"zswpout": zswpout}}},
            "debugfs": {}, "vmstat": {}}


def _rows(kernel, model, **kw) -> dict:
    return {(r.step, r.counter): r for r in compare.compare("s", kernel, model, **kw)}


def test_compare_flags_disagreement_and_scopes_deviations():
    kernel = [_rec(0, "alloc", 0), _rec(1, "reclaim", 1000), _rec(2, "reclaim", 2000, rc=-11)]
    model = [_rec(0, "alloc", 0), _rec(1, "reclaim", 1016), _rec(2, "reclaim", 3000, rc=0)]
    rows = _rows(kernel, model)
    assert rows[(1, "zswpout")].status == "ok"  # 16 <= the stores floor (one boot: no spread)
    assert rows[(2, "zswpout")].status == "FAIL" and rows[(2, "rc")].status == "FAIL"
    assert rows[(2, "zswpout")].rel_diff == pytest.approx(0.5)
    model[1] = _rec(1, "reclaim", 1017)
    assert _rows(kernel, model)[(1, "zswpout")].status == "FAIL"  # one page past the floor fails
    dev = compare.Deviation("x", ("s",), ("zswpout",), "because", from_op="reclaim", from_step=2)
    rows = _rows(kernel, model, deviations=(dev,))
    assert rows[(2, "zswpout")].status == "dev:x"
    assert rows[(2, "rc")].status == "FAIL"  # a deviation never covers other counters
    other = compare.compare("other", kernel, model, deviations=(dev,))
    assert any(r.status == "FAIL" and r.counter == "zswpout" for r in other)  # nor other scenarios


def test_tolerance_is_the_kernels_own_spread_over_boots():
    """Model vs kernel: the boots' envelope at a step, widened by the kernel's own range at that step (40 at
    step 1, 0 at step 2 -> only the floor). A new boot is held to the scenario's largest range (40) everywhere."""
    boots = [[_rec(0, "alloc", 0), _rec(1, "reclaim", 1000 + d), _rec(2, "reclaim", 2000)] for d in (0, 40, 13)]
    model = [_rec(0, "alloc", 0), _rec(1, "reclaim", 1080), _rec(2, "reclaim", 2016)]
    rows = _rows(boots, model)
    assert compare.scenario_spread(boots)["zswpout"] == 40
    assert rows[(1, "zswpout")].status == "ok"  # envelope 1000..1040, +40
    assert (rows[(1, "zswpout")].kernel_lo, rows[(1, "zswpout")].kernel_hi) == (1000, 1040)
    assert rows[(2, "zswpout")].status == "ok"  # 2000 + the floor
    model[1] = _rec(1, "reclaim", 1081)
    assert _rows(boots, model)[(1, "zswpout")].status == "FAIL"
    model[2] = _rec(2, "reclaim", 2017)
    assert _rows(boots, model)[(2, "zswpout")].status == "FAIL"  # the range elsewhere does not widen step 2
    assert _rows(boots, model, widen="scenario")[(2, "zswpout")].status == "ok"  # ... but does for a new boot
    assert _rows(boots[:1], [_rec(0, "alloc", 0), _rec(1, "reclaim", 1040), _rec(2, "reclaim", 2000)])[
        (1, "zswpout")].status == "FAIL"  # one boot: no spread, only the floor
    with pytest.raises(ValueError, match="widen"):
        compare.compare("s", boots, model, widen="boot")


def test_deviation_scope_ends_and_its_bound_limits_what_it_explains():
    steps = [_rec(i, op, 100 * i) for i, op in enumerate(("alloc", "reclaim", "write", "reclaim"))]
    steps[2]["action"] = {"op": "write", "cgroup": "/a", "file": "memory.max", "value": "1M"}
    model = [_rec(i, r["action"]["op"], 100 * i + 50) for i, r in enumerate(steps)]
    dev = compare.Deviation("x", ("s",), ("zswpout",), "why", from_match=(("op", "reclaim"),),
                            to_match=(("op", "write"),), bound=50)
    rows = _rows(steps, model, deviations=(dev,))
    assert rows[(0, "zswpout")].status == "FAIL"  # before the scope
    assert rows[(1, "zswpout")].status == "dev:x"
    assert rows[(2, "zswpout")].status == "FAIL" and rows[(3, "zswpout")].status == "FAIL"  # after it ended
    tight = compare.Deviation("x", ("s",), ("zswpout",), "why", from_match=(("op", "reclaim"),), bound=49)
    assert _rows(steps, model, deviations=(tight,))[(1, "zswpout")].status == "FAIL"  # beyond its bound
    other_kernel = compare.Deviation("x", ("s",), ("zswpout",), "why", kernels=("linux-7.2.13",))
    assert _rows(steps, model, deviations=(other_kernel,), kernel_name="linux-6.12.117")[
        (1, "zswpout")].status == "FAIL"


def test_a_row_is_labelled_with_the_narrowest_deviation_and_ties_with_both():
    kernel = [_rec(0, "reclaim", 0), _rec(1, "reclaim", 1000)]
    model = [_rec(0, "reclaim", 0), _rec(1, "reclaim", 2000)]
    unbounded = compare.Deviation("a", ("*",), ("zswpout",), "one")
    bounded = compare.Deviation("b", ("*",), ("zswpout",), "two", bound=5000)
    specific = compare.Deviation("c", ("s",), ("zswpout",), "three")
    assert _rows(kernel, model, deviations=(unbounded, bounded))[(1, "zswpout")].status == "dev:b"
    assert _rows(kernel, model, deviations=(bounded, specific))[(1, "zswpout")].status == "dev:c"
    twin = compare.Deviation("d", ("*",), ("zswpout",), "four", bound=5000)
    assert _rows(kernel, model, deviations=(bounded, twin))[(1, "zswpout")].status == "dev:b+d"


def test_validation_doc_lists_the_deviations_as_generated():
    """docs/validation.md's deviation list is generated from DEVIATIONS (`vm-compare --update-doc`): stale docs fail."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text()
    assert compare.render_deviations() in doc
