"""JSON-lines logging for the agent, and a "log each problem once" helper."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, TextIO

LOGGER = "zswaplab.agent"


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC), ``level``, ``event``, and the record's ``fields``.

    ``wall_clock=False`` leaves out ``ts`` (simulator runs: their ``t`` field is the simulated time, so the
    log of a run is byte-identical for the same inputs).
    """

    def __init__(self, wall_clock: bool = True) -> None:
        super().__init__()
        self.wall_clock = wall_clock

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {}
        if self.wall_clock:
            out["ts"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        out["level"] = record.levelname.lower()
        out["event"] = record.getMessage()
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, sort_keys=False, default=str)


def setup(stream: TextIO, level: str = "info", wall_clock: bool = True) -> logging.Logger:
    log = logging.getLogger(LOGGER)
    for h in list(log.handlers):
        log.removeHandler(h)
    h = logging.StreamHandler(stream)
    h.setFormatter(JsonLinesFormatter(wall_clock))
    log.addHandler(h)
    log.setLevel(level.upper())
    log.propagate = False
    return log


# ``once`` remembers at most this many problem keys (they name cgroups: with cgroup churn an unbounded set
# would grow for ever); the oldest are forgotten first, so a long-forgotten problem is warned about again
ONCE_KEYS_MAX = 4096


class EventLog:
    """Structured events; ``once`` logs a (kind, key) problem at warning level the first time only."""

    def __init__(self, logger: logging.Logger | None = None, clock: Any = None) -> None:
        self.log = logger or logging.getLogger(LOGGER)
        self.clock = clock
        self._seen: dict[tuple[Any, ...], None] = {}  # insertion-ordered: the oldest key first
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self.clock is not None:
            fields = {"t": round(self.clock(), 3), **fields}
        with self._lock:
            self.counts[event] = self.counts.get(event, 0) + 1
        self.log.log(level, event, extra={"fields": fields})

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, fields)

    def debug(self, event: str, **fields: Any) -> None:
        if self.log.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, fields)

    def once(self, key: tuple[Any, ...], event: str, **fields: Any) -> bool:
        """Log ``event`` as a warning the first time ``key`` is seen (debug afterwards); True if first."""
        with self._lock:
            first = key not in self._seen
            if first:
                self._seen[key] = None
                if len(self._seen) > ONCE_KEYS_MAX:
                    del self._seen[next(iter(self._seen))]
        if first:
            self._emit(logging.WARNING, event, fields)
        else:
            self.debug(event, repeated=True, **fields)
        return first
