"""The interface both backends implement, and the cgroup identity they hand out.

A backend resolves cgroup paths (``"/"`` is the mount root, ``"/a/b"`` a descendant) to a
:class:`CgroupRef` carrying the cgroup's id (inode number on cgroupfs, memcg id in the simulator). Every later
access goes through :meth:`Backend.open` with that ref, which fails with ``ENOENT`` if the cgroup is gone or
the path now names a different cgroup, so state is never applied to a recreated namesake.
"""

from __future__ import annotations

import errno
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, order=True)
class CgroupRef:
    path: str
    id: int


class UnsafePath(ValueError):
    """A path or file the agent refuses to touch (``..``, symlink, file it does not own)."""


class StepAbandoned(Exception):
    """Raised by the signal handler when SIGTERM/SIGINT interrupts a write in progress."""


def split_path(path: str) -> list[str]:
    """Components of a cgroup path; refuses ``..``, ``.``, NUL and relative paths."""
    if not path.startswith("/"):
        raise UnsafePath(f"cgroup path must be absolute (relative to the mount): {path!r}")
    parts = [p for p in path.split("/") if p]
    for p in parts:
        if p in (".", "..") or "\0" in p:
            raise UnsafePath(f"refusing path component {p!r} in {path!r}")
    return parts


def errname(e: OSError) -> str:
    """``"EAGAIN"`` for an OSError with errno EAGAIN (``errno<N>`` for an unnamed one)."""
    return errno.errorcode.get(e.errno or 0, f"errno{e.errno}")


def enoent(path: str, why: str) -> OSError:
    return OSError(errno.ENOENT, f"{why}: {path}")


class CgroupHandle(Protocol):
    ref: CgroupRef

    def read(self, fname: str) -> str: ...

    def write(self, fname: str, data: str) -> None: ...

    def exists(self, fname: str) -> bool: ...

    def children(self) -> list[str]: ...

    def __enter__(self) -> CgroupHandle: ...

    def __exit__(self, *exc: object) -> None: ...


class Backend(ABC):
    name: str = "?"
    # steps on different cgroups may run in threads (real kernel writes block)
    threaded: bool = False

    def __init__(self) -> None:
        # set by the agent while a kernel write runs in the main thread (signal -> abandon the step)
        self.in_write = threading.local()

    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    def sleep(self, seconds: float, stop: threading.Event) -> None: ...

    @abstractmethod
    def walk(self, start: str = "/", max_depth: int | None = None) -> list[str]:
        """``start`` and the cgroups below it (at most ``max_depth`` levels down), parents before children."""

    @abstractmethod
    def resolve(self, path: str) -> CgroupRef: ...

    @abstractmethod
    def open(self, ref: CgroupRef, keep: bool = False) -> CgroupHandle:
        """A handle on cgroup ``ref`` (``ENOENT`` if gone or replaced). ``keep``: the agent will open this
        cgroup again next cycle, so a backend may keep what it opened until :meth:`release`."""

    def begin_cycle(self) -> None:  # noqa: B027 - optional hook
        """An agent cycle starts: a backend may cache what all targets of the cycle share."""

    def end_cycle(self) -> None:  # noqa: B027 - optional hook
        """The agent cycle is over: drop the per-cycle caches."""

    def release(self, ref: CgroupRef) -> None:  # noqa: B027 - optional hook
        """The agent no longer tracks ``ref``: drop whatever :meth:`open` kept for it."""

    def same(self, ref: CgroupRef) -> bool:
        """Does ``ref.path`` still name cgroup ``ref.id``? (Backends may do this more cheaply.)"""
        try:
            return self.resolve(ref.path).id == ref.id
        except (OSError, UnsafePath):
            return False

    def close(self) -> None:  # noqa: B027 - optional hook
        pass
