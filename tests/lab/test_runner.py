"""The runner's actions on the model: each one does what its name says, seen through memory.stat."""

from __future__ import annotations

import pytest

from zswaplab.lab.adapter import kernel_available
from zswaplab.lab.runner import RunError, clen_sampler, run_variant
from zswaplab.lab.schema import Compression, parse_scenario

pytestmark = pytest.mark.skipif(not kernel_available(), reason="kernel model not available")

BASE = """\
[scenario]
name = "actions"
seed = 9
profile = "v5"

[kernel]
totalram = "1G"
swap = "1G"

[[memcg]]
path = "/p"

[[memcg]]
path = "/p/c{i}"
count = 3

[[population]]
memcg = "/p/c{i}"
count = 3
name = "cold"
pages = 200
age = 100
"""


def run(extra: str, profile: str | None = None):
    text = BASE + extra
    if profile:
        text = text.replace('profile = "v5"', f'profile = "{profile}"')
    sf = parse_scenario(text, "t.toml")
    (v,) = sf.variants()
    return run_variant(v, scenario_name="t")


def last_stat(rec, memcg):
    return [s for s in rec.snapshots if s["memcg"] == memcg][-1]["stat"]


def test_setup_pushes_populations_to_zswap_and_snapshots_every_step():
    rec, _m = run("""
[[timeline]]
action = "advance"
seconds = 5
""")
    for i in range(3):
        st = last_stat(rec, f"/p/c{i}")
        assert st["zswapped"] == 200 * 4096 and st["zswap"] == 200 * 1024  # default ratio 0.25
    assert rec.placement == {"cold": {"zswap": 600}}
    steps = sorted({s["step"] for s in rec.snapshots})
    assert steps == [0, 1]
    assert {s["memcg"] for s in rec.snapshots} == {"/", "/p", "/p/c0", "/p/c1", "/p/c2"}
    assert rec.snapshots[-1]["clock_ns"] - rec.snapshots[0]["clock_ns"] == 5 * 10**9


def test_touch_faults_zswap_pages_back_and_disk_pages_count_as_refaults():
    rec, _m = run("""
[[timeline]]
action = "touch"
group = "cold"
memcg = "/p/c0"
fraction = 0.5

[[timeline]]
action = "proactive"
target = "/p/c1"
size = "zswap.current"

[[timeline]]
action = "touch"
group = "cold"
memcg = "/p/c1"
states = ["disk"]
""")
    assert last_stat(rec, "/p/c0")["zswpin"] == 100
    # c1, 200 referenced entries: v5 visits 1-3 rotate 64 each (3 failures, < 16); visit 4 rotates the last 8
    # and writes 56 entries it had rotated; visits 5-7 write the remaining 144 -> the budget is met: 0
    assert [c.errno for c in rec.calls] == [0]
    assert rec.calls[0].pages == {"/p/c1": 200}
    assert last_stat(rec, "/p/c1")["pswpin"] == 200
    assert len(rec.refaults) == 200 and {r.owner for r in rec.refaults} == {"/p/c1"}


def test_writeback_disabled_child_is_not_eligible_and_not_written():
    rec, m = run("""
[[timeline]]
action = "set"
target = "/p/c1"
file = "memory.zswap.writeback"
value = false

[[timeline]]
action = "proactive"
target = "/p"
size = "1M"
repeat = 4
""")
    assert rec.eligible["/p/c1"] == 0 and rec.eligible["/p/c0"] == 200 * 1024
    assert m["pages"]["/p/c1"] == 0 and m["pages"]["/p/c0"] + m["pages"]["/p/c2"] > 0


def test_rmdir_reparents_and_mkdir_adds_a_memcg():
    rec, _m = run("""
[[timeline]]
action = "rmdir"
path = "/p/c2"

[[timeline]]
action = "mkdir"
path = "/p/new"

[[timeline]]
action = "alloc"
memcg = "/p/new"
group = "fresh"
pages = 10

[[timeline]]
action = "reclaim"
target = "/p/new"
size = "40K"
expect = ["OK"]

[[timeline]]
action = "free"
group = "fresh"
""")
    last = max(s["step"] for s in rec.snapshots)
    memcgs = {s["memcg"] for s in rec.snapshots if s["step"] == last}
    assert "/p/c2" not in memcgs and "/p/new" in memcgs
    assert last_stat(rec, "/p")["zswapped"] == 3 * 200 * 4096  # c2's entries now belong to /p itself
    assert rec.expects[0].passed
    assert last_stat(rec, "/p/new")["zswpout"] == 10 and last_stat(rec, "/p/new")["zswapped"] == 0


def test_profiles_filter_and_mainline_has_no_proactive_interface():
    rec, _m = run("""
[[timeline]]
action = "proactive"
target = "/p"
size = "1M"
profiles = ["v3"]
""")
    assert rec.calls == []
    with pytest.raises(RunError, match="no proactive writeback interface"):
        run("""
[[timeline]]
action = "proactive"
target = "/p"
size = "1M"
""", profile="mainline")


def test_clen_sampler_distributions():
    import random

    assert clen_sampler(Compression(kind="fixed", ratio=0.25)) == 1024
    assert clen_sampler(Compression(kind="fixed", ratio=1.2)) == 4096
    rng = random.Random(0)
    f = clen_sampler(Compression(kind="uniform", low=0.1, high=0.2))
    assert all(409 <= f(rng) <= 820 for _ in range(100))
    g = clen_sampler(Compression(kind="choice", values=[0.5, 1.0], weights=[1, 1]))
    assert {g(rng) for _ in range(100)} == {2048, 4096}
