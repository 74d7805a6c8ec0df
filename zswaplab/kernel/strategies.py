"""Cursor strategies of the proactive writeback driver: one name each, used everywhere.

``KernelConfig.strategy``, the lab's scenarios and ``zswaplab run --strategy``, the profiles' defaults and
``zswaplab contention --strategy`` all use these names. Each strategy names the concurrency checker's algorithm
(``zswaplab.concurrency.algorithms.ALGORITHMS``) that implements the same cursor, so the lab's and the checker's
results speak of one thing; tests/concurrency/test_strategies.py ties each pair by running both sequentially on
the same tree. A strategy without a shared cursor (a fresh walk per call) has no checker algorithm: nothing is
shared between callers, so there is nothing to interleave.

The cursor a driver uses is chosen by ``cursor`` (``zswaplab.kernel.proactive.CURSORS``): a new strategy is an
entry here, plus a cursor class there if it walks in a new way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CursorStrategy:
    name: str
    cursor: str  # the cursor class of zswaplab.kernel.proactive.CURSORS: "restart" | "batch-each" | "per-memcg"
    checker: str | None  # the checker algorithm with the same cursor; None: no cursor shared between calls
    summary: str

    @property
    def persistent(self) -> bool:
        """A cursor kept in the memcg between calls (it needs the v1–v3 offline cleanup)."""
        return self.cursor == "per-memcg"


CURSOR_STRATEGIES: dict[str, CursorStrategy] = {
    s.name: s
    for s in (
        CursorStrategy("restart", "restart", None,
                       "a fresh mem_cgroup_iter walk from the target at every call (v4 3/5 zswap_iter_local, v5 4/6; "
                       "kernel-semantics §2.4, §2.5, §3.6)"),
        CursorStrategy("per-memcg", "per-memcg", "memcg_lock",
                       "v1–v3 zswap_wb_iter: a persistent cursor in each memcg under its own spinlock, cleaned up "
                       "by the ancestor walk at offline (kernel-semantics §2.1, §3.2)"),
        CursorStrategy("per-memcg-global-lock", "per-memcg", "memcg_global_lock",
                       "the same per-memcg cursors under the one global zswap_shrink_lock (agreed in the v3 review, "
                       "never posted; kernel-semantics §3.4)"),
        CursorStrategy("batch-each-then-check", "batch-each", None,
                       "one batch from each memcg of the subtree, then check the goal and start over (the "
                       "reviewer's alternative, kernel-semantics §3.3): a fresh walk, nothing shared"),
    )
}

STRATEGIES = tuple(CURSOR_STRATEGIES)


def strategy_of(algorithm: str) -> str | None:
    """The strategy whose cursor checker ``algorithm`` implements (None: a checker-only algorithm)."""
    return next((s.name for s in CURSOR_STRATEGIES.values() if s.checker == algorithm), None)
