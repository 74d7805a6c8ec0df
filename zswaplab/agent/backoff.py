"""Per-target trip/backoff/resume state machine (pure).

States: ``active`` (may run) and ``backoff`` (skipped until ``until``). A trip with action ``backoff``
enters backoff for ``initial * factor**level`` seconds (capped at ``max``) and raises the level; a trip
with ``stop-cycle`` only ends the current cycle. After ``resume_after`` consecutive clean cycles the level
decays to 0, so the next trip starts again from ``initial``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .policy import OnTrip

# the level stops growing here: backoff_factor ** level stays a finite float for every allowed factor
# (<= 1000), and the delay is capped by backoff_max long before
MAX_LEVEL = 64


@dataclass
class Backoff:
    policy: OnTrip
    level: int = 0
    until: float = 0.0
    clean_cycles: int = 0
    trips: int = 0

    @property
    def state(self) -> str:
        return "backoff" if self.until > 0 else "active"

    def may_run(self, now: float) -> bool:
        if self.until and now >= self.until:
            self.until = 0.0
        return self.until == 0.0

    def delay(self) -> float:
        return min(self.policy.backoff_max, self.policy.backoff_initial * self.policy.backoff_factor ** self.level)

    def on_trip(self, now: float) -> float:
        """Record a trip; returns the backoff delay in seconds (0 for ``stop-cycle``)."""
        self.trips += 1
        self.clean_cycles = 0
        if self.policy.action != "backoff":
            return 0.0
        d = self.delay()
        self.until = now + d
        self.level = min(self.level + 1, MAX_LEVEL)
        return d

    def on_clean_cycle(self) -> None:
        self.clean_cycles += 1
        if self.clean_cycles >= self.policy.resume_after:
            self.level = 0
