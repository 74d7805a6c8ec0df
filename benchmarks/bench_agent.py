"""One agent cycle over 1,000 target cgroups on a directory tree rendered by the kernel model: CPU milliseconds per cycle (target < 50 ms).

Figure: CPU time of ``Agent.run_cycle()`` (discovery walk; per target: safety checks of the cgroup directory,
reads of ``memory.stat`` and ``memory.pressure``, guardrail evaluation, budget accounting, one ``write()`` of
``"64K source=zswap"`` (opened with ``O_NOFOLLOW``, checked to be a regular file), a second ``memory.stat``
sample, metrics), minus the CPU spent inside the opener that answers the write (:class:`TimedTree`). The safety checks per target and
cycle: the parent directory is opened once per cycle component by component with ``O_NOFOLLOW`` and listed
once (one ``getdents`` pass for the 1,000 siblings), the target's entry must be a real directory with the
tracked inode (else one ``fstatat`` decides), and the files are opened with ``openat`` on the descriptor kept
for the cgroup; the second sample re-reads the open ``memory.stat`` from offset 0 (``fstat`` first, so a
removed file is never read stale). See docs/agent.md, "Cost of a cycle".
Baseline ("bare I/O loop"): the same file operations per cgroup written as the shortest plain-Python loop
(``open().read()`` x3 and one ``os.write`` through the same opener), without parsing, policy or safety
checks, with the opener's CPU likewise subtracted. The ratio is the agent's overhead over bare I/O.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._measure import Stats, interleaved
from zswaplab.agent import logs
from zswaplab.agent.cgroupfs import CgroupFSBackend
from zswaplab.agent.engine import Agent
from zswaplab.agent.mirror import ModelTree
from zswaplab.agent.policy import loads
from zswaplab.common.units import parse_size
from zswaplab.kernel import Kernel, KernelConfig

N_TARGETS = 1000
CYCLES = 7  # interleaved repeats of each side

POLICY = """
[agent]
workers = 1
[[target]]
path = "/bench/*"
step = "64K"
step_interval = "0s"
budget_per_cycle = "64K"
min_zswap = "16K"
[target.guardrails]
psi_some_avg10 = 50.0
refault_rate = "64M/s"
zswpin_rate = "64M/s"
"""


class TimedTree:
    """The opener of the benchmark: the kernel model rendered the tree once (every cgroup's real files); each
    write is answered the way v5 answers a fulfilled request — its bytes are added to that cgroup's
    ``zswpwb_proactive_b`` in its ``memory.stat`` (rewritten in place) — and the CPU spent answering is
    measured, to be subtracted. (Answering through the model itself would time the model, not the agent.)"""

    def __init__(self, root: Path) -> None:
        k = Kernel(KernelConfig(profile="v5"), seed=0)
        k.fs.mkdir("/bench")
        for i in range(N_TARGETS):
            p = f"/bench/cg{i:04d}"
            k.fs.mkdir(p)
            k.alloc(p, 32, clen=1024)
            k.fs.write(p, "memory.reclaim", str(32 * 4096))
        self.root = root
        ModelTree(k, root)  # renders the files once
        self.stat: dict[str, tuple[str, str, int]] = {}
        for i in range(N_TARGETS):
            text = (root / "bench" / f"cg{i:04d}" / "memory.stat").read_text()
            head, _, rest = text.partition("zswpwb_proactive_b ")
            value, _, tail = rest.partition("\n")
            self.stat[f"/bench/cg{i:04d}"] = (head + "zswpwb_proactive_b ", "\n" + tail, int(value))
        self.cpu = 0.0

    def take_cpu(self) -> float:
        """CPU seconds spent answering writes since the last call."""
        cpu, self.cpu = self.cpu, 0.0
        return cpu

    def write(self, fd: int, data: bytes, *, path: str, fname: str) -> int:
        t = time.process_time()
        try:
            head, tail, value = self.stat[path]
            value += parse_size(data.split()[0].decode())
            self.stat[path] = (head, tail, value)
            with open(self.root / path.strip("/") / "memory.stat", "r+") as f:
                f.write(f"{head}{value}{tail}")
                f.truncate()
            return len(data)
        finally:
            self.cpu += time.process_time() - t


def build(root: Path) -> TimedTree:
    return TimedTree(root)


def agent_cycle(root: Path) -> tuple[TimedTree, Callable[[], object]]:
    """The agent on its own tree, after one untimed cycle (discovery, capability probe, first samples)."""
    fk = build(root / "agent")
    logs.setup(io.StringIO(), "info")
    be = CgroupFSBackend(str(fk.root), opener=fk, allow_any_fs=True)
    ag = Agent(loads(POLICY), be)
    ag.run_cycle()
    fk.take_cpu()  # not part of any timed cycle

    def cycle() -> object:
        rep = ag.run_cycle()
        assert len(rep.results) == N_TARGETS and all(r.written > 0 for r in rep.results), rep.results[0]
        return rep

    return fk, cycle


def bare_loop(root: Path) -> tuple[TimedTree, Callable[[], object]]:
    """The same file operations per cgroup as the shortest plain-Python loop, on a tree of its own."""
    fk = build(root / "bare")
    dirs = [fk.root / "bench" / f"cg{i:04d}" for i in range(N_TARGETS)]

    def cycle() -> object:
        for d in dirs:
            with open(d / "memory.stat") as f:
                f.read()
            with open(d / "memory.pressure") as f:
                f.read()
            fd = os.open(d / "memory.reclaim", os.O_WRONLY)
            try:
                fk.write(fd, b"64K source=zswap", path="/bench/" + d.name, fname="memory.reclaim")
            finally:
                os.close(fd)
            with open(d / "memory.stat") as f:
                f.read()
        return None

    return fk, cycle


def measure(root: Path, repeats: int = CYCLES) -> dict[str, Stats]:
    """CPU seconds per cycle of the agent and of the bare loop, interleaved, the openers' CPU subtracted."""
    (fa, agent), (fb, bare) = agent_cycle(root), bare_loop(root)
    st, _ = interleaved({"agent": agent, "bare": bare}, repeats, less={"agent": fa.take_cpu, "bare": fb.take_cpu})
    return st


def main() -> None:
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        st = measure(Path(tmp))
    agent, bare = st["agent"], st["bare"]
    print(f"agent cycle, {N_TARGETS} targets (model-rendered tree, v5): {agent.fmt(1000, 'ms CPU', 1)}; "
          f"{agent.median * 1e6 / N_TARGETS:.0f} us/target; target < 50 ms (median): "
          f"{'PASS' if agent.median < 0.050 else 'FAIL'}")
    print(f"baseline 'bare I/O loop' (same file ops, no parsing/policy/safety; interleaved): {bare.fmt(1000, 'ms CPU', 1)}")
    print(f"ratio agent / bare I/O: {agent.min / bare.min:.2f}x (best) / {agent.median / bare.median:.2f}x (median)")


if __name__ == "__main__":
    main()
