"""Live VM runs against the model and against the recorded boots of the same pinned kernel.

* ``test_model_agrees_with_kernel``: today's boot joins the recorded boots; the model must lie in their envelope
  widened by the scenario's boot-to-boot spread, or be explained by a documented deviation (compare.DEVIATIONS).
* ``test_kernel_repeats_its_recorded_boots``: today's boot is compared with the recorded boots as if it were the
  model, allowing only the documented mechanisms that vary between boots (``varies_between_boots``), within their
  bounds: a kernel that behaves differently from when it was recorded fails here, and a different kernel than
  the recorded one fails loudly (never a skip).
"""

from __future__ import annotations

import pytest

from zswaplab.vm import compare, kernels, scenarios
from zswaplab.vm.cli import model_for

from .conftest import DATA

pytestmark = pytest.mark.vm

COMPARED = [n for n in scenarios.SCENARIOS if n not in scenarios.MODEL_EXCLUDED]


def _recorded(kernel: str, name: str, run) -> list:
    from zswaplab.vm.cli import recorded_boots

    boots = recorded_boots(DATA / kernel, name)
    if not boots:
        pytest.fail(f"no recorded runs of {name} on {kernel}: record them with `zswaplab vm-run --kernel {kernel} "
                    f"--boots 3 --out {DATA / kernel} {name}`", pytrace=False)
    want = boots[0][0]["kernel"]
    if run.header["kernel"] != want:
        pytest.fail(f"{name}: booted kernel {run.header['kernel']} but the recorded runs are of {want}; "
                    f"{kernels.rerecord_hint(kernels.get(kernel))}", pytrace=False)
    return boots


@pytest.mark.parametrize("name", COMPARED)
def test_model_agrees_with_kernel(kernel, kernel_run, name):
    run = kernel_run(name)
    boots = [*_recorded(kernel, name, run), run.records]
    rows = compare.compare(name, boots, model_for(name, run.records, kernels.get(kernel).profile),
                           compare.DEVIATIONS, kernel_name=kernel)
    assert rows
    fails = [r for r in rows if r.status == "FAIL"]
    assert not fails, "\n".join(
        f"step {r.step} {r.action} {r.cgroup} {r.counter}: kernel {r.kernel_lo}..{r.kernel_hi} model {r.model} "
        f"({r.tolerance})" for r in fails[:20])


@pytest.mark.parametrize("name", COMPARED)
def test_kernel_repeats_its_recorded_boots(kernel, kernel_run, name):
    run = kernel_run(name)
    boots = _recorded(kernel, name, run)
    # only mechanisms that act in the kernel's environment (the workload's page cache, I/O completion, when the
    # asynchronous worker runs) may separate two boots of the same kernel, within their bounds
    rows = compare.compare(name, boots, run.records, deviations=compare.between_boot_deviations(), widen="scenario",
                           kernel_name=kernel)
    fails = [r for r in rows if r.status == "FAIL"]
    assert not fails, [(r.step, r.cgroup, r.counter, (r.kernel_lo, r.kernel_hi), r.model, r.tolerance)
                       for r in fails[:10]]
