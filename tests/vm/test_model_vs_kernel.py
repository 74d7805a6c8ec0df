"""Model vs kernel on fresh VM runs: every compared value is within its tolerance or covered by a documented
deviation (zswaplab.vm.compare.DEVIATIONS, explained in docs/validation.md)."""

from __future__ import annotations

import pytest

from zswaplab.vm import compare, scenarios
from zswaplab.vm.cli import model_for

pytestmark = pytest.mark.vm

COMPARED = [n for n in scenarios.SCENARIOS if n not in scenarios.MODEL_EXCLUDED]


@pytest.mark.parametrize("name", COMPARED)
def test_model_agrees_with_kernel(kernel_run, name):
    run = kernel_run(name)
    rows = compare.compare(name, run.records, model_for(name, run.records))
    assert rows
    fails = [r for r in rows if r.status == "FAIL"]
    assert not fails, "\n".join(
        f"step {r.step} {r.action} {r.cgroup} {r.counter}: kernel {r.kernel} model {r.model} ({r.tolerance})"
        for r in fails[:20])


def test_one_vcpu_runs_repeat_exactly(kernel_run, vm_assets):
    """The deterministic setup: a second boot reproduces the zswap counters of the store-path scenario."""
    from zswaplab.vm.harness import run_scenario

    first = kernel_run("zswap_max_store_path")
    second = run_scenario(scenarios.get("zswap_max_store_path"), timeout=600, assets=vm_assets)
    keys = ("zswpout", "zswpwb")
    a = [[s["cgroups"]["/zmax"]["memory.stat"].get(k) for k in keys] + [s["debugfs"]["written_back_pages"]]
         for s in first.steps if s["action"]["op"] == "reclaim"]
    b = [[s["cgroups"]["/zmax"]["memory.stat"].get(k) for k in keys] + [s["debugfs"]["written_back_pages"]]
         for s in second.steps if s["action"]["op"] == "reclaim"]
    assert a == b
