"""Scenarios for the ``sim`` backend.

``premature-abort`` (Hao Jia's case for a per-memcg cursor, kernel-semantics §3.5): a parent with two children, each with
``mb_per_child`` MB of anon memory pushed into zswap, half *inactive* (never touched again) and half *active*
(touched again soon after it is written back, so it refaults from disk). Within each child the inactive half
is older (stored first). An agent writing back from the parent in steps aborts when a child's refault rate
crosses its threshold. Without a cursor (v4/v5: every request restarts at the parent's first child) it drains
the first child's inactive half, then hits its active half and aborts while the second child's inactive half
is untouched; with a cursor (v1-v3) requests rotate over the children.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel import Kernel, KernelConfig
from ..kernel.constants import PAGE_SIZE
from ..kernel.page import Page, PageState

CHILDREN = ("/parent/c0", "/parent/c1")  # named as in the lab (scenario b)
CLEN = 1000  # compressed bytes per page (~4:1, a typical anon ratio)


@dataclass
class PrematureAbort:
    """Workload + model for the scenario; ``tick`` touches active pages that reached the disk."""

    profile: str = "v5"
    mb_per_child: float = 200
    seed: int = 0
    refault_delay_s: float = 0.5
    kernel: Kernel = field(init=False)
    active: dict[str, list[Page]] = field(init=False, default_factory=dict)
    inactive: dict[str, list[Page]] = field(init=False, default_factory=dict)
    _seen_on_disk: dict[int, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        pages = int(self.mb_per_child * (1 << 20)) // PAGE_SIZE
        total = 2 * pages
        k = Kernel(KernelConfig(profile=self.profile, totalram_pages=max(262_144, 8 * total),
                                swap_pages=max(1 << 20, 4 * total)), seed=self.seed)
        self.kernel = k
        k.fs.mkdir("/parent")
        for c in CHILDREN:
            k.fs.mkdir(c)
            self.inactive[c] = k.alloc(c, pages // 2, clen=CLEN)
            self.active[c] = k.alloc(c, pages - pages // 2, clen=CLEN)
        for c in CHILDREN:  # push everything into zswap (the agent's earlier compress phase)
            try:
                k.fs.write(c, "memory.reclaim", str(pages * PAGE_SIZE))
            except OSError:
                pass  # -EAGAIN: whatever could be reclaimed was

    def tick(self, kernel: Kernel) -> None:
        now = kernel.clock_ns
        delay = int(self.refault_delay_s * 1e9)
        for c in CHILDREN:
            due = []
            for p in self.active[c]:
                if p.state is PageState.DISK:
                    first = self._seen_on_disk.setdefault(p.id, now)
                    if now - first >= delay:
                        due.append(p)
                        del self._seen_on_disk[p.id]
            if due:
                kernel.touch(due)

    def summary(self) -> dict[str, dict[str, int]]:
        """Per child: pages of each half in zswap / on disk, zswpwb and pswpin (refaults) from memory.stat."""
        out: dict[str, dict[str, int]] = {}
        for c in CHILDREN:
            st = dict(line.split() for line in self.kernel.fs.read(c, "memory.stat").splitlines())
            out[c] = {
                "inactive_in_zswap": sum(p.state is PageState.ZSWAP for p in self.inactive[c]),
                "inactive_on_disk": sum(p.state is PageState.DISK for p in self.inactive[c]),
                "active_in_zswap": sum(p.state is PageState.ZSWAP for p in self.active[c]),
                "active_written": int(st.get("zswpwb", 0)) - sum(p.state is PageState.DISK for p in self.inactive[c]),
                "zswpwb": int(st.get("zswpwb", 0)),
                "pswpin": int(st.get("pswpin", 0)),
                "inactive_total": len(self.inactive[c]),
            }
        return out


SCENARIOS = {"premature-abort": PrematureAbort}
