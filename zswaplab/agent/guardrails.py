"""Guardrail evaluation from two samples of a cgroup (pure: no I/O).

A :class:`Sample` is what the agent reads from one cgroup at one moment (``memory.stat`` values, PSI, time).
:func:`evaluate` compares two samples of the same cgroup against :class:`~zswaplab.agent.policy.Guardrails`
and returns the trips. Event counters in ``memory.stat`` (``zswpin``, ``zswpwb``, ``pswpin``,
``workingset_refault_anon``) count pages; rates are reported in bytes/s (pages * PAGE_SIZE).
A rate guardrail whose input is missing cannot trip; it is returned in ``unavailable`` so the caller can log
it once. A PSI guardrail whose input is missing or garbled is also returned there (as ``memory.pressure``):
it also trips (``psi_unavailable``): the guardrail fails closed, since pressure is what the agent must not
raise and it cannot see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..kernel.constants import PAGE_SIZE
from .policy import Guardrails
from .stats import Pressure

PSI_INPUT = "memory.pressure"

# rate windows shorter than this carry no information (two samples taken back to back)
MIN_RATE_WINDOW_S = 0.05


class Sample(NamedTuple):
    """Immutable (a named tuple: built twice per target per step, ~3x cheaper than a frozen dataclass)."""

    t: float  # seconds (backend clock)
    stat: dict[str, int]
    psi: Pressure | None
    psi_skipped: bool = False  # memory.pressure deliberately not read for this sample


@dataclass(frozen=True)
class Trip:
    reason: str  # psi_some_avg10 | psi_some_avg60 | psi_unavailable | zswpin_rate | refault_rate | zswpwb_rate
    value: float
    threshold: float
    where: str = ""  # cgroup path (guard_scope = "children" names the child)


@dataclass
class Evaluation:
    trips: list[Trip] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    rates: dict[str, float] = field(default_factory=dict)


def counter_rate(prev: Sample, cur: Sample, key: str) -> float | None:
    """Bytes/s of page-counter ``key`` between two samples (``None`` if missing or no time passed).

    A counter that went backwards (cgroup recreated, stat reset) yields ``None``.
    """
    a, b = prev.stat.get(key), cur.stat.get(key)
    dt = cur.t - prev.t
    if a is None or b is None or dt < MIN_RATE_WINDOW_S or b < a:
        return None
    return (b - a) * PAGE_SIZE / dt


def refault_key(g: Guardrails, stat: dict[str, int]) -> str | None:
    for k in g.refault_keys:
        if k in stat:
            return k
    return None


def _rate_check(ev: Evaluation, g: Guardrails, prev: Sample, cur: Sample, reason: str, key: str | None,
                limit: float, where: str) -> None:
    b = cur.stat.get(key) if key is not None else None
    if b is None:
        ev.unavailable.append(f"memory.stat:{key or '|'.join(g.refault_keys)}")
        return
    # counter_rate(), inlined: this runs twice per target per step
    a = prev.stat.get(key)
    dt = cur.t - prev.t
    if a is None or dt < MIN_RATE_WINDOW_S or b < a:
        return
    rate = (b - a) * PAGE_SIZE / dt
    ev.rates[reason] = rate
    if rate > limit:
        ev.trips.append(Trip(reason, rate, limit, where))


def evaluate(g: Guardrails, prev: Sample | None, cur: Sample, where: str = "") -> Evaluation:
    """Trips of guardrails ``g`` for a cgroup sampled at ``prev`` then ``cur``."""
    ev = Evaluation()
    a10, a60 = g.psi_some_avg10, g.psi_some_avg60
    if (a10 is not None or a60 is not None) and not cur.psi_skipped:
        psi = cur.psi
        if psi is None:  # missing or garbled: a PSI guardrail fails closed (it trips)
            ev.unavailable.append(PSI_INPUT)
            ev.trips.append(Trip("psi_unavailable", 0.0, a10 if a10 is not None else a60 or 0.0, where))
        else:
            if a10 is not None and psi.some_avg10 > a10:
                ev.trips.append(Trip("psi_some_avg10", psi.some_avg10, a10, where))
            if a60 is not None and psi.some_avg60 > a60:
                ev.trips.append(Trip("psi_some_avg60", psi.some_avg60, a60, where))
    if prev is None:
        return ev
    if g.zswpin_rate is not None:
        _rate_check(ev, g, prev, cur, "zswpin_rate", "zswpin", g.zswpin_rate, where)
    if g.refault_rate is not None:
        _rate_check(ev, g, prev, cur, "refault_rate", refault_key(g, cur.stat), g.refault_rate, where)
    if g.zswpwb_rate is not None:
        _rate_check(ev, g, prev, cur, "zswpwb_rate", "zswpwb", g.zswpwb_rate, where)
    return ev
