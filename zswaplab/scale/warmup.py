"""Compile the numba code ahead of use: ``zswaplab warmup`` (run by ``make`` setup), so no user waits on it.

The fast core (:mod:`zswaplab.scale.nbcore`) and the trace reader (:mod:`zswaplab.scale._tracecore`) are
compiled with ``numba.njit(cache=True)``: numba compiles each function for each argument-type signature the
first time it is called, and stores the machine code in its cache (``__pycache__`` next to the module, or a
per-user directory when that is not writable; ``NUMBA_CACHE_DIR`` overrides both). The cache is keyed by the
source file's modification time and size, the signature, the CPU and numba's version, so an edit or an
upgrade recompiles exactly what changed. :func:`warm` drives a small workload through every code path the
demo, the lab, the benchmarks and the tests reach (every profile, every cursor strategy, allocation with array
and callable lengths, reclaim, proactive writeback, replay, touch, free, trace reading), so that all later runs
only load code. :func:`ensure_compiled` does the same once per process with a message, for callers that time
what follows (the demo, the benchmarks) and must not count compilation as run time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

_done = False


def dispatchers() -> Iterator[Any]:
    """Every numba dispatcher of the compiled modules."""
    from numba.core.registry import CPUDispatcher

    from zswaplab.concurrency import _nbsearch

    from . import _tracecore, nbcore

    for mod in (nbcore, _tracecore, _nbsearch):
        for obj in vars(mod).values():
            if isinstance(obj, CPUDispatcher):
                yield obj


def compiled_in_process() -> int:
    """How many signatures this process compiled (not found in numba's cache) so far."""
    return sum(len(d.stats.cache_misses) for d in dispatchers())


def cache_location() -> str:
    """Where the compiled code is cached (numba's cache locator for the fast core's module)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return env
    from . import nbcore

    disp = next(iter(dispatchers()), None)
    if disp is not None and getattr(disp, "_cache", None) is not None:
        return str(disp._cache.cache_path)
    return str(Path(nbcore.__file__).parent / "__pycache__")


def _steps() -> list[tuple[str, Callable[[], None]]]:
    import numpy as np

    from zswaplab.kernel import PROFILES, STRATEGIES, KernelConfig, proactive_request

    from ._tracecore import split_records
    from .fastkernel import FastKernel, UnsupportedConfig
    from .traces import ORACLE_GENERAL, first_access_codes

    def kernel(profile: str, strategy: str | None) -> FastKernel:
        cfg = KernelConfig(profile=profile, totalram_pages=1 << 16, swap_pages=1 << 16, strategy=strategy,
                           bypass_second_chance=strategy is not None)
        k = FastKernel(cfg, seed=0)
        k.fs.mkdir("/p")
        for i in range(3):
            k.fs.mkdir(f"/p/c{i}")
            k.alloc(f"/p/c{i}", 64, clen=np.full(64, 1200, np.int64))
            pages = k.alloc(f"/p/c{i}", 16, clen=lambda r: 900 + int(r.random() * 400))
            k.touch(list(pages)[:4])
            k.fs.write(f"/p/c{i}", "memory.reclaim", str(48 * 4096))
            k.free(list(pages)[4:6])
        k.advance(30)
        return k

    def profile_step(profile: str) -> None:
        strategies: tuple[str | None, ...] = (None,)
        if PROFILES[profile].params.interface is not None:
            strategies = (None, *STRATEGIES)
        for strategy in strategies:
            try:
                k = kernel(profile, strategy)
            except UnsupportedConfig:
                continue
            if PROFILES[profile].params.interface is not None:
                f, text = proactive_request(profile, 8 * 4096)
                for _ in range(2):
                    try:
                        k.fs.write("/p", f, text)
                    except OSError:
                        pass
                    k.advance(2)
            k.fs.write("/p/c0", "memory.max", str(40 * 4096))
            objs = np.random.default_rng(0).integers(0, 300, 4000)
            k.replay("/p/c1", objs, np.full(300, 1000, np.int64))

    def trace_step() -> None:
        rec = np.ones(5, ORACLE_GENERAL)  # the field views read_oracle_general passes (strided arrays)
        split_records(rec["obj_id"], rec["size"], rec["time"], np.empty(5, np.uint64), np.empty(5, np.uint32))
        first_access_codes(np.arange(5, dtype=np.uint64))

    steps: list[tuple[str, Callable[[], None]]] = [("trace reader", trace_step)]
    steps += [(f"fast core, profile {p}", lambda p=p: profile_step(p)) for p in PROFILES]
    steps.append(("concurrency checker", _checker_step))
    return steps


def _checker_step() -> None:
    """The compiled checker's paths: lock holders remapped, a cyclic graph (livelock test), a violation."""
    from zswaplab.concurrency.checker import CheckConfig, check

    for name, threads in (("memcg_global_lock", 4), ("xchg_fixed", 2), ("xchg_sketch", 3)):
        check(CheckConfig(name, threads=threads, memcgs=3, rounds=2))


def warm(report: Callable[[str], None] = print) -> float:
    """Compile (or load from the cache) every code path; report progress; return the seconds spent."""
    global _done
    t0 = time.perf_counter()
    steps = _steps()
    for i, (label, fn) in enumerate(steps, 1):
        t = time.perf_counter()
        fn()
        report(f"  [{i}/{len(steps)}] {label}: {time.perf_counter() - t:.1f} s")
    _done = True
    return time.perf_counter() - t0


def ensure_compiled(report: Callable[[str], None] = print) -> float:
    """:func:`warm` once per process, announced first (a cold cache takes tens of seconds; a warm one about a
    second). Callers that time what follows call this first so compilation never counts as run time."""
    if _done:
        return 0.0
    report("compiling/loading the fast core's numba code before timing (cached after the first run; "
           "`zswaplab warmup` does it at setup)...")
    dt = warm(lambda _msg: None)
    n = compiled_in_process()
    report(f"  ... {dt:.1f} s ({n} signature(s) compiled, the rest loaded from the cache)")
    return dt


@click.command("warmup")
def warmup_cmd() -> None:
    """Compile the fast core's numba code now (once per install; later runs load it from the cache)."""
    click.echo(f"compiling the fast core's numba code (cache: {cache_location()}); the first time takes "
               "about 20-60 s, later runs load it in about a second")
    dt = warm(click.echo)
    n = compiled_in_process()
    click.echo(f"done in {dt:.1f} s: {n} signature(s) compiled now, the rest were already cached")
