"""Cross-check: SPIN's verdicts on the Promela models match the Python checker's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from zswaplab.concurrency.checker import CheckConfig, CheckResult, check
from zswaplab.concurrency.spin import (
    MODELS_DIR,
    SPIN_CONFIG,
    SPIN_MODELS,
    SpinMissing,
    require_tools,
    run_spin,
)


@pytest.fixture(scope="module", autouse=True)
def _spin_installed() -> None:
    try:
        require_tools()
    except SpinMissing as e:  # CI installs it; do not skip silently
        pytest.fail(f"{e}")


@pytest.mark.parametrize("name,expect_ok", [("global_lock", True), ("xchg_sketch", False)])
def test_spin_and_python_agree(name: str, expect_ok: bool) -> None:
    spin = run_spin(name, rounds=3)
    py = check(CheckConfig(name, threads=3, memcgs=5, rounds=3))
    assert spin.ok == expect_ok, spin.message
    assert py.ok == expect_ok, py.violation
    assert spin.states > 0 and py.states > 0
    if not expect_ok:
        # both find a reference leak: SPIN's per-thread ownership assertion at thread exit
        assert "held" in spin.message
        assert "reference leak" in py.violation


def _py_space(name: str, rounds: int) -> CheckResult:
    """The Python checker's whole reachable space for a model's configuration, reductions and ghosts off."""
    return check(CheckConfig(name, rounds=rounds, symmetry=False, por=False, observe=False,
                             stop_at_violation=False, **SPIN_CONFIG))


def test_every_shipped_model_is_compared() -> None:
    shipped = {p.name for p in MODELS_DIR.glob("*.pml")} - {"memcg.pml"}
    assert shipped == set(SPIN_MODELS.values())
    assert {n for n, _ in EQUAL} == set(SPIN_MODELS)


# (model, rounds): every shipped model; xchg_sketch's leak needs 2 rounds, so its 2-round space has violations
EQUAL = [("global_lock", 1), ("global_lock", 2), ("global_lock", 3), ("xchg_sketch", 1), ("xchg_sketch", 2)]


@pytest.mark.parametrize("name,rounds", EQUAL)
def test_spin_and_python_count_the_same_states(name: str, rounds: int) -> None:
    """Reductions off on both sides (pan -DNOREDUCE; symmetry=False, por=False), Python's ghost walk positions
    off, both exploring past violations (pan -c0; stop_at_violation=False): the same reachable space, state
    for state (one d_step per Python yield, the frames' locals as process locals)."""
    spin = run_spin(name, rounds=rounds, reduce=False, all_errors=True)
    py = _py_space(name, rounds)
    assert not spin.reduced and "pan -c0" in spin.cflags
    assert not py.truncated
    assert spin.states == py.states, (spin.states, py.states)
    clean = (name, rounds) != ("xchg_sketch", 2)
    assert (spin.errors == 0) == clean and (py.violations == 0) == clean


def test_state_count_equality_catches_a_stale_local(tmp_path: Path) -> None:
    """Mutation: the Promela advancer keeps _locked_advance's ``pos`` after the call returned (the Python frame
    is gone) -> SPIN counts more states than the checker (269 against 262)."""
    for f in MODELS_DIR.glob("*.pml"):
        shutil.copy(f, tmp_path / f.name)
    p = tmp_path / "global_lock.pml"
    src = p.read_text()
    mutated = src.replace("if :: ok -> alm = lm; pos = UNSET;", "if :: ok -> alm = lm;")
    assert mutated != src
    p.write_text(mutated)
    spin = run_spin("global_lock", rounds=1, reduce=False, all_errors=True, models_dir=tmp_path)
    assert spin.states > _py_space("global_lock", 1).states


def test_spin_reduction_is_explicit() -> None:
    """-DSAFETY alone leaves SPIN's partial-order reduction on; reduce=False compiles with -DNOREDUCE and
    explores at least as many states (as many with these models: every d_step touches shared state, so SPIN
    finds no transition it may explore alone)."""
    on = run_spin("global_lock", rounds=1)
    off = run_spin("global_lock", rounds=1, reduce=False)
    assert on.reduced and "-DSAFETY" in on.cflags and "-DNOREDUCE" not in on.cflags
    assert not off.reduced and "-DNOREDUCE" in off.cflags
    assert on.ok and off.ok and off.states >= on.states
