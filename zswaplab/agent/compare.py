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
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ..kernel import Kernel, KernelConfig
from ..kernel.constants import PAGE_SIZE
from ..kernel.page import Page, PageState
from . import logs
from .engine import Agent
from .metrics import Metrics
from .pacing import Senpai, SenpaiConfig, Step, pacer_config
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
interval = "3s"
workers = 1
[[target]]
path = "{cg}"
action = "reclaim"
step = "{step}"
step_interval = "1s"
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
    interval = pol.agent.interval

    def until_the_end(_rep: object) -> None:  # the run ends at duration_s of simulated time
        if be.now() + interval >= duration_s:
            ag.stop.set()

    ag.run(keep=0, on_cycle=until_the_end)
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
        # to disk: written back from zswap (zswpwb) or rejected by a full zswap and written directly (pswpout)
        "to_disk_mib": sum(after.get(c, 0) - before.get(c, 0) for c in ("zswpwb", "pswpout")) * mib,
        "offloaded_mean_mib": w.offloaded_page_s / max(1, duration_s) * mib,
        "psi_some_s": psi_s,
        "psi_some_pct": 100.0 * psi_s / duration_s,
        "refaults_zswap": after.get("zswpin", 0) - before.get("zswpin", 0),
        # memory.stat has pswpin since Linux 6.13-era kernels; on older profiles the disk refaults are unknown
        "refaults_disk": after["pswpin"] - before["pswpin"] if "pswpin" in after else -1,
    }


def goal_met(agent: dict[str, float], senpai: dict[str, float]) -> bool:
    """The issue's goal for one seed: more memory offloaded (mean) than Senpai at PSI some ≤ Senpai's."""
    return agent["offloaded_mean_mib"] > senpai["offloaded_mean_mib"] and agent["psi_some_s"] <= senpai["psi_some_s"]


def runs(profile: str = "mainline", mb: int = 16, duration_s: int = 600,
         seeds: Sequence[int] = (0, 1, 2)) -> dict[tuple[str, str], list[dict[str, float]]]:
    """Every (shape, controller) over ``seeds``: the measured figures per seed, in seed order."""
    return {(shape, c): [compare(shape, c, profile=profile, mb=mb, duration_s=duration_s, seed=s) for s in seeds]
            for shape in SHAPES for c in CONTROLLERS}


def _mm(vals: list[float], fmt: str) -> str:
    """``min / median`` (one value if they are equal once formatted)."""
    lo, med = format(min(vals), fmt), format(statistics.median(vals), fmt)
    return lo if lo == med else f"{lo} / {med}"


def table(profile: str = "mainline", mb: int = 16, duration_s: int = 600, seeds: Sequence[int] = (0, 1, 2),
          results: dict[tuple[str, str], list[dict[str, float]]] | None = None) -> str:
    """The comparison as a Markdown table (docs/agent.md §8): min / median over ``seeds`` of each figure, and
    on how many seeds the agent met the goal (:func:`goal_met`) against Senpai on the same seed."""
    res = results if results is not None else runs(profile, mb, duration_s, seeds)
    rows = ["| workload | controller | to zswap MiB | to disk MiB | offloaded (mean) MiB | PSI some ms | "
            "refaults zswap | refaults disk | goal met |", "|---|---|---|---|---|---|---|---|---|"]
    for shape in SHAPES:
        met = sum(goal_met(a, s) for a, s in zip(res[shape, "agent"], res[shape, "senpai"], strict=True))
        for c in CONTROLLERS:
            rs = res[shape, c]
            disk = [r["refaults_disk"] for r in rs]
            rows.append(f"| {shape} | {c} | {_mm([r['to_zswap_mib'] for r in rs], '.1f')} | "
                        f"{_mm([r['to_disk_mib'] for r in rs], '.1f')} | "
                        f"{_mm([r['offloaded_mean_mib'] for r in rs], '.2f')} | "
                        f"{_mm([1e3 * r['psi_some_s'] for r in rs], '.2f')} | "
                        f"{_mm([r['refaults_zswap'] for r in rs], '.0f')} | "
                        f"{_mm(disk, '.0f') if min(disk) >= 0 else 'n/a'} | "
                        f"{f'{met}/{len(rs)} seeds' if c == 'agent' else ''} |")
    return "\n".join(rows)


def settings(mb: int = 16) -> str:
    """Both controllers' settings, printed with the table (Senpai: oomd's defaults, unchanged)."""
    budget = mb * (1 << 20) // 16
    pol = loads(AGENT_POLICY.format(cg=CG, step=budget, budget=budget, target=PSI_TARGET_PCT))
    tp = pol.targets[0]
    return (f"senpai: {SenpaiConfig()} (oomd defaults), 1 s ticks, memory.reclaim without swappiness\n"
            f"agent: interval {pol.agent.interval:g} s, step_interval {tp.step_interval:g} s, "
            f"budget_per_cycle {tp.budget_per_cycle} B, {pacer_config(tp)}")
