from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from zswaplab.agent import logs
from zswaplab.agent.cgroupfs import CgroupFSBackend
from zswaplab.agent.engine import Agent
from zswaplab.agent.fakefs import FakeKernel
from zswaplab.agent.metrics import Metrics
from zswaplab.agent.policy import loads


class Rig:
    """A fake cgroup mount + fake kernel + cgroupfs backend + agent, with captured JSON logs."""

    def __init__(self, tmp: Path, profile: str = "v5") -> None:
        self.mount = tmp / "cgroup"
        self.fk = FakeKernel(self.mount, profile)
        self.be: CgroupFSBackend | None = None
        self.stream = io.StringIO()
        logs.setup(self.stream, "debug")

    def agent(self, policy_text: str, *, dry_run: bool = False) -> Agent:
        self.be = CgroupFSBackend(str(self.mount), opener=self.fk, allow_any_fs=True)
        # no real waiting in tests: the step interval is simulated by not sleeping
        self.be.sleep = lambda seconds, stop: None  # type: ignore[method-assign]
        return Agent(loads(policy_text, "test.toml"), self.be, dry_run=dry_run, metrics=Metrics())

    def events(self, name: str | None = None, level: str | None = None) -> list[dict]:
        out = [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]
        return [e for e in out if (name is None or e["event"] == name) and (level is None or e["level"] == level)]

    def proactive_writes(self) -> list[tuple[str, str, str, str]]:
        return [w for w in self.fk.writes if not w[2].startswith("0 ")]


@pytest.fixture
def rig(tmp_path: Path):
    made: list[Rig] = []

    def make(profile: str = "v5") -> Rig:
        r = Rig(tmp_path, profile)
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
