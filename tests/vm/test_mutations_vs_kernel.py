"""Each listed model mutation must be caught by the offline comparison against the recorded kernel boots.

The model is broken in one way (``zswaplab.kernel.mutations``) and the named scenarios of every recorded kernel
are compared again with the same tolerances and deviations: at least one row must fail. Which scenario catches
which mutation is the table in docs/validation.md ("Mutations"); a mutation that only the unit tests catch
(e.g. a v1-v3-only cursor bug, which no stock kernel has) is listed there with its unit-test detector instead.
"""

from __future__ import annotations

import pytest

from zswaplab.kernel.mutations import applied
from zswaplab.vm.cli import compare_dir

from .conftest import DATA, RECORDED_KERNELS

# mutation -> the scenarios whose comparison must fail under it (on every recorded kernel)
CAUGHT_BY_COMPARISON: dict[str, tuple[str, ...]] = {
    "second_chance_off": ("zswap_max_rotation", "zswap_max_store_path"),
    "shrink_worker_noop": ("global_pool_threshold",),
    "pool_limit_doubled": ("global_pool_threshold",),
    "writeback_not_inherited": ("writeback_disabled_subtree",),
    "store_path_shrink_off": ("zswap_max_rotation", "zswap_max_store_path"),
    "no_hysteresis": ("pool_hysteresis",),
}
# Caught by the unit detectors of tests/mutations only (the reason the stock-kernel comparison cannot see them):
# writeback_batch_changed - stock
# kernels write back one entry per shrink_memcg call (no batch); offline_cleanup_stops_at_parent - a v1-v3 cursor;
# attempted_resets_failures, fast_zswap_max_gt - model-internal bookkeeping / the compiled core.


@pytest.mark.parametrize("kernel_name", RECORDED_KERNELS)
@pytest.mark.parametrize("mutation", sorted(CAUGHT_BY_COMPARISON))
def test_comparison_catches_mutation(mutation, kernel_name):
    names = list(CAUGHT_BY_COMPARISON[mutation])
    with applied(mutation):
        results = compare_dir(DATA / kernel_name, names)
    fails = [(n, r.step, r.cgroup, r.counter, r.kernel, r.model) for n, rows in results.items() for r in rows
             if r.status == "FAIL"]
    assert fails, f"{mutation} survives the comparison of {names} on {kernel_name}"


def test_unmutated_model_passes_the_same_comparisons():
    """The control: without a mutation the same scenarios agree (so the failures above are the mutation's)."""
    for kernel_name in RECORDED_KERNELS:
        names = sorted({n for ns in CAUGHT_BY_COMPARISON.values() for n in ns})
        results = compare_dir(DATA / kernel_name, names)
        fails = [(n, r.step, r.counter) for n, rows in results.items() for r in rows if r.status == "FAIL"]
        assert not fails, (kernel_name, fails[:10])
