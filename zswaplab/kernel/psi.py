"""Pressure stall information for ``memory.pressure`` (kernel/sched/psi.c, simplified).

The model has no scheduler, so a stall is charged when a task of a cgroup waits on memory: a zswap load
(decompression) or a disk swapin, with the costs of ``KernelConfig.zswap_load_ns`` / ``disk_swapin_ns``
(assumptions, see docs/kernel-model.md). Stalls count in the memcg and every ancestor. Averages follow
``calc_avgs``: every 2 s period, ``avg = avg * e + pct * (1 - e)`` with e = exp(-2/10), exp(-2/60), exp(-2/300).
With one modelled task per cgroup, "full" equals "some".
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .constants import NSEC_PER_SEC

if TYPE_CHECKING:
    from .memcg import MemCgroup

PSI_FREQ_NS = 2 * NSEC_PER_SEC
_EXP = (math.exp(-2 / 10), math.exp(-2 / 60), math.exp(-2 / 300))


@dataclass
class PsiGroup:
    total_ns: int = 0  # cumulative stall time
    pending_ns: int = 0  # stall time in the current 2 s period
    avgs: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # percent


class Psi:
    def __init__(self) -> None:
        self.groups: dict[int, PsiGroup] = defaultdict(PsiGroup)
        self.last_update_ns = 0

    def stall(self, memcg: MemCgroup, ns: int) -> None:
        for a in memcg.ancestors():
            g = self.groups[a.id]
            g.total_ns += ns
            g.pending_ns += ns

    def advance(self, now_ns: int) -> None:
        """``psi_avgs_work`` (kernel/sched/psi.c, v4.20+): fold each elapsed 2 s period into the running averages."""
        while now_ns - self.last_update_ns >= PSI_FREQ_NS:
            self.last_update_ns += PSI_FREQ_NS
            for g in self.groups.values():
                pct = min(100.0, 100.0 * g.pending_ns / PSI_FREQ_NS)
                g.pending_ns = 0
                g.avgs = [a * e + pct * (1 - e) for a, e in zip(g.avgs, _EXP, strict=True)]

    def format(self, memcg: MemCgroup) -> str:
        """The text of ``memory.pressure`` (``psi_show``): ``some`` and ``full`` lines, total in microseconds."""
        g = self.groups.get(memcg.id) or PsiGroup()
        a10, a60, a300 = g.avgs
        total_us = g.total_ns // 1000
        line = f"avg10={a10:.2f} avg60={a60:.2f} avg300={a300:.2f} total={total_us}"
        return f"some {line}\nfull {line}\n"
