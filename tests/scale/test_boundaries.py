"""Boundary-seeking differential steps: the two cores at the exact edges of their limit checks.

``memory.zswap.max`` exactly at the usage and one page either side, and the pool exactly at the acceptance
threshold, on every profile the compiled core supports (one node). The random differential test rarely lands on
an edge; these steps land on it by construction.
"""

from __future__ import annotations

import pytest

from zswaplab.kernel import KernelConfig
from zswaplab.kernel.constants import PAGE_SIZE
from zswaplab.kernel.profiles import PROFILES

from .test_differential import Pair

INCOMP = PAGE_SIZE  # an incompressible page is stored as-is: one page of MEMCG_ZSWAP_B per entry


@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("profile", ["mainline", "6.12", "mm-new", "v3", "v5"])
def test_zswap_max_at_usage_plus_minus_one_page(profile, delta):
    pair = Pair(KernelConfig(profile=profile), seed=3)
    n = 12
    for k in (pair.o, pair.f):
        k.fs.mkdir("/a")
        k.alloc("/a", n, clen=1000)
        k.fs.write("/a", "memory.reclaim", str(n * PAGE_SIZE))  # n entries of 1000 bytes: 2 pages of zswap
        used_pages = int(k.fs.read("/a", "memory.zswap.current")) // PAGE_SIZE
        k.fs.write("/a", "memory.zswap.max", str((used_pages + delta) * PAGE_SIZE))
        k.alloc("/a", 8, clen=INCOMP)
        k.fs.write("/a", "memory.reclaim", str(8 * PAGE_SIZE))
    pair.check(f"zswap.max = usage {delta:+d} page")
    assert pair.o.vm_events["zswpout"] == pair.f.vm_events["zswpout"]


@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("profile", ["mainline", "mm-new", "v4", "v5"])
def test_pool_at_acceptance_threshold(profile, delta):
    """Fill the pool past its limit (latched full; writeback off so the worker cannot drain it), free entries to
    land exactly at the acceptance threshold ± 1 page, store again: the latch releases only at ``<= thr``."""
    cfg = KernelConfig(profile=profile, totalram_pages=1000)  # max 200 pages, threshold 180
    pair = Pair(cfg, seed=5)
    pair.both(lambda k: k.fs.mkdir("/a"))
    pair.both(lambda k: k.fs.write("/a", "memory.zswap.writeback", "0"))
    pair.both(lambda k: k.alloc("/a", 260, clen=4000))
    pair.both(lambda k: k.fs.write("/a", "memory.reclaim", str(260 * PAGE_SIZE)))
    pair.check("pool filled")
    assert pair.o.zswap.pool_reached_full

    def free_to_threshold(k):
        zs = [p for p in (k.pages.get(i) for i in range(1, 261)) if p is not None and p.state.value == "zswap"]
        while k.zswap_total_pages() > 180 + delta:
            k.free([zs.pop()])
        assert k.zswap_total_pages() == 180 + delta

    pair.both(free_to_threshold)
    pair.both(lambda k: k.alloc("/a", 4, clen=4000))
    pair.both(lambda k: k.fs.write("/a", "memory.reclaim", str(4 * PAGE_SIZE)))
    pair.check(f"pool at threshold {delta:+d}")
    assert pair.o.zswap.pool_reached_full == (delta > 0)


def test_the_fast_core_supports_every_profile():
    """Every registered profile's shrink_memcg form has a compiled step (the drivers are shared): a new profile
    needs no edit here, a new form fails until the compiled core has it."""
    from zswaplab.scale.layout import FORMS

    assert len(PROFILES) >= 9
    for p in PROFILES.values():
        assert p.shrink_memcg_form in FORMS, p.name


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_shrink_worker_below_the_threshold(profile):
    """A worker run that finds the pool below the threshold: the do-while forms (6.11 … 7.2, Jul-14) still call
    ``shrink_memcg`` once, v5 3/6's ``while`` loop does not — on both cores alike."""
    from zswaplab.kernel.writeback import shrink_worker

    pair = Pair(KernelConfig(profile=profile), seed=2)
    pair.both(lambda k: k.fs.mkdir("/a"))
    pair.both(lambda k: k.alloc("/a", 8, clen=1000))
    pair.both(lambda k: k.fs.write("/a", "memory.reclaim", str(8 * PAGE_SIZE)))
    pair.both(shrink_worker)
    f = pair.f
    f._sync_out()  # the compiled counters reach ``counters`` at the end of each top-level operation
    pair.check("worker below the threshold")
    expect = 0 if PROFILES[profile].shrink_worker_form != "mainline" else 1
    assert f.counters["shrink_memcg_calls"] == pair.o.counters["shrink_memcg_calls"] == expect
