"""Signal handling that never takes a lock in the handler.

The Python-level handler only appends to a list and sets plain attributes (no logging, no
``threading.Event.set()``: both take non-reentrant locks the interrupted main thread may hold — the deadlock
of issue 12, item 7). The C-level handler also writes the signal number to a pipe
(``signal.set_wakeup_fd``); a watcher thread reads it and sets the agent's stop event from an ordinary thread
context, which wakes every waiting lane. The agent logs the signals it was sent from its own loop.

SIGTERM/SIGINT: stop (the write in progress in the main thread, if any, is abandoned by raising
:class:`StepAbandoned` from the handler). SIGHUP: reload the policy before the next cycle.
:meth:`SignalWatcher.close` leaves SIGTERM/SIGINT ignored (``ignore=True``) so that a second signal during
teardown does not kill the process with the default action (exit status -15).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from .backend import StepAbandoned

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SignalWatcher:
    def __init__(self, stop: threading.Event, writing: Callable[[], bool]) -> None:
        self.stop = stop
        self.writing = writing
        self.pending: list[tuple[int, bool]] = []  # (signum, a write was in progress), drained by the agent
        self.stop_requested = False
        self.reload_requested = False
        self.count = 0
        self._old: dict[int, Any] = {}
        self._r = self._w = -1
        self._old_wakeup = -1
        self._thread: threading.Thread | None = None

    def _handler(self, signum: int, frame: object) -> None:
        self.count += 1
        if signum == signal.SIGHUP:
            self.reload_requested = True
            self.pending.append((signum, False))
            return
        self.stop_requested = True
        writing = self.writing()
        self.pending.append((signum, writing))
        if writing:
            raise StepAbandoned(signal.Signals(signum).name)

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._r, 64)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            if any(b in (int(s) for s in STOP_SIGNALS) for b in data) or self.stop_requested:
                self.stop.set()

    def install(self) -> None:
        """Install the handlers (main thread only)."""
        self._r, self._w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self._w, False)
        self._old_wakeup = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        for s in (*STOP_SIGNALS, signal.SIGHUP):
            self._old[s] = signal.signal(s, self._handler)
        self._thread = threading.Thread(target=self._watch, name="zswaplab-agent-signals", daemon=True)
        self._thread.start()

    def close(self, ignore: bool = True) -> None:
        """Uninstall; ``ignore``: SIGTERM/SIGINT/SIGHUP are ignored from now on (teardown), else restored."""
        for s, old in self._old.items():
            signal.signal(s, signal.SIG_IGN if ignore else old)
        self._old = {}
        if self._w >= 0:
            signal.set_wakeup_fd(self._old_wakeup)
            os.close(self._w)
            self._w = -1
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._r >= 0:
            os.close(self._r)
            self._r = -1
