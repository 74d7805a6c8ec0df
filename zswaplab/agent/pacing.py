"""Pure control laws for proactive reclaim on kernels without the writeback series (no I/O).

* :class:`ReclaimPacer` — the agent's law: refault-gated AIMD. Per cycle it reclaims ``window * (1 - p /
  target)`` (``p``: PSI ``some`` over the last cycle, :func:`paced_reclaim_bytes`), grows the window additively
  while what it reclaims stays cold, and on congestion (refaults per reclaimed page above a tolerance, or a
  stall above half the target) shrinks it multiplicatively and pauses for a doubling number of cycles. The
  requests go to ``memory.reclaim`` with ``swappiness=max`` (anon only, Linux 6.x ``user_proactive_reclaim``
  where the kernel takes it; probed) so the cold memory moved is anonymous and lands in zswap.
* :class:`Senpai` — the baseline: oomd's Senpai plugin control loop (``Senpai::tick``), written from its
  design: stall time accumulates over ticks; when it reaches ``pressure_ms`` the plugin backs off; otherwise,
  every ``interval`` ticks, it probes by ``max_probe * min(1, ((pressure_ms / cumulative) / coeff_probe)^2)``
  of the current size (quadratic in how far pressure is below the threshold). oomd applies the probe by
  lowering ``memory.high``; its ``memory.reclaim`` flavour reclaims the same amount — that is what is
  modelled here (no ``swappiness`` key: file and anon alike).
* :func:`twice_cold_bytes` — what the series' proactive writeback would write back now: zswap entries that
  were already in zswap at the previous sample and were neither loaded nor written back since (their second
  cycle in zswap: "twice cold"), estimated from ``memory.stat`` counters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..kernel.constants import PAGE_SIZE

if TYPE_CHECKING:
    from .policy import TargetPolicy


def psi_percent(prev_total_us: int, cur_total_us: int, dt_s: float) -> float | None:
    """Stall time between two ``memory.pressure`` ``some total=`` readings as a percentage of ``dt_s``."""
    if dt_s <= 0 or cur_total_us < prev_total_us:
        return None
    return min(100.0, (cur_total_us - prev_total_us) / (dt_s * 1e6) * 100.0)


BRAKE = 0.5  # PSI at this fraction of the target or above is congestion (Senpai backs off at its threshold)
MAX_WINDOW_GROWTH = 2.0  # a clean cycle grows the window at most this many times (slow start ends there)


def refault_congested(refaults: float, reclaimed: float, tolerance: float) -> bool:
    """The workingset signal: more than ``tolerance`` pages came back (zswap or disk refaults) per page
    reclaimed — what is being reclaimed is no longer cold. With nothing reclaimed, any refault counts
    (the memory offloaded earlier is being pulled back)."""
    return refaults > tolerance * max(reclaimed, 1.0)


def paced_reclaim_bytes(psi_pct: float, target_pct: float, window: int, allowance: int) -> int:
    """Bytes to reclaim this cycle: ``min(window, allowance) * (1 - psi / target)``, whole pages, 0 at or above
    the target (and for a window or allowance below a page)."""
    if target_pct <= 0 or psi_pct >= target_pct or window <= 0 or allowance <= 0:
        return 0
    n = int(min(window, allowance) * (1.0 - max(0.0, psi_pct) / target_pct))
    return n - n % PAGE_SIZE


@dataclass(frozen=True)
class PacerConfig:
    """The reclaim pacer's knobs (``[target.reclaim]``, docs/agent.md §3)."""

    psi_target: float  # percent of wall time stalled (PSI some) that reclaim may cause
    probe: int  # bytes: the first cycle's window and the additive increase per clean cycle
    max_window: int = 1 << 62  # bytes: the window never grows past this (the budget per cycle)
    refault_tolerance: float = 0.25  # refaults per reclaimed page (smoothed) that mean "the cold set is exhausted"
    backoff: float = 0.5  # multiplicative decrease of the window on congestion
    max_hold: int = 64  # cycles: the longest pause after repeated congestion (the pause doubles each time)
    smoothing: float = 0.5  # weight of the past in the refault and reclaim averages (per cycle)


def refault_pages(stat: dict[str, int]) -> int | None:
    """Pages loaded back so far: ``zswpin`` (from zswap) + ``pswpin`` (from the swap device; absent from
    ``memory.stat`` before Linux 6.13: then zswap refaults only). None without ``zswpin``."""
    zin = stat.get("zswpin")
    return None if zin is None else zin + stat.get("pswpin", 0)


def pacer_config(tp: TargetPolicy) -> PacerConfig:
    """The pacer's knobs from a target's policy (``probe`` defaults to 1/16 of ``budget_per_cycle``)."""
    r = tp.reclaim
    probe = r.probe if r.probe is not None else tp.budget_per_cycle // 16
    return PacerConfig(psi_target=r.psi_target, probe=max(PAGE_SIZE, probe), max_window=tp.budget_per_cycle,
                       refault_tolerance=r.refault_tolerance, max_hold=r.max_hold)


@dataclass
class ReclaimPacer:
    """Refault-gated AIMD pacing of ``memory.reclaim`` (one per target), a TCP-like congestion control with
    refaults and stalls as the loss signal.

    Each cycle :meth:`plan` gets the pressure of the last cycle and the pages that refaulted (``zswpin`` +
    ``pswpin``) and were reclaimed over it. *Congestion* is PSI at ``BRAKE`` × the target or above, or more
    refaults per reclaimed page than ``refault_tolerance`` in the smoothed averages (exponentially weighted,
    so one quiet cycle does not hide the refaults of the cycle before — the old law oscillated so). On
    congestion the window shrinks multiplicatively (``backoff``) and nothing is reclaimed for a pause that
    doubles with each congestion not separated by a clean probe (1, 2, 4 … ``max_hold`` cycles): once the
    cold memory is reclaimed, probing again costs the hot set ever more rarely. A probe is judged at the next
    cycle, when its refaults have shown: clean, it resets the pause and, if it reclaimed its whole window,
    grows the window by ``probe`` (additive increase, at most ``MAX_WINDOW_GROWTH`` × per cycle). A cycle reclaims ``window × (1 − psi / target)`` bounded by
    the budget (:func:`paced_reclaim_bytes`), in steps; the engine ends it early when the refaults seen since
    it began cross the tolerance (:meth:`in_cycle_congested`), which counts as congestion at the next plan.
    """

    cfg: PacerConfig
    window: int = 0
    hold: int = 0
    next_hold: int = 1
    refaults_avg: float = 0.0
    reclaimed_avg: float = 0.0
    stopped_early: bool = False
    completed: bool = False  # the last cycle reclaimed its whole plan (judged at the next plan)

    def __post_init__(self) -> None:
        if self.window <= 0:
            self.window = max(PAGE_SIZE, self.cfg.probe)

    def plan(self, psi_pct: float, refaulted: int, reclaimed: int, allowance: int) -> tuple[int, str]:
        """Bytes to reclaim this cycle and why (an outcome name when 0: ``psi_above_target``, ``refaulting``,
        ``holding``, ``quota_cycle``)."""
        c = self.cfg
        a = c.smoothing
        self.refaults_avg = a * self.refaults_avg + max(0, refaulted)
        self.reclaimed_avg = a * self.reclaimed_avg + max(0, reclaimed)
        pressure = psi_pct >= BRAKE * c.psi_target
        refaulting = refault_congested(self.refaults_avg, self.reclaimed_avg, c.refault_tolerance)
        if pressure or refaulting or self.stopped_early:
            self.stopped_early = self.completed = False
            self.window = max(PAGE_SIZE, int(self.window * c.backoff))
            self.hold = self.next_hold - 1  # this cycle is the first of the pause
            self.next_hold = min(c.max_hold, 2 * self.next_hold)
            return 0, ("psi_above_target" if pressure else "refaulting")
        if reclaimed > 0:  # the last cycle reclaimed and nothing came back: that probe was clean
            self.next_hold = 1
            if self.completed:  # it reclaimed its whole window: additive increase (at most doubling)
                grown = self.window + max(PAGE_SIZE, c.probe)
                self.window = int(min(grown, MAX_WINDOW_GROWTH * self.window, max(PAGE_SIZE, c.max_window)))
        self.completed = False
        if self.hold > 0:
            self.hold -= 1
            return 0, "holding"
        n = paced_reclaim_bytes(psi_pct, c.psi_target, self.window, allowance)
        return n, ("reclaimed" if n >= PAGE_SIZE else "quota_cycle")

    def in_cycle_congested(self, refaulted: int, reclaimed: int) -> bool:
        """During a cycle: refaults since it began against the pages reclaimed in it so far. True ends the
        cycle's reclaim (and counts as congestion at the next :meth:`plan`)."""
        if refault_congested(refaulted, reclaimed, self.cfg.refault_tolerance):
            self.stopped_early = True
        return self.stopped_early

    def cycle_done(self, reclaimed: int, planned: int) -> None:
        """After a cycle's reclaim: whether it reclaimed all it planned (the window grows at the next
        :meth:`plan` if what it reclaimed then proves cold: no congestion)."""
        self.completed = planned > 0 and reclaimed >= planned and not self.stopped_early


def twice_cold_bytes(prev: dict[str, int], cur: dict[str, int]) -> int | None:
    """Compressed bytes in zswap that stayed there since the previous sample (None without the counters).

    ``zswapped`` (bytes of original pages) / PAGE_SIZE entries were in zswap at ``prev``; ``zswpin`` and
    ``zswpwb`` deltas count those that left since (a load, a writeback; new stores only add). The survivors,
    at the current average compressed size, bound what a writeback of twice-cold entries would write now."""
    try:
        pages_prev = prev["zswapped"] // PAGE_SIZE
        left = (cur["zswpin"] - prev["zswpin"]) + (cur["zswpwb"] - prev["zswpwb"])
        pages_now = cur["zswapped"] // PAGE_SIZE
        zswap_now = cur["zswap"]
    except KeyError:
        return None
    if left < 0 or pages_now <= 0:
        return 0 if pages_now <= 0 else None
    survivors = max(0, min(pages_prev - left, pages_now))
    return zswap_now * survivors // pages_now


class Step(enum.Enum):
    """What a Senpai tick decided."""

    WAIT = "wait"
    PROBE = "probe"
    BACKOFF = "backoff"


@dataclass(frozen=True)
class SenpaiConfig:
    """oomd Senpai's knobs (its defaults): one tick per second."""

    interval: int = 6  # ticks between probes
    pressure_ms: float = 10.0  # stall time per interval that is acceptable
    max_probe: float = 0.01  # at most this fraction of memory.current per probe
    coeff_probe: float = 10.0


@dataclass
class Senpai:
    """Per-cgroup Senpai state; :meth:`tick` once per second with the cgroup's PSI ``some`` total."""

    cfg: SenpaiConfig
    last_total_us: int
    cumulative_us: int = 0
    ticks: int = 0
    probes: int = 0
    probe_bytes: int = 0

    def __post_init__(self) -> None:
        self.ticks = self.cfg.interval

    def tick(self, total_us: int, current_bytes: int) -> tuple[Step, int]:
        """``Senpai::tick``: returns the decision and, for a probe, the bytes to reclaim."""
        delta = max(0, total_us - self.last_total_us)
        self.last_total_us = total_us
        self.cumulative_us += delta
        target_us = self.cfg.pressure_ms * 1000.0
        if self.cumulative_us >= target_us:
            self.ticks = self.cfg.interval  # excessive pressure: back off (memory.reclaim has no limit to raise)
            self.cumulative_us = 0
            return Step.BACKOFF, 0
        if self.ticks:
            self.ticks -= 1
            return Step.WAIT, 0
        error = target_us / max(self.cumulative_us, 1)
        factor = min((error / self.cfg.coeff_probe) ** 2 * self.cfg.max_probe, self.cfg.max_probe)
        nbytes = int(current_bytes * factor)
        nbytes -= nbytes % PAGE_SIZE
        self.ticks = self.cfg.interval
        self.cumulative_us = 0
        if nbytes <= 0:
            return Step.WAIT, 0
        self.probes += 1
        self.probe_bytes += nbytes
        return Step.PROBE, nbytes
