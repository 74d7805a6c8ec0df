"""Properties: under any sequence of kernel answers the agent neither crashes nor oversteps."""

from __future__ import annotations

import errno
import io
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zswaplab.agent import logs
from zswaplab.agent.cgroupfs import CgroupFSBackend
from zswaplab.agent.engine import Agent
from zswaplab.agent.interface import OWNED_FILES
from zswaplab.agent.mirror import ModelTree
from zswaplab.agent.policy import loads
from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.kernel.constants import PAGE_SIZE
from zswaplab.kernel.profiles import PROFILES

ERRNOS = [errno.EAGAIN, errno.EINVAL, errno.EBUSY, errno.EPERM, errno.ENOENT, errno.EIO, errno.EINTR]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=st.sampled_from(list(PROFILES)),
       faults=st.lists(st.sampled_from(ERRNOS), max_size=12),
       entries=st.integers(0, 600), step_k=st.integers(1, 200), cycle_k=st.integers(1, 1024),
       cycles=st.integers(1, 3))
def test_any_fault_sequence(profile, faults, entries, step_k, cycle_k, cycles) -> None:
    logs.setup(io.StringIO(), "info")
    with tempfile.TemporaryDirectory() as tmp:
        k = Kernel(KernelConfig(profile=profile), seed=0)
        for c, n in (("/a", entries), ("/b", entries // 2)):
            k.fs.mkdir(c)
            if n:
                k.alloc(c, n, clen=1000)
                k.fs.write(c, "memory.reclaim", str(n * PAGE_SIZE))
        fk = ModelTree(k, f"{tmp}/cg")
        be = CgroupFSBackend(f"{tmp}/cg", opener=fk, allow_any_fs=True)
        be.sleep = lambda seconds, stop: None  # type: ignore[method-assign]
        pol = loads(f'[[target]]\npath = "/*"\nstep = "{step_k}K"\nbudget_per_cycle = "{cycle_k}K"\n'
                    f'eagain_retries = 2\n')
        ag = Agent(pol, be)
        ag.start()
        fk.faults[("/a", "memory.reclaim")] = list(faults)
        fk.faults[("/a", "memory.zswap.proactive_writeback")] = list(faults)
        reps = ag.run(max_cycles=cycles)
        be.close()
    assert len(reps) == cycles
    for w in fk.writes:
        assert w[1] in OWNED_FILES and w[0] in ("/", "/a", "/b")
    for rep in reps:
        for r in rep.results:
            # the budget is charged with what was written: never more than one step beyond the cycle budget
            assert r.written <= cycle_k * 1024 + max(step_k * 1024, 128 * 4096)
            assert r.steps <= 4 * -(-cycle_k // step_k) + 2 + 4
