"""Budget accounting per target (pure): bytes per cycle and per sliding hour, DAMOS-style quota statistics."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

HOUR_S = 3600.0
# charges within this many seconds share one entry of the hourly window, so the window holds at most
# HOUR_S / BUCKET_S + 1 entries however often the target steps (bounded memory); a bucket is stamped with its
# latest charge, so it expires late rather than early (the hourly quota is never exceeded)
BUCKET_S = 30.0


@dataclass
class Budget:
    per_cycle: int
    per_hour: int
    used_cycle: int = 0
    _window: deque[tuple[float, int, float]] = field(default_factory=deque)  # (last charge, bytes, start)
    _window_sum: int = 0
    # DAMON_RECLAIM-like statistics
    nr_tried: int = 0
    bytes_tried: int = 0
    nr_applied: int = 0
    bytes_applied: int = 0
    qt_exceeds: int = 0

    def start_cycle(self) -> None:
        self.used_cycle = 0

    def _expire(self, now: float) -> None:
        while self._window and self._window[0][0] <= now - HOUR_S:
            self._window_sum -= self._window.popleft()[1]

    def used_hour(self, now: float) -> int:
        self._expire(now)
        return self._window_sum

    def allowance(self, now: float) -> int:
        """Bytes that may still be requested now (0 = quota exhausted)."""
        w = self._window
        if w and w[0][0] <= now - HOUR_S:
            self._expire(now)
        return max(0, min(self.per_cycle - self.used_cycle, self.per_hour - self._window_sum))

    def exhausted_by(self, now: float) -> str | None:
        """Which quota is exhausted ("cycle" or "hour"), if any."""
        if self.used_cycle >= self.per_cycle:
            return "cycle"
        if self.used_hour(now) >= self.per_hour:
            return "hour"
        return None

    def charge(self, now: float, requested: int, applied: int) -> None:
        """Account one step: ``requested`` bytes asked, ``applied`` bytes the kernel reports written.

        The budget is charged with what was applied when that is known (``applied >= 0``), else with what
        was requested, so a partial write does not consume the whole step.
        """
        used = applied if applied >= 0 else requested
        self.nr_tried += 1
        self.bytes_tried += requested
        if applied > 0:
            self.nr_applied += 1
            self.bytes_applied += applied
        self.used_cycle += used
        if used:
            w = self._window
            if w and 0.0 <= now - w[-1][2] < BUCKET_S:
                w[-1] = (now, w[-1][1] + used, w[-1][2])  # same bucket: stamped with its latest charge
            else:
                w.append((now, used, now))
            self._window_sum += used
