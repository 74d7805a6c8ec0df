"""Every mutation of zswaplab.kernel.mutations is caught by a named detector (a real test of the model).

Each detector passes on the unmutated model (it is a test in the normal suite) and must fail — raise — under its
mutation. ``make mutation`` runs this module; docs/kernel-model.md §"Mutations" lists the table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest

from zswaplab.kernel.mutations import MUTATIONS, applied

# mutation → detectors ("package.module:function"); each must fail under the mutation
DETECTORS: dict[str, list[str]] = {
    "second_chance_off": ["tests.kernel.test_writeback:test_shrink_memcg_second_chance_then_writeback"],
    "shrink_worker_noop": ["tests.kernel.test_limits:test_shrink_worker_drains_the_pool_to_the_acceptance_threshold"],
    "no_hysteresis": ["tests.kernel.test_writeback:test_hysteresis_latches_at_max_and_unlatches_at_threshold"],
    "pool_limit_doubled": ["tests.kernel.test_limits:test_pool_limit_is_max_pool_percent_of_ram"],
    "writeback_batch_changed": [
        "tests.kernel.test_proactive:test_v5_single_memcg_1024_referenced_entries_eagain_with_nothing_written"],
    "writeback_not_inherited": ["tests.kernel.test_limits:test_writeback_disabled_on_an_ancestor_applies_below"],
    "offline_cleanup_stops_at_parent": ["tests.kernel.test_posted_code:test_offline_cleanup_walks_every_ancestor"],
    "store_path_shrink_off": ["tests.kernel.test_limits:test_store_path_shrinks_the_memcg_over_zswap_max"],
    "attempted_resets_failures": ["tests.kernel.test_limits:test_shrink_state_failures_are_cumulative"],
    "fast_zswap_max_gt": ["tests.scale.test_boundaries:test_zswap_max_at_usage_plus_minus_one_page[mainline-0]"],
    "zero_budget_eagain": ["tests.kernel.test_proactive:test_probe_answers_are_the_models[v2]"],
    "per_memcg_cursor_restarts": [
        "tests.concurrency.test_strategies:test_lab_strategy_and_its_checker_algorithm_visit_alike[memcg_lock]",
        "tests.concurrency.test_strategies:test_lab_strategy_and_its_checker_algorithm_visit_alike"
        "[memcg_global_lock]"],
}


def _resolve(ref: str) -> Callable[[], None]:
    """``module:function`` or ``module:function[p1-p2]`` (parameters as pytest ids of the listed values)."""
    mod, _, name = ref.partition(":")
    fn_name, _, params = name.partition("[")
    fn = getattr(importlib.import_module(mod), fn_name)
    if not params:
        return fn
    args = params.rstrip("]").split("-")
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    names = [n.strip() for m in marks for n in m.args[0].split(",")]  # bottom decorator first, as in ids
    values = []
    for a in args:
        values.append(int(a) if a.lstrip("-").isdigit() else a)
    return lambda: fn(**dict(zip(names, values, strict=True)))


def test_every_mutation_has_a_detector():
    assert set(DETECTORS) == set(MUTATIONS)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_is_caught(name):
    if "fast" in MUTATIONS[name].cores and MUTATIONS[name].cores == ("fast",) and not _run_slow():
        pytest.skip("recompiles the fast core (~30 s): run with `make mutation`")
    for ref in DETECTORS[name]:
        detector = _resolve(ref)
        detector()  # passes on the model as it is
        with applied(name), pytest.raises(Exception):  # noqa: B017,PT011 - any failure of the detector counts
            detector()
    detector()  # and the mutation was undone


def _run_slow() -> bool:
    import os

    return bool(os.environ.get("ZSWAPLAB_MUTATION_ALL"))
