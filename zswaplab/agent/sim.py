"""The ``sim`` backend: the agent drives an in-process zswaplab :class:`~zswaplab.kernel.Kernel`.

Files are read and written through the model's cgroupfs facade (``k.fs``), which raises ``OSError`` with the
errno each kernel profile returns; cgroups are tracked by memcg id; the clock is the model's simulated clock,
and :meth:`SimBackend.sleep` advances it while the scenario's workload runs, so the agent runs faster than
real time and every run is deterministic for a seed.
"""

from __future__ import annotations

import threading
from typing import Protocol

from ..kernel import Kernel
from ..kernel.memcg import MemCgroup
from .backend import Backend, CgroupRef, UnsafePath, enoent, split_path
from .interface import OWNED_FILES

SIM_TICK_S = 0.5  # the workload runs at least every this many simulated seconds


class Workload(Protocol):
    def tick(self, kernel: Kernel) -> None:
        """Run the workload's accesses due at ``kernel.clock_ns`` (called before each clock advance)."""


class SimHandle:
    def __init__(self, backend: SimBackend, ref: CgroupRef) -> None:
        self.backend, self.ref = backend, ref

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _memcg(self) -> MemCgroup:
        try:
            m = self.backend.kernel.tree.lookup(self.ref.path)
        except FileNotFoundError:
            raise enoent(self.ref.path, "cgroup removed") from None
        if m.id != self.ref.id:
            raise enoent(self.ref.path, f"cgroup {self.ref.id} was replaced by cgroup {m.id}")
        return m

    def read(self, fname: str) -> str:
        self._memcg()
        return self.backend.kernel.fs.read(self.ref.path, fname)

    def exists(self, fname: str) -> bool:
        return fname in self.backend.kernel.fs.listdir(self._memcg().path)

    def children(self) -> list[str]:
        return [c.path for c in self._memcg().children if c.online()]

    def write(self, fname: str, data: str) -> None:
        if fname not in OWNED_FILES:
            raise UnsafePath(f"refusing to write {fname!r}: the agent only writes {sorted(OWNED_FILES)}")
        self._memcg()
        self.backend.kernel.fs.write(self.ref.path, fname, data)
        self.backend.writes.append((self.backend.now(), self.ref.path, fname, data))


class SimBackend(Backend):
    name = "sim"
    threaded = False

    def __init__(self, kernel: Kernel, workload: Workload | None = None, tick_s: float = SIM_TICK_S) -> None:
        super().__init__()
        self.kernel = kernel
        self.workload = workload
        self.tick_s = tick_s
        self.writes: list[tuple[float, str, str, str]] = []

    def now(self) -> float:
        return self.kernel.clock_ns / 1e9

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        left = seconds
        while left > 1e-12 and not stop.is_set():
            dt = min(self.tick_s, left)
            if self.workload is not None:
                self.workload.tick(self.kernel)
            self.kernel.advance(dt)
            left -= dt
        if self.workload is not None:
            self.workload.tick(self.kernel)

    def walk(self, start: str = "/", max_depth: int | None = None) -> list[str]:
        try:
            top = self.kernel.tree.lookup(start)
        except FileNotFoundError:
            return []
        base = top.path.count("/") if top.path != "/" else 0
        return [m.path for m in top.subtree() if m.online()
                and (max_depth is None or (m.path.count("/") if m.path != "/" else 0) - base <= max_depth)]

    def resolve(self, path: str) -> CgroupRef:
        split_path(path)
        try:
            return CgroupRef(path, self.kernel.tree.lookup(path).id)
        except FileNotFoundError:
            raise enoent(path, "no such cgroup") from None

    def open(self, ref: CgroupRef, keep: bool = False) -> SimHandle:
        h = SimHandle(self, ref)
        h._memcg()
        return h
