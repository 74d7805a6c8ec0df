"""The series' proactive writeback per version (kernel-semantics §2, §4.2, §5 Q3)."""

from __future__ import annotations

import errno

import pytest

from zswaplab.kernel import STRATEGIES, proactive_request
from zswaplab.kernel.constants import PAGE_SIZE
from zswaplab.kernel.profiles import PROACTIVE_FILE, PROFILES, proactive_profiles, reclaim_keys

from .helpers import errno_of, kernel, pushed, refs_at_baseline, stat

# the selftests' five invalid inputs (v2-v4 with zswap_writeback_only, v5 with source=zswap), for every key
INVALID_FORMS = ["{key}", "1M {key} swappiness=60", "1M swappiness=60 {key}", "1M {key} swappiness=max",
                 "1M swappiness=max {key}"]
INVALID = {key: [f.format(key=key) for f in INVALID_FORMS] for key in reclaim_keys()}
# the profiles whose interface is a memory.reclaim key (v2-v5), from the registry
RECLAIM_KEY_PROFILES = [p for p in proactive_profiles() if not PROFILES[p].has_proactive_file]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_probe_answers_are_the_models(profile):
    """What capability detection reads from the profiles (Profile.probe_answer, has_proactive_file) is what
    the model of each profile answers: zero-byte probes of every series key, with entries in zswap, write
    nothing."""
    prof = PROFILES[profile]
    k = kernel(profile=profile)
    pushed(k, "/a", 64)
    for key in reclaim_keys():
        assert errno_of(k, "/a", "memory.reclaim", f"0 {key}") == prof.probe_answer(key), key
    assert (PROACTIVE_FILE in k.fs.listdir("/a")) == prof.has_proactive_file
    assert PROACTIVE_FILE not in k.fs.listdir("/")
    assert stat(k, "/a", "zswpwb") == 0
    st = k.fs.read("/a", "memory.stat")
    assert (prof.counter is not None and f"{prof.counter} " in st) == (prof.counter is not None)
    assert not any(f"{c} " in st for c in ("zswpwb_proactive", "zswpwb_proactive_b") if c != prof.counter)



@pytest.mark.parametrize("profile,key", [(p, PROFILES[p].interface) for p in RECLAIM_KEY_PROFILES])
def test_series_invalid_inputs_are_einval(profile, key):
    k = kernel(profile=profile)
    pushed(k, "/zswap_proactive_test", 64)
    for text in INVALID[key]:
        assert errno_of(k, "/zswap_proactive_test", "memory.reclaim", text) == errno.EINVAL, text
    assert stat(k, "/zswap_proactive_test", "zswpwb") == 0


def test_v5_source_value_rules():
    k = kernel(profile="v5")
    pushed(k, "/a", 64)
    assert errno_of(k, "/a", "memory.reclaim", "1M source=disk") == errno.EINVAL
    assert errno_of(k, "/a", "memory.reclaim", "1M source=" + "z" * 16) == errno.EINVAL
    assert errno_of(k, "/a", "memory.reclaim", "0 source=zswap") == 0
    k.fs.write("/a", "memory.zswap.writeback", "0")
    assert errno_of(k, "/a", "memory.reclaim", "1M source=zswap") == errno.EINVAL


def _series_selftest(profile: str) -> tuple[int, int, int]:
    """test_zswap_proactive_writeback: 1024 pages pushed, then one proactive request (kernel-semantics §4.2)."""
    k = kernel(profile=profile)
    cg = "/zswap_proactive_test"
    pushed(k, cg, 1024, clen=300)
    assert int(k.fs.read(cg, "memory.zswap.current")) > 0
    prof = PROFILES[profile]
    pkey = prof.counter
    pwb0, wb0 = stat(k, cg, pkey), stat(k, cg, "zswpwb")
    if prof.counter_is_pages:  # v1-v3: a page budget; v4/v5: the compressed bytes in zswap
        size = 1024 * PAGE_SIZE
    else:
        size = int(k.fs.read(cg, "memory.zswap.current"))
    file, text = proactive_request(profile, size)
    if prof.has_proactive_file:  # v1: entries older than the age argument
        k.advance(10)
    rc = errno_of(k, cg, file, text)
    assert refs_at_baseline(k)
    return rc, stat(k, cg, pkey) - pwb0, stat(k, cg, "zswpwb") - wb0


def test_v2_selftest_returns_0_and_writes():
    rc, pwb, wb = _series_selftest("v2")
    # all 1024 entries are referenced: the first 128-entry walks only rotate, later ones write
    assert rc == 0 and 0 < pwb <= wb


def test_v3_selftest_0_or_eagain_and_subset():
    rc, pwb, wb = _series_selftest("v3")
    assert rc in (0, errno.EAGAIN) and 0 < pwb <= wb


def test_v4_selftest_writes_and_counts_bytes():
    rc, pwb_b, wb = _series_selftest("v4")
    assert rc in (0, errno.EAGAIN) and pwb_b > 0 and wb > 0


def test_v1_age_file():
    rc, pwb, wb = _series_selftest("v1")
    # v1 bypasses the second chance: max=4M (1024 pages) writes back every entry
    assert rc == 0 and pwb == wb == 1024


def test_v5_single_memcg_1024_referenced_entries_eagain_with_nothing_written():
    """Spec §5 Q3: 16 zero-write calls of 64 scanned entries rotate exactly 1024 entries, then -EAGAIN."""
    rc, pwb_b, wb = _series_selftest("v5")
    assert rc == errno.EAGAIN and pwb_b == 0 and wb == 0
    # ... and a second request now finds unreferenced entries at the head and writes
    k = kernel(profile="v5")
    pushed(k, "/a", 1024, clen=300)
    assert errno_of(k, "/a", "memory.reclaim", "64K source=zswap") == errno.EAGAIN
    assert errno_of(k, "/a", "memory.reclaim", "64K source=zswap") == 0
    assert stat(k, "/a", "zswpwb_proactive_b") >= 64 * 1024


def test_v5_with_fewer_entries_succeeds():
    k = kernel(profile="v5")
    pushed(k, "/a", 1000, clen=300)  # < 1024: the 16th batch wraps to now-unreferenced entries
    assert errno_of(k, "/a", "memory.reclaim", "32K source=zswap") == 0
    assert stat(k, "/a", "zswpwb_proactive_b") >= 32 * 1024


def test_v5_stat_on_iterated_memcg_and_subset_of_zswpwb():
    k = kernel(profile="v5")
    k.fs.mkdir("/p")
    for c in ("a", "b"):
        pushed(k, f"/p/{c}", 200, clen=1000)
        for e in k.zswap.tree.values():
            e.referenced = False
    k.fs.write("/p", "memory.reclaim", "100K source=zswap")
    # the walk visits /p (no entries of its own: -ENOENT, not counted), /p/a (one 64-entry batch = 64,000
    # bytes < 100K), then /p/b (another 64,000 bytes): goal met
    assert stat(k, "/p/a", "zswpwb_proactive_b") == 64_000
    assert stat(k, "/p/b", "zswpwb_proactive_b") == 64_000
    assert stat(k, "/p", "zswpwb") * 1000 == stat(k, "/p", "zswpwb_proactive_b")


def test_mainline_has_no_proactive_interface():
    k = kernel(profile="mainline")
    pushed(k, "/a", 32)
    assert errno_of(k, "/a", "memory.reclaim", "10M zswap_writeback_only") == errno.EINVAL
    assert errno_of(k, "/a", "memory.reclaim", "10M source=zswap") == errno.EINVAL
    assert errno_of(k, "/a", "memory.zswap.proactive_writeback", "1") == errno.ENOENT
    with pytest.raises(ValueError):
        proactive_request("mainline", 1)


def test_v1_parse_rules():
    k = kernel(profile="v1")
    pushed(k, "/a", 32)
    f = "memory.zswap.proactive_writeback"
    for bad in ["\n", "max=1M", "0", "max=0 5", "5 6", "max=1Mx 5", "abc"]:
        assert errno_of(k, "/a", f, bad) == errno.EINVAL, bad
    assert errno_of(k, "/a", f, "") == 0  # cgroup_file_write: a 0-byte write returns 0 before the handler
    assert errno_of(k, "/a", f, "max=1M 5") == 0  # age >= uptime: success without writing
    assert stat(k, "/a", "zswpwb") == 0


def test_v3_signal_eintr():
    k = kernel(profile="v3")
    pushed(k, "/a", 64)
    k.signal_pending = True
    assert errno_of(k, "/a", "memory.reclaim", "64K zswap_writeback_only") == errno.EINTR


def test_eexist_stops_the_proactive_walk_of_that_node():
    k = kernel(profile="v5")
    pages = pushed(k, "/a", 10)
    for e in k.zswap.tree.values():
        e.referenced = False
    k.inject_writeback(pages[2].swp, "eexist")
    assert errno_of(k, "/a", "memory.reclaim", str(10 * 1000) + " source=zswap") == 0
    assert stat(k, "/a", "zswpwb") == 10  # first call stops after 2 at the -EEXIST; the next visits continue
    assert k.debugfs()["reject_reclaim_fail"] == 1


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("profile", RECLAIM_KEY_PROFILES)
def test_every_strategy_runs_with_every_profile_and_balances_refs(profile, strategy):
    k = kernel(profile=profile, strategy=strategy, bypass_second_chance=True)
    k.fs.mkdir("/p")
    for c in "abc":
        pushed(k, f"/p/{c}", 100, clen=2000)
    k.fs.mkdir("/p/d")
    for _ in range(5):
        errno_of(k, "/p", *proactive_request(profile, 64 * 1024))
    k.fs.rmdir("/p/d")
    k.fs.rmdir("/p/c")
    for _ in range(3):
        errno_of(k, "/p", *proactive_request(profile, 64 * 1024))
    assert stat(k, "/p", "zswpwb") > 0
    assert refs_at_baseline(k)
