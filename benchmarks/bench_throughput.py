"""Page-event throughput of the fast core's zswap path vs libCacheSim's Clock on the same trace.

One zipf working-set trace (2M accesses over 200k pages) is written as libCacheSim ``oracleGeneral``. The model
replays it into one memcg: a first access allocates the page, a later one touches it; pages reclaimed over
``memory.max`` are stored in zswap (store events) and fault back (load events). ``memory.max`` = 50k pages + the
compressed size of the rest of the working set (memory.current charges zswap bytes too), so RAM holds ~50k pages.
libCacheSim's Clock cache of the same capacity (50k × 4096-byte objects) processes the same file
(``Clock.process_trace``, C++). Figure: events/s of each and the ratio (target >= 1.0).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from zswaplab.kernel import KernelConfig
from zswaplab.scale.fastkernel import FastKernel
from zswaplab.scale.traces import read_oracle_general, write_oracle_general
from zswaplab.scale.workloads import WorkingSet, generate

N_EVENTS = 2_000_000
N_PAGES = 200_000
CAPACITY = 50_000
REPEATS = 5


def run_model(path: Path, n: int | None = None) -> tuple[float, dict[str, int]]:
    t0 = time.perf_counter()
    tr = read_oracle_general(path)
    objs, clens = tr.dense()
    if n is not None:
        objs = objs[:n]
    k = FastKernel(KernelConfig(profile="mainline", totalram_pages=4 << 20, swap_pages=1 << 22), seed=0,
                   keep_log=False)
    k.fs.mkdir("/w")
    zswap_share = int(clens.mean() * max(0, len(clens) - CAPACITY))
    k.fs.write("/w", "memory.max", str(CAPACITY * 4096 + zswap_share))
    k.replay("/w", objs, clens)
    dt = time.perf_counter() - t0
    return dt, {e: int(k.vm_events[e]) for e in ("zswpout", "zswpin")}


def run_oracle(path: Path, n: int) -> float:
    """The oracle ``Kernel`` on the first ``n`` events (alloc on first access, touch after): events/s."""
    from zswaplab.kernel import Kernel

    tr = read_oracle_general(path)
    objs, clens = tr.dense()
    t0 = time.perf_counter()
    k = Kernel(KernelConfig(profile="mainline", totalram_pages=4 << 20, swap_pages=1 << 22), seed=0)
    k.fs.mkdir("/w")
    zswap_share = int(clens.mean() * max(0, len(clens) - CAPACITY))
    k.fs.write("/w", "memory.max", str(CAPACITY * 4096 + zswap_share))
    pages: dict[int, object] = {}
    for o in objs[:n].tolist():
        p = pages.get(o)
        if p is None:
            pages[o] = k.alloc("/w", 1, clen=int(clens[o]))[0]
        else:
            k.touch([p])
    return n / (time.perf_counter() - t0)


def run_libcachesim(path: Path, n: int | None = None) -> tuple[float, float]:
    import libcachesim as lcs

    t0 = time.perf_counter()
    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    cache = lcs.Clock(cache_size=CAPACITY * 4096)
    miss_ratio, _ = cache.process_trace(reader, max_req=-1 if n is None else n)
    return time.perf_counter() - t0, miss_ratio


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "zipf.oracleGeneral"
        write_oracle_general(generate(WorkingSet(N_PAGES, zipf_s=0.9, phase_len=500_000), N_EVENTS, seed=1), path)
        run_model(path, 10_000)  # warm-up: load the compiled code
        run_libcachesim(path, 10_000)
        t_model = t_lcs = float("inf")
        for _ in range(REPEATS):  # interleaved, best of REPEATS (the machine is shared)
            t, ev = run_model(path)
            t_model = min(t_model, t)
            t, miss = run_libcachesim(path)
            t_lcs = min(t_lcs, t)
        r_oracle = run_oracle(path, 200_000)
    r_model, r_lcs = N_EVENTS / t_model, N_EVENTS / t_lcs
    print(f"   trace: {N_EVENTS:,} accesses over {N_PAGES:,} pages, capacity {CAPACITY:,} pages (oracleGeneral)")
    print(f"   model (FastKernel replay, memcg + zswap): {r_model:,.0f} events/s  "
          f"(zswpout {ev['zswpout']:,}, zswpin {ev['zswpin']:,}; includes trace read)")
    print(f"   baseline libcachesim Clock.process_trace: {r_lcs:,.0f} events/s  (miss ratio {miss:.3f})")
    print(f"   (best of {REPEATS} interleaved runs each)")
    print(f"   (for reference: the oracle Kernel on the first 200,000 events: {r_oracle:,.0f} events/s, "
          f"{r_model / r_oracle:.0f}x slower than the fast core)")
    print(f"   ratio model/libcachesim = {r_model / r_lcs:.2f}  (target >= 1.0)")


if __name__ == "__main__":
    main()
