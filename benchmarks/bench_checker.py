"""Checker cost per state against SPIN, on the same state space, same run.

The Promela models encode the Python configurations state for state (``tests/concurrency/test_spin.py``
checks the counts are equal), so both sides explore the *same* states: ``xchg_sketch`` 3 threads × 5 memcgs
(1 round: 560 states, 2 rounds: 69,381) and ``global_lock`` 3 × 5 × 3 (11,162), whole spaces (SPIN ``pan
-DSAFETY -DNOREDUCE -c0``: no partial-order reduction, past errors; Python ``symmetry=False, por=False,
observe=False, stop_at_violation=False``). Per-state cost is the marginal CPU time between 1 and 2 rounds of
``xchg_sketch`` (fixed start-up costs cancel: pan allocates its hash table, Python builds its programs), min /
median over REPEATS interleaved runs; SPIN's is ./pan's CPU time (user + system of the child), the compile
(spin -a, gcc) not counted. Memory per state: Python's ``tracemalloc`` peak over the 2-round search divided
by its states; SPIN's marginal "total actual memory usage" between the two sizes. Then the 4 × 6 × 3
configurations the issue asks for, with the checker's reductions (one run each); ``xchg_fixed`` at 4 × 6 × 3
(minutes) only with ``ZSWAPLAB_BENCH_XCHG_FIXED_463=1``.
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc

from benchmarks._measure import Stats
from zswaplab.concurrency.checker import CheckConfig, CheckResult, check
from zswaplab.concurrency.spin import SPIN_CONFIG, SpinMissing, run_spin

REPEATS = 3
SMALL, BIG = 1, 2  # rounds of xchg_sketch


def _space(name: str, rounds: int) -> CheckConfig:
    return CheckConfig(name, rounds=rounds, symmetry=False, por=False, observe=False, stop_at_violation=False,
                       **SPIN_CONFIG)


def _py(name: str, rounds: int) -> CheckResult:
    t0 = time.process_time()
    res = check(_space(name, rounds))
    res.seconds = time.process_time() - t0  # CPU seconds, as pan's
    return res


def _py_bytes(name: str, rounds: int) -> float:
    tracemalloc.start()
    res = check(_space(name, rounds))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / res.states


def main() -> None:
    try:
        flags = " ".join(run_spin("xchg_sketch", rounds=SMALL, reduce=False, all_errors=True).cflags)
    except SpinMissing as e:
        print(f"   baseline unavailable: {e}")
        return
    print(f"   SPIN baseline: spin -a -DROUNDS=R, gcc {flags} (pan: no partial-order reduction, goes on past "
          "errors); Python: symmetry/POR/observations off, stop_at_violation=False; CPU seconds")
    py: dict[int, list[float]] = {SMALL: [], BIG: []}
    sp: dict[int, list[float]] = {SMALL: [], BIG: []}
    n_py: dict[int, int] = {}
    n_sp: dict[int, int] = {}
    mem_sp: dict[int, float] = {}
    for _ in range(REPEATS):  # interleaved: a slow patch of the shared machine hits both sides
        for r in (SMALL, BIG):
            res = _py("xchg_sketch", r)
            py[r].append(res.seconds)
            n_py[r] = res.states
            s = run_spin("xchg_sketch", rounds=r, reduce=False, all_errors=True)
            sp[r].append(s.pan_cpu)
            n_sp[r] = s.states
            mem_sp[r] = s.memory_mb
    assert n_py == n_sp, (n_py, n_sp)
    dn = n_py[BIG] - n_py[SMALL]
    marg_py = Stats(tuple((b - a) / dn for a, b in zip(py[SMALL], py[BIG], strict=True)))
    marg_sp = Stats(tuple(max(b - a, 1e-9) / dn for a, b in zip(sp[SMALL], sp[BIG], strict=True)))
    print(f"   xchg_sketch 3x5x{SMALL} / 3x5x{BIG}: {n_py[SMALL]:,} / {n_py[BIG]:,} states on both sides")
    print(f"   python checker  {Stats(tuple(py[BIG])).fmt()} at {BIG} rounds; marginal "
          f"{marg_py.fmt(1e6, 'µs/state', 2)}")
    print(f"   SPIN pan        {Stats(tuple(sp[BIG])).fmt()} at {BIG} rounds; marginal "
          f"{marg_sp.fmt(1e6, 'µs/state', 2)}")
    print(f"   per-state cost python / SPIN = {marg_py.min / marg_sp.min:.0f}x (best) / "
          f"{marg_py.median / marg_sp.median:.0f}x (median)  [goal <= 3x]")
    b_py = _py_bytes("xchg_sketch", BIG)
    b_sp = (mem_sp[BIG] - mem_sp[SMALL]) * 1e6 / dn
    print(f"   memory per state: python {b_py:.0f} B (tracemalloc peak / states), SPIN {b_sp:.0f} B (marginal, "
          f"pan's memory figure)  [goal python <= 100 B]")
    gl_py, gl_sp = _py("global_lock", 3), run_spin("global_lock", rounds=3, reduce=False, all_errors=True)
    print(f"   global_lock 3x5x3: {gl_py.states:,} python / {gl_sp.states:,} SPIN states; {gl_py.seconds:.2f} / "
          f"{gl_sp.pan_cpu:.2f} CPU s")
    big = ["global_lock", "memcg_lock", "memcg_global_lock"]
    if os.environ.get("ZSWAPLAB_BENCH_XCHG_FIXED_463") == "1":
        big.append("xchg_fixed")
    for alg in big:
        t0, w0 = time.process_time(), time.perf_counter()
        res = check(CheckConfig(alg, threads=4, memcgs=6, rounds=3, max_states=100_000_000))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"   4x6x3 {alg:18s} (reductions on): {'verified' if res.ok else 'FAILS: ' + str(res.violation)}, "
              f"{res.states:,} states in {time.process_time() - t0:.1f} CPU s ({time.perf_counter() - w0:.1f} "
              f"wall s), process max RSS {rss:.0f} MB  [goal < 600 s]")
