"""Pure control laws for proactive reclaim on kernels without the writeback series (no I/O).

* :func:`paced_reclaim_bytes` — the agent's law: per cycle, reclaim ``budget * (1 - p / target)`` where ``p``
  is the memory pressure (PSI ``some``, percent of wall time) measured over the last cycle and ``target`` the
  pressure the policy accepts: the further pressure is below its target, the more is reclaimed; at or above
  the target nothing is. The requests go to ``memory.reclaim`` with ``swappiness=max`` (anon only, Linux 6.x
  ``user_proactive_reclaim`` where the kernel takes it; probed) so the cold memory moved is anonymous and
  lands in zswap.
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

from ..kernel.constants import PAGE_SIZE


def psi_percent(prev_total_us: int, cur_total_us: int, dt_s: float) -> float | None:
    """Stall time between two ``memory.pressure`` ``some total=`` readings as a percentage of ``dt_s``."""
    if dt_s <= 0 or cur_total_us < prev_total_us:
        return None
    return min(100.0, (cur_total_us - prev_total_us) / (dt_s * 1e6) * 100.0)


def paced_reclaim_bytes(psi_pct: float, target_pct: float, budget: int, refault_ratio: float = 0.0) -> int:
    """Bytes to reclaim this cycle: ``budget * (1 - psi / target) * (1 - refault_ratio)``, whole pages, 0 at
    or above the target. ``refault_ratio``: pages that came back from zswap over the last cycle per page
    reclaimed in it (capped at 1): reclaim that only makes the hot set refault is scaled down."""
    if target_pct <= 0 or psi_pct >= target_pct:
        return 0
    n = int(budget * (1.0 - psi_pct / target_pct) * (1.0 - min(1.0, max(0.0, refault_ratio))))
    return n - n % PAGE_SIZE


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
