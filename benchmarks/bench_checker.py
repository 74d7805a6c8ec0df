"""Checker cost per state against SPIN, on the same state space, same run; then every design at 4 × 6 × 3.

The Promela models encode the Python configurations state for state (``tests/concurrency/test_spin.py``
checks the counts are equal), so both sides explore the *same* states: ``xchg_sketch`` 3 threads × 5 memcgs
(1 round: 560 states, 2 rounds: 69,381) and ``global_lock`` 3 × 5 × 3 (11,162), whole spaces (SPIN ``pan
-DSAFETY -DNOREDUCE -c0``: no partial-order reduction, past errors; the checker ``symmetry=False, por=False,
observe=False, stop_at_violation=False``). Per-state cost is the marginal CPU time between 1 and 2 rounds of
``xchg_sketch`` (fixed start-up costs cancel: pan allocates its hash table, the checker builds its programs),
min / median over REPEATS interleaved runs, for the compiled engine (the default) and the Python reference
engine; SPIN's is ./pan's CPU time (user + system of the child), the compile (spin -a, gcc) not counted, and
the checker's numba code is loaded before timing (``zswaplab warmup``), so no compile time is counted either.
Memory per state: the checker's ``tracemalloc`` peak (numpy arrays included) divided by its states, on the
SPIN space and on ``xchg_fixed`` 3 × 5 × 3 (1.3 M states); SPIN's marginal "total actual memory usage" between
the two sizes. Then every shipped design at 4 threads × 6 memcgs × 3 rounds with the checker's reductions
(symmetry, partial-order reduction; observations on, as ``zswaplab check`` runs), one run each, with the
process's peak RSS (``ZSWAPLAB_BENCH_CHECKER_463=0`` skips them; ``=locks`` runs only the lock designs).
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc

from benchmarks._measure import Stats
from zswaplab.concurrency.algorithms import ALGORITHMS
from zswaplab.concurrency.checker import CheckConfig, CheckResult, check
from zswaplab.concurrency.spin import SPIN_CONFIG, SpinMissing, run_spin

REPEATS = 3
SMALL, BIG = 1, 2  # rounds of xchg_sketch
LOCKS = ("global_lock", "memcg_lock", "memcg_global_lock")


def _space(name: str, rounds: int) -> CheckConfig:
    return CheckConfig(name, rounds=rounds, symmetry=False, por=False, observe=False, stop_at_violation=False,
                       **SPIN_CONFIG)


def _run(cfg: CheckConfig, engine: str) -> CheckResult:
    t0 = time.process_time()
    res = check(cfg, engine=engine)
    res.seconds = time.process_time() - t0  # CPU seconds, as pan's
    return res


def _bytes(cfg: CheckConfig) -> tuple[float, int]:
    tracemalloc.start()
    res = check(cfg)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / res.states, res.states


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    try:
        flags = " ".join(run_spin("xchg_sketch", rounds=SMALL, reduce=False, all_errors=True).cflags)
    except SpinMissing as e:
        print(f"   baseline unavailable: {e}")
        return
    from zswaplab.scale.warmup import ensure_compiled

    ensure_compiled(lambda m: print(f"   {m}"))
    print(f"   SPIN baseline: spin -a -DROUNDS=R, gcc {flags} (pan: no partial-order reduction, goes on past "
          "errors); checker: symmetry/POR/observations off, stop_at_violation=False; CPU seconds")
    engines = ("compiled", "python")
    cpu: dict[tuple[str, int], list[float]] = {(e, r): [] for e in (*engines, "spin") for r in (SMALL, BIG)}
    n: dict[tuple[str, int], int] = {}
    mem_sp: dict[int, float] = {}
    for _ in range(REPEATS):  # interleaved: a slow patch of the shared machine hits every side
        for r in (SMALL, BIG):
            for e in engines:
                res = _run(_space("xchg_sketch", r), e)
                cpu[e, r].append(res.seconds)
                n[e, r] = res.states
            s = run_spin("xchg_sketch", rounds=r, reduce=False, all_errors=True)
            cpu["spin", r].append(s.pan_cpu)
            n["spin", r] = s.states
            mem_sp[r] = s.memory_mb
    for r in (SMALL, BIG):
        assert n["compiled", r] == n["python", r] == n["spin", r], n
    dn = n["spin", BIG] - n["spin", SMALL]
    marg = {e: Stats(tuple(max(b - a, 1e-9) / dn for a, b in zip(cpu[e, SMALL], cpu[e, BIG], strict=True)))
            for e in (*engines, "spin")}
    print(f"   xchg_sketch 3x5x{SMALL} / 3x5x{BIG}: {n['spin', SMALL]:,} / {n['spin', BIG]:,} states on every side")
    for e, label in (("compiled", "checker (compiled)"), ("python", "checker (python)"), ("spin", "SPIN pan")):
        print(f"   {label:19s} {Stats(tuple(cpu[e, BIG])).fmt()} at {BIG} rounds; marginal "
              f"{marg[e].fmt(1e6, 'µs/state', 2)}")
    for e in engines:
        print(f"   per-state cost {e} / SPIN = {marg[e].min / marg['spin'].min:.1f}x (best) / "
              f"{marg[e].median / marg['spin'].median:.1f}x (median)  [goal <= 3x]")
    b_small, _ = _bytes(_space("xchg_sketch", BIG))
    b_big, n_big = _bytes(CheckConfig("xchg_fixed", threads=3, memcgs=5, rounds=3, observe=False, max_states=10**8))
    b_sp = (mem_sp[BIG] - mem_sp[SMALL]) * 1e6 / dn
    print(f"   memory per state (tracemalloc peak / states): checker {b_small:.0f} B on the SPIN space, {b_big:.0f} B "
          f"on xchg_fixed 3x5x3 ({n_big:,} states); SPIN {b_sp:.0f} B (marginal, pan's figure)  [goal <= 100 B]")
    gl_py, gl_sp = _run(_space("global_lock", 3), "compiled"), run_spin("global_lock", rounds=3, reduce=False,
                                                                          all_errors=True)
    print(f"   global_lock 3x5x3: {gl_py.states:,} checker / {gl_sp.states:,} SPIN states; {gl_py.seconds:.2f} / "
          f"{gl_sp.pan_cpu:.2f} CPU s")
    which = os.environ.get("ZSWAPLAB_BENCH_CHECKER_463", "all")
    if which == "0":
        return
    names = LOCKS if which == "locks" else tuple(ALGORITHMS)
    for alg in names:
        t0, w0 = time.process_time(), time.perf_counter()
        res = check(CheckConfig(alg, threads=4, memcgs=6, rounds=3, max_states=10**9))
        cpu_s = time.process_time() - t0
        verdict = "verified" if res.ok else ("TRUNCATED" if res.truncated else "fails: " + str(res.violation)[:60])
        print(f"   4x6x3 {alg:22s} {verdict}; {res.states:,} states in {cpu_s:.1f} CPU s "
              f"({time.perf_counter() - w0:.1f} wall s, {cpu_s / res.states * 1e6:.2f} µs/state), process max RSS "
              f"{_rss_mb():.0f} MB  [goal < 600 s]")
