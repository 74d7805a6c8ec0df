"""systemd's notification protocol (``sd_notify(3)``), the few lines the agent needs, without libsystemd.

A datagram of ``KEY=VALUE`` lines is sent to the ``AF_UNIX`` socket named by ``$NOTIFY_SOCKET`` (a leading
``@`` names an abstract socket). ``READY=1`` after start-up (``Type=notify``), ``WATCHDOG=1`` at least every
half ``$WATCHDOG_USEC`` (``WatchdogSec=``), ``STOPPING=1`` when stopping, ``STATUS=`` free text. Without
``$NOTIFY_SOCKET`` (not started by systemd, or ``Type=simple``) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import threading
import time


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET", "")
        self.addr = "\0" + addr[1:] if addr.startswith("@") else addr
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        # ping at twice the rate systemd requires
        self.watchdog_s = int(usec) / 2e6 if watchdog else None
        self._last = 0.0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        if self.addr:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            except OSError:
                self._sock = None

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` as one datagram; False if there is no socket or the send failed (never raises)."""
        if self._sock is None:
            return False
        try:
            self._sock.sendto("\n".join(lines).encode(), self.addr)
        except OSError:
            return False
        return True

    def ready(self, status: str = "") -> None:
        self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def watchdog(self, now: float | None = None) -> bool:
        """``WATCHDOG=1`` if half the watchdog period passed since the last one (cheap to call often)."""
        if self.watchdog_s is None:
            return False
        t = time.monotonic() if now is None else now
        with self._lock:
            if t - self._last < self.watchdog_s / 2:
                return False
            self._last = t
        return self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
