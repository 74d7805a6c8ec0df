"""Checker cost per state against SPIN, on the same state space, same run; then every design at 4 × 6 × 3.

The Promela models encode the Python configurations state for state (``tests/concurrency/test_spin.py``
checks the counts are equal), so both sides explore the *same* states: ``xchg_sketch`` 3 threads × 5 memcgs
(1 round: 560 states, 2 rounds: 69,381) and ``global_lock`` 3 × 5 × 3 (11,162), whole spaces (SPIN ``pan
-DSAFETY -DNOREDUCE -c0``: no partial-order reduction, past errors; the checker ``symmetry=False, por=False,
observe=False, stop_at_violation=False``). Per-state cost is the marginal CPU time between 2 and 3 rounds of
``xchg_sketch`` (69,381 → 4,157,097 states; fixed start-up costs cancel: pan allocates its hash table, the
checker builds its programs) for the compiled engine (the default), between 1 and 2 rounds for the Python
reference engine (3 rounds would take minutes), each against SPIN on the same pair, min / median over REPEATS
interleaved runs; SPIN's is ./pan's CPU time (user + system of the child), the compile (spin -a, gcc) not counted, and
the checker's numba code is loaded before timing (``zswaplab warmup``), so no compile time is counted either.
Memory per state: the checker's ``tracemalloc`` peak (numpy arrays included) divided by its states at 3
rounds, and marginal between 2 and 3 rounds; SPIN's marginal "total actual memory usage". Then every shipped design at 4 threads × 6 memcgs × 3 rounds with the checker's reductions
(symmetry, partial-order reduction; observations on, as ``zswaplab check`` runs), one run each, with the
process's peak RSS, capped at MAX_463 states; ``xchg_fixed`` (205.7 M states, about 7.5 CPU minutes and
14 GB) runs last and without observations (ghost state, not a property: the verdict is the same);
``xchg_fixed_online`` (a failing design whose counterexample lies beyond the cap) only with
``ZSWAPLAB_BENCH_CHECKER_463=all``; ``=locks`` runs only the lock designs, ``=0`` none.
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
SMALL, BIG = 2, 3  # rounds of xchg_sketch (the Python engine: 1 and 2)
LOCKS = ("global_lock", "memcg_lock", "memcg_global_lock")
SLOW = ("xchg_fixed_online",)  # its 4x6x3 counterexample lies beyond the cap
MAX_463 = 100_000_000


def _space(name: str, rounds: int) -> CheckConfig:
    return CheckConfig(name, rounds=rounds, symmetry=False, por=False, observe=False, stop_at_violation=False,
                       **SPIN_CONFIG)


def _run(cfg: CheckConfig, engine: str) -> CheckResult:
    t0 = time.process_time()
    res = check(cfg, engine=engine)
    res.seconds = time.process_time() - t0  # CPU seconds, as pan's
    return res


def _peak(cfg: CheckConfig) -> tuple[int, int]:
    tracemalloc.start()
    res = check(cfg)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, res.states


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    try:
        flags = " ".join(run_spin("xchg_sketch", rounds=1, reduce=False, all_errors=True).cflags)
    except SpinMissing as e:
        print(f"   baseline unavailable: {e}")
        return
    from zswaplab.scale.warmup import ensure_compiled

    ensure_compiled(lambda m: print(f"   {m}"))
    print(f"   SPIN baseline: spin -a -DROUNDS=R, gcc {flags} (pan: no partial-order reduction, goes on past "
          "errors); checker: symmetry/POR/observations off, stop_at_violation=False; CPU seconds")
    sides = {"compiled": (SMALL, BIG), "python": (1, SMALL), "spin": (1, SMALL, BIG)}
    cpu: dict[tuple[str, int], list[float]] = {(e, r): [] for e, rs in sides.items() for r in rs}
    n: dict[tuple[str, int], int] = {}
    mem_sp: dict[int, float] = {}
    for _ in range(REPEATS):  # interleaved: a slow patch of the shared machine hits every side
        for e, rs in sides.items():
            for r in rs:
                if e == "spin":
                    s = run_spin("xchg_sketch", rounds=r, reduce=False, all_errors=True)
                    cpu[e, r].append(s.pan_cpu)
                    n[e, r], mem_sp[r] = s.states, s.memory_mb
                else:
                    res = _run(_space("xchg_sketch", r), e)
                    cpu[e, r].append(res.seconds)
                    n[e, r] = res.states
    for (e, r), v in n.items():
        assert v == n["spin", r], (e, r, v, n["spin", r])

    def marginal(e: str, lo: int, hi: int) -> Stats:
        dn = n["spin", hi] - n["spin", lo]
        return Stats(tuple(max(b - a, 1e-9) / dn for a, b in zip(cpu[e, lo], cpu[e, hi], strict=True)))

    print(f"   xchg_sketch 3x5x1 / 3x5x{SMALL} / 3x5x{BIG}: {n['spin', 1]:,} / {n['spin', SMALL]:,} / "
          f"{n['spin', BIG]:,} states on every side")
    pairs = (("compiled", "checker (compiled)", SMALL, BIG), ("spin", "SPIN pan", SMALL, BIG),
             ("python", "checker (python)", 1, SMALL), ("spin", "SPIN pan", 1, SMALL))
    marg = {}
    for e, label, lo, hi in pairs:
        marg[e, lo] = marginal(e, lo, hi)
        print(f"   {label:19s} {Stats(tuple(cpu[e, hi])).fmt()} at {hi} rounds; marginal {lo}->{hi} rounds "
              f"{marg[e, lo].fmt(1e6, 'µs/state', 2)}")
    for e, lo in (("compiled", SMALL), ("python", 1)):
        a, b = marg[e, lo], marg["spin", lo]
        print(f"   per-state cost {e} / SPIN ({lo}->{lo + 1} rounds) = {a.min / b.min:.1f}x (best) / "
              f"{a.median / b.median:.1f}x (median)  [goal <= 3x]")
    (p_small, n_small), (p_big, n_big) = _peak(_space("xchg_sketch", SMALL)), _peak(_space("xchg_sketch", BIG))
    b_sp = (mem_sp[BIG] - mem_sp[SMALL]) * 1e6 / (n_big - n_small)
    print(f"   memory per state (tracemalloc peak, numpy included): checker {p_big / n_big:.0f} B at 3x5x{BIG} "
          f"({n_big:,} states), marginal {(p_big - p_small) / (n_big - n_small):.0f} B; SPIN {b_sp:.0f} B (marginal, "
          "pan's figure)  [goal <= 100 B]")
    gl_py, gl_sp = _run(_space("global_lock", 3), "compiled"), run_spin("global_lock", rounds=3, reduce=False,
                                                                          all_errors=True)
    print(f"   global_lock 3x5x3: {gl_py.states:,} checker / {gl_sp.states:,} SPIN states; {gl_py.seconds:.2f} / "
          f"{gl_sp.pan_cpu:.2f} CPU s")
    which = os.environ.get("ZSWAPLAB_BENCH_CHECKER_463", "default")
    if which == "0":
        return
    names = {"locks": LOCKS, "all": tuple(ALGORITHMS)}.get(which, tuple(a for a in ALGORITHMS if a not in SLOW))
    if which == "default":
        print(f"   4x6x3, every design but {', '.join(SLOW)} (its violation lies beyond {MAX_463:,} states; "
              "ZSWAPLAB_BENCH_CHECKER_463=all runs it to the cap); xchg_fixed last, without observations")
    for alg in sorted(names, key=lambda a: a == "xchg_fixed"):  # the big one last: max RSS is per process
        observe = alg != "xchg_fixed"  # observations are ghost state, not properties: same verdict, 1.4x fewer states
        t0, w0 = time.process_time(), time.perf_counter()
        res = check(CheckConfig(alg, threads=4, memcgs=6, rounds=3, max_states=MAX_463 * (1 if observe else 3),
                                observe=observe))
        cpu_s = time.process_time() - t0
        verdict = "verified" if res.ok else ("TRUNCATED" if res.truncated else "fails: " + str(res.violation)[:60])
        print(f"   4x6x3 {alg:22s} {verdict}{'' if observe else ' (no observations)'}; {res.states:,} states "
              f"({res.reduction.split()[0]} reduction) in {cpu_s:.1f} CPU s ({time.perf_counter() - w0:.1f} wall s, "
              f"{cpu_s / res.states * 1e6:.2f} µs/state), process max RSS {_rss_mb():.0f} MB  [goal < 600 s]")
