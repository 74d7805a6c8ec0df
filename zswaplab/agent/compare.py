"""The agent against a Senpai-style baseline on the kernel model: same workloads, same pressure target.

Three workload shapes (seeded) run in one cgroup ``/w`` of ``mb`` MiB of anonymous memory on a stock-kernel
profile (no writeback series): every simulated second the workload touches its *hot set* (pages in zswap or
on disk fault back in: a PSI stall each), the rest of its memory is cold.

* ``steady``: a fixed hot set of 25 % of the pages;
* ``phase``: 25 % hot, then at half time a disjoint 25 % becomes hot (the old set goes cold);
* ``growth``: the hot set grows linearly from 10 % to 60 % of the pages.

``memory.zswap.max`` of ``/w`` is a quarter of the compressed size of all its memory, so zswap fills and the
kernel writes the oldest entries back to the swap device (what "to disk" measures).

Controllers, each tuned to the same pressure target (Senpai's 10 ms of stall per 6 s, ≈ 0.17 %):

* ``senpai``: :class:`~zswaplab.agent.pacing.Senpai` ticked every second, probes written to ``memory.reclaim``
  without a ``swappiness`` key (oomd's behaviour);
* ``agent``: ``zswaplab.agent`` itself on the ``sim`` backend, ``action = "reclaim"``: every 6 s,
  ``budget_per_cycle * (1 - psi / psi_target)`` to ``memory.reclaim`` with ``swappiness=max`` where the profile
  takes it; the budget per cycle is 1/16 of the workload (fixed before any run).

Reported per run: MiB moved to zswap (``zswpout``) and to disk (``zswpwb``), mean MiB of the workload's memory
not resident (offloaded) over the run, PSI ``some`` (total seconds and mean %, ``full`` equals ``some`` in the
model), refaults (``zswpin`` from zswap, ``pswpin`` from disk; "n/a" where the profile's ``memory.stat`` has
no ``pswpin``). Deterministic for a seed.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from ..kernel import Kernel, KernelConfig
from ..kernel.constants import PAGE_SIZE
from ..kernel.page import Page, PageState
from . import logs
from .engine import Agent
from .metrics import Metrics
from .pacing import Senpai, SenpaiConfig, Step
from .policy import loads
from .sim import SimBackend
from .stats import parse_memory_stat, parse_pressure

CG = "/w"
SHAPES = ("steady", "phase", "growth")
CONTROLLERS = ("senpai", "agent")
PSI_TARGET_PCT = 100.0 * 0.010 / 6  # Senpai's default: 10 ms per 6 s interval


def hot_indices(shape: str, order: list[int], t: float, duration_s: float) -> list[int]:
    """The hot set at time ``t`` of a workload shape, as indices into its pages (``order``: a seeded
    permutation). Shared by the model runs here and the real-kernel runs (``realcompare.py``)."""
    n = len(order)
    frac = t / max(1.0, duration_s)
    if shape == "steady":
        return order[: n // 4]
    if shape == "phase":
        return order[: n // 4] if frac < 0.5 else order[n // 4: n // 2]
    if shape == "growth":
        return order[: int(n * (0.10 + 0.50 * min(1.0, frac)))]
    raise ValueError(f"unknown workload shape {shape!r}")


def seeded_order(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


@dataclass
class Workload:
    """Touches the hot set of ``pages`` once per simulated second (``tick``)."""

    shape: str
    pages: list[Page]
    duration_s: int
    seed: int = 0

    def __post_init__(self) -> None:
        self.order = seeded_order(len(self.pages), self.seed)
        self.next_s = 0.0
        self.offloaded_page_s = 0  # sum over ticks of non-resident pages

    def hot(self, t: float) -> list[Page]:
        return [self.pages[i] for i in hot_indices(self.shape, self.order, t, self.duration_s)]

    def tick(self, kernel: Kernel) -> None:
        t = kernel.clock_ns / 1e9
        while self.next_s <= t + 1e-9:
            kernel.touch(self.hot(self.next_s))
            self.offloaded_page_s += sum(p.state is not PageState.RAM for p in self.pages)
            self.next_s += 1.0


def _setup(profile: str, mb: int, seed: int, duration_s: int, shape: str) -> tuple[Kernel, Workload]:
    n = mb * (1 << 20) // PAGE_SIZE
    k = Kernel(KernelConfig(profile=profile, totalram_pages=max(262_144, 16 * n), swap_pages=max(1 << 18, 4 * n)),
               seed=seed)
    k.fs.mkdir(CG)
    clen = 1000
    k.fs.write(CG, "memory.zswap.max", str(n * clen // 4))
    pages = k.alloc(CG, n, clen=clen)
    return k, Workload(shape, pages, duration_s, seed)


def _stat(k: Kernel) -> dict[str, int]:
    return parse_memory_stat(k.fs.read(CG, "memory.stat")).values


def _psi_total_us(k: Kernel) -> int:
    p = parse_pressure(k.fs.read(CG, "memory.pressure"))
    return p.some_total if p is not None else 0


def run_senpai(k: Kernel, w: Workload, duration_s: int) -> None:
    s = Senpai(SenpaiConfig(), _psi_total_us(k))
    for _ in range(duration_s):
        w.tick(k)
        step, n = s.tick(_psi_total_us(k), k.memory_current(k.tree.lookup(CG)))
        if step is Step.PROBE:
            try:
                k.fs.write(CG, "memory.reclaim", str(n))
            except OSError:
                pass  # EAGAIN: reclaimed less than asked
        k.advance(1.0)
    w.tick(k)


AGENT_POLICY = """
[agent]
interval = "6s"
workers = 1
[[target]]
path = "{cg}"
action = "reclaim"
step = "{step}"
step_interval = "0s"
budget_per_cycle = "{budget}"
budget_per_hour = "1T"
[target.reclaim]
psi_target = {target}
"""


def run_agent(k: Kernel, w: Workload, duration_s: int, mb: int) -> None:
    budget = mb * (1 << 20) // 16
    pol = loads(AGENT_POLICY.format(cg=CG, step=budget, budget=budget, target=PSI_TARGET_PCT))
    be = SimBackend(k, w, tick_s=1.0)
    logs.setup(io.StringIO(), "warning", wall_clock=False)
    ag = Agent(pol, be, metrics=Metrics(process=False))
    ag.run(max_cycles=max(1, duration_s // 6), keep=0)
    left = duration_s - (k.clock_ns / 1e9)
    if left > 0:
        be.sleep(left, ag.stop)


def compare(shape: str, controller: str, *, profile: str = "mainline", mb: int = 16, duration_s: int = 600,
            seed: int = 0) -> dict[str, float]:
    """One run; returns the measured figures."""
    k, w = _setup(profile, mb, seed, duration_s, shape)
    before = _stat(k)
    if controller == "senpai":
        run_senpai(k, w, duration_s)
    elif controller == "agent":
        run_agent(k, w, duration_s, mb)
    else:
        raise ValueError(f"unknown controller {controller!r}")
    after = _stat(k)
    mib = PAGE_SIZE / (1 << 20)
    psi_s = _psi_total_us(k) / 1e6
    return {
        "to_zswap_mib": (after.get("zswpout", 0) - before.get("zswpout", 0)) * mib,
        "to_disk_mib": (after.get("zswpwb", 0) - before.get("zswpwb", 0)) * mib,
        "offloaded_mean_mib": w.offloaded_page_s / max(1, duration_s) * mib,
        "psi_some_s": psi_s,
        "psi_some_pct": 100.0 * psi_s / duration_s,
        "refaults_zswap": after.get("zswpin", 0) - before.get("zswpin", 0),
        # memory.stat has pswpin since Linux 6.13-era kernels; on older profiles the disk refaults are unknown
        "refaults_disk": after["pswpin"] - before["pswpin"] if "pswpin" in after else -1,
    }


def table(profile: str = "mainline", mb: int = 16, duration_s: int = 600, seed: int = 0) -> str:
    """The comparison as a Markdown table (docs/agent.md)."""
    rows = ["| workload | controller | to zswap MiB | to disk MiB | offloaded (mean) MiB | PSI some s (%) | "
            "refaults zswap / disk |", "|---|---|---|---|---|---|---|"]
    for shape in SHAPES:
        for c in CONTROLLERS:
            r = compare(shape, c, profile=profile, mb=mb, duration_s=duration_s, seed=seed)
            rows.append(f"| {shape} | {c} | {r['to_zswap_mib']:.1f} | {r['to_disk_mib']:.1f} | "
                        f"{r['offloaded_mean_mib']:.1f} | {r['psi_some_s']:.2f} ({r['psi_some_pct']:.3f}) | "
                        f"{r['refaults_zswap']} / {r['refaults_disk'] if r['refaults_disk'] >= 0 else 'n/a'} |")
    return "\n".join(rows)
