"""Checker throughput on the 3 threads x 5 memcgs x 3 rounds global-lock model, against SPIN on the
matching Promela model (models/global_lock.pml), measured in the same run."""

from __future__ import annotations

from zswaplab.concurrency.checker import CheckConfig, check
from zswaplab.concurrency.spin import SpinMissing, run_spin


def main() -> None:
    runs = {
        "python checker (symmetry + partial-order)": CheckConfig("global_lock", threads=3, memcgs=5, rounds=3),
        "python checker (no reductions)": CheckConfig("global_lock", threads=3, memcgs=5, rounds=3,
                                                      symmetry=False, por=False),
    }
    results = {}
    for label, cfg in runs.items():
        res = check(cfg)
        assert res.ok, res.violation
        results[label] = res
        print(f"{label:44s} states {res.states:>9,}  {res.seconds:7.3f} s  {res.states_per_second:>10,.0f} states/s")
    try:
        spin = run_spin("global_lock", rounds=3)
    except SpinMissing as e:
        print(f"baseline unavailable: {e}")
        return
    assert spin.ok, spin.message
    print(f"{'SPIN pan (gcc -O2 -DSAFETY), search only':44s} states {spin.states:>9,}  {spin.pan_seconds:7.3f} s  "
          f"{spin.states / spin.pan_seconds:>10,.0f} states/s")
    print(f"{'SPIN total (spin -a + gcc + pan)':44s} {'':16s}  {spin.seconds:7.3f} s")
    for label, res in results.items():
        print(f"wall-time ratio {label} / SPIN search: {res.seconds / spin.pan_seconds:.2f}x; "
              f"/ SPIN total: {res.seconds / spin.seconds:.2f}x")
