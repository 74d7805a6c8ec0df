"""Fixtures of the VM tests.

Kernels under test: ``$ZSWAPLAB_VM_KERNELS`` (space-separated names of zswaplab/vm/kernels.py; default both
Debian kernels). Every kernel test is parametrized over them. ``kernel_run(name)`` boots a fresh VM once per
session per (kernel, scenario); ``recorded(name)`` returns the recorded boots of that kernel (no VM).

``$ZSWAPLAB_VM_SCENARIOS`` (space-separated) restricts the *live* VM tests to those scenarios (the lean CI set);
the deselection is reported at the end of the run, never silent.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from zswaplab.vm import kernels
from zswaplab.vm.cli import REFERENCE_DIR, REFERENCE_KERNEL, recorded_boots  # noqa: F401 - re-exported

DATA = REFERENCE_DIR.parent
KERNELS = os.environ.get("ZSWAPLAB_VM_KERNELS", "").split() or list(kernels.DEFAULT_KERNELS)
RECORDED_KERNELS = [k for k in kernels.KERNELS if (DATA / k).is_dir()]
LIVE_SCENARIOS = set(os.environ.get("ZSWAPLAB_VM_SCENARIOS", "").split())

_runs: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()
_deselected: list[str] = []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kernel" in metafunc.fixturenames:
        live = metafunc.definition.get_closest_marker("vm") is not None
        metafunc.parametrize("kernel", KERNELS if live else RECORDED_KERNELS, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not LIVE_SCENARIOS:
        return
    keep = []
    for item in items:
        marker = item.get_closest_marker("scenario")
        scen = marker.args[0] if marker else getattr(item, "callspec", None) and item.callspec.params.get("name")
        if item.get_closest_marker("vm") and isinstance(scen, str) and scen not in LIVE_SCENARIOS:
            _deselected.append(item.nodeid)
        else:
            keep.append(item)
    if _deselected:
        config.hook.pytest_deselected(items=[i for i in items if i.nodeid in set(_deselected)])
        items[:] = keep


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _deselected:
        terminalreporter.write_line(
            f"ZSWAPLAB_VM_SCENARIOS={' '.join(sorted(LIVE_SCENARIOS))}: {len(_deselected)} live VM tests of other "
            "scenarios deselected (`make vm-test` without it runs them all)")


@pytest.fixture(scope="session")
def vm_assets(kernel):
    from zswaplab.vm.harness import VMError, find_assets

    try:
        return find_assets(kernel)
    except VMError as e:  # inside `make vm-test` the setup has run: a missing asset is an error, not a skip
        pytest.fail(f"VM assets missing: {e}", pytrace=False)


@pytest.fixture(scope="session")
def kernel_run(kernel, vm_assets):
    """``kernel_run(name)`` -> VMRun of scenario ``name`` on ``kernel`` (booted once per session)."""
    from zswaplab.vm import scenarios
    from zswaplab.vm.harness import VMError, run_scenario

    def get(name: str):
        with _lock:
            if (kernel, name) not in _runs:
                try:
                    _runs[kernel, name] = run_scenario(scenarios.get(name), timeout=900, assets=vm_assets)
                except VMError as e:
                    _runs[kernel, name] = e
            run = _runs[kernel, name]
        if isinstance(run, Exception):
            pytest.fail(str(run), pytrace=False)
        return run

    return get


@pytest.fixture(scope="session")
def recorded(kernel):
    """``recorded(name)`` -> every recorded boot of scenario ``name`` on ``kernel`` (a list of record lists)."""

    def get(name: str) -> list[list[dict[str, Any]]]:
        boots = recorded_boots(DATA / kernel, name)
        if not boots:
            pytest.fail(f"no recorded runs of {name} on {kernel} in {DATA / kernel}", pytrace=False)
        return boots

    return get
