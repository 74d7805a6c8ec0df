from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from zswaplab.agent import logs
from zswaplab.agent.cgroupfs import CgroupFSBackend
from zswaplab.agent.engine import Agent
from zswaplab.agent.metrics import Metrics
from zswaplab.agent.mirror import ModelTree
from zswaplab.agent.policy import loads
from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.kernel.constants import PAGE_SIZE


def psi_text(avg10: float, avg60: float = 0.0) -> str:
    line = f"avg10={avg10:.2f} avg60={avg60:.2f} avg300=0.00 total=0"
    return f"some {line}\nfull {line}\n"


class Rig:
    """The kernel model of ``profile`` mirrored into a real directory tree, the cgroupfs backend on it (writes
    answered by the model), an agent, and captured JSON logs."""

    def __init__(self, tmp: Path, profile: str = "v5") -> None:
        self.mount = tmp / "cgroup"
        self.k = Kernel(KernelConfig(profile=profile), seed=0)
        self.tree = ModelTree(self.k, self.mount)
        self.be: CgroupFSBackend | None = None
        self.stream = io.StringIO()
        logs.setup(self.stream, "debug")

    def mk(self, path: str, pages: int = 0, clen: int = 1024, *, compress: bool = True, writeback: bool = True,
           psi_some_avg10: float | None = None) -> Rig:
        """Create cgroup ``path`` (and its parents) with ``pages`` anon pages (``compress``: pushed into zswap
        with plain memory.reclaim, ``clen`` compressed bytes each)."""
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            p = "/" + "/".join(parts[:i])
            if not self.k.fs.exists(p):
                self.k.fs.mkdir(p)
        if pages:
            self.k.alloc(path, pages, clen=clen)
            if compress:
                try:
                    self.k.fs.write(path, "memory.reclaim", str(pages * PAGE_SIZE))
                except OSError:
                    pass
        if not writeback:
            self.k.fs.write(path, "memory.zswap.writeback", "0")
        if psi_some_avg10 is not None:
            self.tree.pinned[(path, "memory.pressure")] = psi_text(psi_some_avg10)
        self.tree.sync()
        return self

    def rmdir(self, path: str) -> None:
        self.k.fs.rmdir(path)
        self.tree.sync()

    def stat(self, path: str) -> dict[str, int]:
        return {k: int(v) for k, v in (x.split() for x in self.k.fs.read(path, "memory.stat").splitlines())}

    def agent(self, policy_text: str, *, dry_run: bool = False) -> Agent:
        self.be = CgroupFSBackend(str(self.mount), opener=self.tree, allow_any_fs=True)
        # no real waiting in tests: the step interval is simulated by not sleeping
        self.be.sleep = lambda seconds, stop: None  # type: ignore[method-assign]
        return Agent(loads(policy_text, "test.toml"), self.be, dry_run=dry_run, metrics=Metrics())

    def events(self, name: str | None = None, level: str | None = None) -> list[dict]:
        out = [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]
        return [e for e in out if (name is None or e["event"] == name) and (level is None or e["level"] == level)]

    def proactive_writes(self) -> list[tuple[str, str, str, str]]:
        return [w for w in self.tree.writes if not w[2].startswith("0 ")]


@pytest.fixture
def rig(tmp_path: Path):
    made: list[Rig] = []

    def make(profile: str = "v5") -> Rig:
        r = Rig(tmp_path / f"rig{len(made)}", profile)
        made.append(r)
        return r

    yield make
    for r in made:
        if r.be is not None:
            r.be.close()
    logging.getLogger(logs.LOGGER).handlers.clear()


POLICY = """
[agent]
interval = "10s"
workers = 1
[[target]]
path = "{path}"
step = "{step}"
budget_per_cycle = "{cycle}"
min_zswap = "{min_zswap}"
{extra}
"""


def policy(path: str = "/a", step: str = "64K", cycle: str = "256K", min_zswap: str = "0", extra: str = "") -> str:
    return POLICY.format(path=path, step=step, cycle=cycle, min_zswap=min_zswap, extra=extra)
