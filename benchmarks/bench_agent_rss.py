"""Bounded memory of the agent: RSS over 10^5 cycles x 100 targets must stay flat (issue 12, item 1).

Figure: resident set size (``/proc/self/statm``) of a long-running ``Agent.run()`` sampled every 1/20 of the
run, with the least-squares slope in KiB per 10,000 cycles; the run is "flat" if RSS grows by less than 1 MiB
from the middle to the end (after warm-up: caches, allocator arenas). Every cycle runs the real loop for each
target: discovery, one ``memory.stat`` and ``memory.pressure`` read and parse, PSI and rate guardrails,
budget, one step (``"4K source=zswap"`` written), a second sample, metrics, a ``cycle`` log record.
Backend: :class:`MemBackend`, an in-memory cgroup tree whose ``memory.stat`` counter moves with each write —
the fastest backend that runs the agent's own loop unchanged (the kernel model or a file tree would measure
their own cost, not the agent's memory). The agent's clock is simulated (``interval`` = 60 s).
Baseline ("keep every report", the behaviour before the fix): the same agent with ``run(keep=cycles)``, for
a hundredth of the cycles (at least 1,000); its slope is the growth the fix removes.

``ZSWAPLAB_BENCH_RSS_CYCLES`` overrides the cycle count (default 100,000).
"""

from __future__ import annotations

import errno
import gc
import io
import os
import threading
import time

from zswaplab.agent import logs
from zswaplab.agent.backend import Backend, CgroupRef
from zswaplab.agent.engine import Agent
from zswaplab.agent.metrics import Metrics
from zswaplab.agent.policy import loads

N_TARGETS = 100
CYCLES = int(os.environ.get("ZSWAPLAB_BENCH_RSS_CYCLES", "100000"))
SAMPLES = 20
PAGE = os.sysconf("SC_PAGE_SIZE")

POLICY = """
[agent]
interval = "60s"
workers = 4
[[target]]
path = "/bench/*"
mode = "concurrent"
step = "4K"
step_interval = "0s"
budget_per_cycle = "4K"
[target.guardrails]
psi_some_avg10 = 90.0
refault_rate = "1G/s"
"""

PSI = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"


class MemHandle:
    def __init__(self, be: MemBackend, ref: CgroupRef) -> None:
        self.be, self.ref = be, ref

    def __enter__(self) -> MemHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def read(self, fname: str) -> str:
        if fname == "memory.stat":
            n = self.be.written.get(self.ref.path, 0)
            return f"anon 4096\nzswap 1048576\nzswpin 0\npswpin 0\nzswpwb_proactive_b {n}\n"
        if fname == "memory.pressure":
            return PSI
        raise OSError(errno.ENOENT, fname)

    def write(self, fname: str, data: str) -> None:
        size = data.split()[0]
        self.be.written[self.ref.path] = self.be.written.get(self.ref.path, 0) + (4096 if size != "0" else 0)

    def exists(self, fname: str) -> bool:
        return fname in ("memory.stat", "memory.pressure", "memory.reclaim")

    def children(self) -> list[str]:
        return []


class MemBackend(Backend):
    name = "mem"

    def __init__(self, n: int) -> None:
        super().__init__()
        self.paths = ["/", "/bench"] + [f"/bench/cg{i:03d}" for i in range(n)]
        self.ids = {p: i + 1 for i, p in enumerate(self.paths)}
        self.written: dict[str, int] = {}
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.t += seconds

    def walk(self, start: str = "/", max_depth: int | None = None) -> list[str]:
        return [p for p in self.paths if p == start or p.startswith(start.rstrip("/") + "/")]

    def resolve(self, path: str) -> CgroupRef:
        return CgroupRef(path, self.ids[path])

    def open(self, ref: CgroupRef, keep: bool = False) -> MemHandle:
        return MemHandle(self, ref)


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE // 1024


def slope_kib_per_10k(points: list[tuple[int, int]]) -> float:
    n = len(points)
    mx = sum(c for c, _ in points) / n
    my = sum(r for _, r in points) / n
    num = sum((c - mx) * (r - my) for c, r in points)
    den = sum((c - mx) ** 2 for c, _ in points) or 1.0
    return num / den * 10_000


def measure(cycles: int, keep: int, label: str = "") -> list[tuple[int, int]]:
    logs.setup(io.StringIO(), "info", wall_clock=False)
    stream = logs.logging.getLogger(logs.LOGGER).handlers[0]
    ag = Agent(loads(POLICY), MemBackend(N_TARGETS), metrics=Metrics(process=False))
    points: list[tuple[int, int]] = []
    every = max(1, cycles // SAMPLES)

    def on_cycle(rep) -> None:
        assert len(rep.results) == N_TARGETS and rep.written == N_TARGETS * 4096, rep.results[0]
        if (rep.index + 1) % every == 0:
            stream.stream.seek(0)  # the log sink itself must not be what grows
            stream.stream.truncate()
            gc.collect()
            points.append((rep.index + 1, rss_kib()))
            if label:  # progress, so a run cut short still reports what it measured
                print(f"   {label}: cycle {points[-1][0]}: RSS {points[-1][1]} KiB", flush=True)

    ag.run(max_cycles=cycles, keep=keep, on_cycle=on_cycle)
    return points


def main() -> None:
    t1 = time.perf_counter()
    pts = measure(CYCLES, keep=64, label="agent")  # first: the baseline's garbage must not pad the agent's heap
    t2 = time.perf_counter()
    t0 = time.perf_counter()
    base = measure(max(1000, CYCLES // 100), keep=CYCLES, label="baseline")
    t1b = time.perf_counter()
    start, mid, end = pts[0][1], pts[len(pts) // 2][1], pts[-1][1]
    s_base, s = slope_kib_per_10k(base), slope_kib_per_10k(pts[len(pts) // 4:])
    print(f"parameters: {N_TARGETS} targets, {CYCLES} cycles, one 4K step per target per cycle, PSI + refault "
          f"guardrails, backend in-memory; RSS sampled every {CYCLES // SAMPLES} cycles")
    print(f"agent (run keeps the last 64 reports): RSS start {start} KiB, middle {mid} KiB, end {end} KiB; "
          f"slope after warm-up {s:+.1f} KiB / 10k cycles ({CYCLES * N_TARGETS / (t2 - t1):,.0f} target-cycles/s)")
    print(f"baseline 'keep every report' ({base[-1][0]} cycles): RSS {base[0][1]} -> {base[-1][1]} KiB; "
          f"slope {s_base:+.1f} KiB / 10k cycles ({t1b - t0:.0f} s)")
    print(f"ratio slope agent / baseline: {s / s_base if s_base else float('nan'):.3f}")
    flat = end - mid < 1024
    print(f"flat (end - middle < 1 MiB): {'PASS' if flat else 'FAIL'} ({end - mid:+d} KiB)")


if __name__ == "__main__":
    main()
