"""Fixtures of the VM tests: each scenario boots one VM per session, shared by every test that needs it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from zswaplab.vm.cli import REFERENCE_DIR, REFERENCE_KERNEL  # noqa: F401 - re-exported for the tests

DATA = REFERENCE_DIR.parent

_runs: dict[str, Any] = {}
_lock = threading.Lock()


@pytest.fixture(scope="session")
def vm_assets():
    from zswaplab.vm.harness import VMError, find_assets

    try:
        return find_assets()
    except VMError as e:  # inside `make vm-test` the setup has run: a missing asset is an error, not a skip
        pytest.fail(f"VM assets missing: {e}", pytrace=False)


@pytest.fixture(scope="session")
def kernel_run(vm_assets):
    """``kernel_run(name)`` -> VMRun of scenario ``name`` on the real kernel (booted once per session)."""
    from zswaplab.vm import scenarios
    from zswaplab.vm.harness import VMError, run_scenario

    def get(name: str):
        with _lock:
            if name not in _runs:
                try:
                    _runs[name] = run_scenario(scenarios.get(name), timeout=600, assets=vm_assets)
                except VMError as e:
                    _runs[name] = e
            run = _runs[name]
        if isinstance(run, Exception):
            pytest.fail(str(run), pytrace=False)
        return run

    return get
