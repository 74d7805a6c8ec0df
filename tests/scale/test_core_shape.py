"""The fast core's compiled shape (what keeps it fast; the differential tests check what it computes) and the
``alloc`` results it returns."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

from zswaplab.kernel import KernelConfig
from zswaplab.scale import nbcore
from zswaplab.scale.fastkernel import FastKernel, FastPage

# compiled functions that may allocate (numba's reference-counting runtime on): called from Python, off the hot paths
ALLOCATING = {"subtree_sum"}


def _dispatchers() -> dict[str, CPUDispatcher]:
    return {n: d for n, d in vars(nbcore).items() if isinstance(d, CPUDispatcher)}


def test_compiled_steps_do_no_reference_counting():
    """Every hot compiled function runs without numba's runtime (``_nrt=False``): with it, each array bound to a
    name or passed as an argument costs two atomic reference-count updates per call — most of the per-entry time
    before (docs/performance.md, "Where the time went")."""
    ds = _dispatchers()
    assert len(ds) > 20 and ALLOCATING <= set(ds)
    with_nrt = sorted(n for n, d in ds.items() if d.targetoptions.get("_nrt", True) and n not in ALLOCATING)
    assert with_nrt == []


def _kernel() -> FastKernel:
    k = FastKernel(KernelConfig(profile="mainline", totalram_pages=1 << 12, swap_pages=1 << 12), seed=0)
    k.fs.mkdir("/a")
    return k


def test_alloc_returns_a_lazy_range_of_views():
    k = _kernel()
    k.alloc("/a", 3)
    pages = k.alloc("/a", 4, clen=np.array([0, 100, 5000, 4096]))
    assert len(pages) == 4 and pages.ids.tolist() == [4, 5, 6, 7] and pages.ids.dtype == np.int64
    assert [p.id for p in pages] == [4, 5, 6, 7] and pages[0] == FastPage(k, 4) and pages[-1].id == 7
    assert [p.clen for p in pages] == [0, 100, 4096, 4096]  # clipped to PAGE_SIZE
    with pytest.raises(IndexError):
        pages[4]
    with pytest.raises(IndexError):
        pages[-5]
    empty = k.alloc("/a", 0)
    assert len(empty) == 0 and list(empty) == [] and empty.ids.size == 0
    k.touch(pages)
    k.free(pages)
    assert all(p.state.value == "freed" for p in pages)


def test_negative_lengths_are_refused():
    k = _kernel()
    with pytest.raises(ValueError, match="compressed lengths must be >= 0"):
        k.alloc("/a", 2, clen=np.array([1, -1]))
    with pytest.raises(ValueError, match="compressed lengths must be >= 0"):
        k.replay("/a", np.zeros(3, np.int64), np.array([-5]))
    assert k.next_page == 1
