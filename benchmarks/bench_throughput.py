"""Page-event throughput of the fast core's zswap path vs a right-sized libCacheSim Clock on the same trace.

One zipf working-set trace (2M accesses over 200k pages) is written as libCacheSim ``oracleGeneral``. The model
replays it into one memcg: a first access allocates the page, a later one touches it; pages reclaimed over
``memory.max`` are stored in zswap (store events) and fault back (load events). ``memory.max`` = 50k pages + the
compressed size of the rest of the working set (memory.current charges zswap bytes too), so RAM holds ~50k pages
once the pool is full; early on the zswap share is still empty, so the model's RAM holds more than 50k pages and
its miss ratio is lower than Clock's (said next to the figures).

Baselines, measured in the same run, interleaved, min / median / spread over REPEATS:

* libCacheSim ``Clock`` (C; ``process_trace`` reads the file itself) of the same capacity (50k × 4096-byte
  objects) with its hash table **right-sized** for the object count (``hashpower`` = ceil(log2(objects)) + 1,
  load factor <= 0.5); the library default ``hashpower=24`` (16M buckets, 128 MiB) is printed for reference only.
* a plain 1-bit Clock over dense ids (``benchmarks/_baselines.clock_dense``) — the floor for the replay loop;
* a plain loop doing the model's memory writes (``benchmarks/_baselines.clock_lists``: the same per-page arrays,
  a resident list and a pool list, second chance, the same kind of per-entry counters; no limits, no hierarchy)
  — on the zipf trace, and on a **miss-only** trace (a cycle over 1.25 × capacity pages: after the first pass
  every access faults a page back from the pool and stores another one), where time per event is the miss path's
  cost (goal: the model's miss within 10× of the plain loop's);
* ``np.fromfile`` of the trace file — the floor for reading it (goal: reading within 3×).

The oracle ``Kernel`` is timed on a stretch where reclaim runs (after the distinct pages exceed the capacity by
20 %), and the fast core on the same stretch.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import _baselines
from benchmarks._measure import compile_phase, interleaved, ratio_line, timed
from zswaplab.kernel import KernelConfig
from zswaplab.scale.fastkernel import FastKernel
from zswaplab.scale.traces import ORACLE_GENERAL, read_oracle_general, write_oracle_general
from zswaplab.scale.workloads import WorkingSet, generate

N_EVENTS = 2_000_000
N_PAGES = 200_000
CAPACITY = 50_000
REPEATS = 7
STRETCH = 100_000  # events timed for the oracle-vs-fast comparison
CYCLE = CAPACITY * 5 // 4  # pages of the miss-only trace
CYCLE_EVENTS = 1_000_000
DEFAULT_HASHPOWER = 24  # libcachesim.Clock's default


def _config() -> KernelConfig:
    return KernelConfig(profile="mainline", totalram_pages=4 << 20, swap_pages=1 << 22)


def _new_fast(clens: np.ndarray) -> FastKernel:
    k = FastKernel(_config(), seed=0, keep_log=False)
    _set_max(k, clens)
    return k


def _set_max(k: object, clens: np.ndarray) -> None:
    k.fs.mkdir("/w")  # type: ignore[attr-defined]
    zswap_share = int(clens.mean() * max(0, len(clens) - CAPACITY))
    k.fs.write("/w", "memory.max", str(CAPACITY * 4096 + zswap_share))  # type: ignore[attr-defined]


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    return read_oracle_general(path).dense()


def replay(objs: np.ndarray, clens: np.ndarray) -> dict[str, int]:
    k = _new_fast(clens)
    k.replay("/w", objs, clens)
    return {e: int(k.vm_events[e]) for e in ("zswpout", "zswpin", "pswpin")}


def end_to_end(path: Path) -> dict[str, int]:
    objs, clens = read(path)
    return replay(objs, clens)


def libcachesim_clock(path: Path, hashpower: int, n: int = -1) -> float:
    import libcachesim as lcs

    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    cache = lcs.Clock(cache_size=CAPACITY * 4096, hashpower=hashpower)
    miss_ratio, _ = cache.process_trace(reader, max_req=n)
    return miss_ratio


def oracle_stretch(objs: np.ndarray, clens: np.ndarray, start: int, stop: int) -> tuple[float, dict[str, int]]:
    """The oracle ``Kernel`` (alloc on first access, touch after) on events [start, stop) after an untimed
    prefix: (seconds, store/load events inside the stretch)."""
    from zswaplab.kernel import Kernel

    k = Kernel(_config(), seed=0)
    _set_max(k, clens)
    pages: dict[int, object] = {}

    def run(lo: int, hi: int) -> None:
        for o in objs[lo:hi].tolist():
            p = pages.get(o)
            if p is None:
                pages[o] = k.alloc("/w", 1, clen=int(clens[o]))[0]
            else:
                k.touch([p])

    run(0, start)
    before = {e: int(k.vm_events[e]) for e in ("zswpout", "zswpin")}
    dt, _ = timed(lambda: run(start, stop))
    return dt, {e: int(k.vm_events[e]) - before[e] for e in before}


def reclaim_start(objs: np.ndarray, clens: np.ndarray, chunk: int = 20_000) -> int:
    """Index of the first chunk boundary after which the fast core has stored pages in zswap."""
    k = _new_fast(clens)
    objpage = None
    for lo in range(0, len(objs), chunk):
        objpage = k.replay("/w", objs[lo:lo + chunk], clens, objpage=objpage)
        if k.vm_events["zswpout"]:
            return lo + chunk
    raise RuntimeError("the trace never reclaims: no stretch to time")


def fast_stretch(objs: np.ndarray, clens: np.ndarray, start: int, stop: int) -> tuple[float, dict[str, int]]:
    k = _new_fast(clens)
    objpage = k.replay("/w", objs[:start], clens)
    before = {e: int(k.vm_events[e]) for e in ("zswpout", "zswpin")}
    dt, _ = timed(lambda: k.replay("/w", objs[start:stop], clens, objpage=objpage))
    return dt, {e: int(k.vm_events[e]) - before[e] for e in before}


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "zipf.oracleGeneral"
        write_oracle_general(generate(WorkingSet(N_PAGES, zipf_s=0.9, phase_len=500_000), N_EVENTS, seed=1), path)
        objs, clens = read(path)
        nobj = len(clens)
        hashpower = max(10, math.ceil(math.log2(nobj)) + 1)
        compile_phase("fast core replay + trace reader + plain loops", lambda: (
            end_to_end(path), _baselines.warm(), _baselines.clock_lists(objs[:1000], clens, CAPACITY),
            libcachesim_clock(path, hashpower, 10_000)))
        cyc = np.tile(np.arange(CYCLE, dtype=np.int64), CYCLE_EVENTS // CYCLE)
        cyc_clens = clens[:CYCLE]
        st, last = interleaved({
            "stream": lambda: np.fromfile(str(path), ORACLE_GENERAL),
            "read": lambda: read(path),
            "replay": lambda: replay(objs, clens),
            "lcs": lambda: libcachesim_clock(path, hashpower),
            "lcs_default": lambda: libcachesim_clock(path, DEFAULT_HASHPOWER),
            "plain": lambda: _baselines.clock_dense(objs, nobj, CAPACITY),
            "lists": lambda: _baselines.clock_lists(objs, clens, CAPACITY),
            "miss_model": lambda: replay(cyc, cyc_clens),
            "miss_plain": lambda: _baselines.clock_lists(cyc, cyc_clens, CAPACITY),
        }, REPEATS)
        start = reclaim_start(objs, clens)
        t_or, ev_or = oracle_stretch(objs, clens, start, start + STRETCH)
        t_fs, ev_fs = fast_stretch(objs, clens, start, start + STRETCH)
    ev = last["replay"]
    e2e_min = st["read"].min + st["replay"].min
    e2e_med = st["read"].median + st["replay"].median
    model_miss = (nobj + ev["zswpin"]) / N_EVENTS
    plain_miss = last["plain"] / N_EVENTS
    ns = 1e9 / N_EVENTS
    print(f"   trace: {N_EVENTS:,} accesses over {nobj:,} pages (zipf 0.9), capacity {CAPACITY:,} "
          f"pages, oracleGeneral {N_EVENTS * 24 / 1e6:.0f} MB; {REPEATS} interleaved repeats")
    print(f"   baseline libCacheSim Clock(cache_size={CAPACITY * 4096}, hashpower={hashpower}) "
          f"(right-sized: {1 << hashpower:,} buckets for {nobj:,} objects), process_trace incl. reading: "
          f"{st['lcs'].fmt()}; {st['lcs'].rate(N_EVENTS)[0] / 1e6:.1f} M ev/s best; miss ratio {last['lcs']:.3f}")
    print(f"     (library default hashpower={DEFAULT_HASHPOWER}, reference only: {st['lcs_default'].fmt()})")
    print(f"   plain 1-bit Clock over dense ids (numba): {st['plain'].fmt(1e3, 'CPU ms')}; "
          f"{st['plain'].min * ns:.1f} ns/event; miss ratio {plain_miss:.3f}")
    print(f"   streaming the file (np.fromfile): {st['stream'].fmt(1e3, 'CPU ms')}")
    print(f"   model: trace read (oracleGeneral -> dense ids): {st['read'].fmt(1e3, 'CPU ms')}  "
          f"= {st['read'].min / st['stream'].min:.1f}x / {st['read'].median / st['stream'].median:.1f}x streaming "
          f"[goal <= 3x]")
    print(f"   model: FastKernel replay (memcg + zswap): {st['replay'].fmt()}; {st['replay'].min * ns:.1f} ns/event; "
          f"zswpout {ev['zswpout']:,}, zswpin {ev['zswpin']:,}; miss ratio (first access + zswpin) {model_miss:.3f}")
    print(f"     (miss ratios differ: the model's memory.max includes the zswap share, which is empty early on, so "
          f"it holds more than {CAPACITY:,} pages in RAM at first; Clock holds exactly {CAPACITY:,})")
    misses = nobj + ev["zswpin"]
    print(f"   model: {(st['replay'].min - st['plain'].min) / misses * 1e9:.0f} ns per miss above the plain Clock "
          f"(replay minus plain loop, over {misses:,} misses: an upper bound on the miss path's extra cost)")
    print(f"   model end to end (read + replay): min {e2e_min:.3f} / median {e2e_med:.3f} s; "
          f"{N_EVENTS / e2e_min / 1e6:.1f} M ev/s best")
    print(f"   ratio end to end model/right-sized Clock = {st['lcs'].min / e2e_min:.2f} (best) / "
          f"{st['lcs'].median / e2e_med:.2f} (median)  [goal >= 1.0]")
    print(ratio_line("replay alone vs right-sized Clock", st["replay"], st["lcs"], ">= 2.0"))
    print(f"   replay / plain 1-bit Clock time = {st['replay'].min / st['plain'].min:.1f}x (best) / "
          f"{st['replay'].median / st['plain'].median:.1f}x (median)  [the floor; no goal]")
    lists = _baselines.counters(last["lists"])
    print(f"   plain loop doing the model's writes (benchmarks/_baselines.clock_lists: {nobj:,} pages, capacity "
          f"{CAPACITY:,} pages, per-page arrays owner int32/clen uint16/state uint8/flags uint8/prev,next int32, a "
          f"resident and a pool list, second chance; no limits, no hierarchy) on the same trace: "
          f"{st['lists'].fmt(1e3, 'CPU ms')}; {lists['misses']:,} misses, {lists['zswpout']:,} stores, "
          f"{lists['zswpin']:,} loads; replay / this loop = {st['replay'].min / st['lists'].min:.1f}x (best) / "
          f"{st['replay'].median / st['lists'].median:.1f}x (median)")
    mm, mp = last["miss_model"], _baselines.counters(last["miss_plain"])
    m_model = CYCLE + mm["zswpin"] + mm["pswpin"]
    n_cyc = CYCLE_EVENTS // CYCLE * CYCLE
    print(f"   miss path: a cycle over {CYCLE:,} pages ({n_cyc:,} events, capacity {CAPACITY:,}): model "
          f"{st['miss_model'].fmt(1e3, 'CPU ms')}, {m_model:,} misses ({mm['zswpout']:,} stores, {mm['zswpin']:,} "
          f"loads) = {st['miss_model'].min / m_model * 1e9:.1f} ns/miss best; plain loop (clock_lists) "
          f"{st['miss_plain'].fmt(1e3, 'CPU ms')}, {mp['misses']:,} misses ({mp['zswpout']:,} stores, "
          f"{mp['zswpin']:,} loads) = {st['miss_plain'].min / mp['misses'] * 1e9:.1f} ns/miss best")
    r_best = (st["miss_model"].min / m_model) / (st["miss_plain"].min / mp["misses"])
    r_med = (st["miss_model"].median / m_model) / (st["miss_plain"].median / mp["misses"])
    print(f"   ratio per miss model/plain loop = {r_best:.1f}x (best) / {r_med:.1f}x (median)  [goal <= 10x]")
    print(f"   oracle Kernel on a stretch with reclaim (events {start:,}..{start + STRETCH:,}; zswpout "
          f"{ev_or['zswpout']:,}, zswpin {ev_or['zswpin']:,}): {STRETCH / t_or:,.0f} ev/s; fast core on the same "
          f"stretch (zswpout {ev_fs['zswpout']:,}, zswpin {ev_fs['zswpin']:,}): {STRETCH / t_fs:,.0f} ev/s; "
          f"ratio {t_or / t_fs:.0f}x (one run each; the oracle's stretch follows an untimed prefix of {start:,} "
          f"events)")


if __name__ == "__main__":
    main()
