"""Differential tests: random scenarios on the oracle (``zswaplab.kernel.Kernel``) and on ``FastKernel`` with the
same seed must give identical memory.stat of every cgroup after every step, identical debugfs / event counters,
page states, writeback logs, and the same errno for every write.

``ZSWAPLAB_DIFF_EXAMPLES=N`` runs N random scenarios instead of 80."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from zswaplab.kernel import Kernel, KernelConfig, OOMKill, proactive_request
from zswaplab.kernel.profiles import PROFILES as ALL_PROFILES
from zswaplab.kernel.profiles import STRATEGIES
from zswaplab.scale.fastkernel import FastKernel, UnsupportedConfig

PROFILES = list(ALL_PROFILES)
STRATS = [None, *STRATEGIES]
FILES = ["memory.current", "memory.zswap.current", "memory.swap.current", "memory.swap.peak", "memory.pressure"]


def _clen_fn(kind: int):
    if kind == 0:
        return 1000
    if kind == 1:
        return lambda r: r.choice([0, 300, 1200, 2500, 4096, 5000])
    return lambda r: int(r.gauss(1400, 500)) % 4200


class Pair:
    def __init__(self, cfg: KernelConfig, seed: int) -> None:
        self.o = Kernel(cfg, seed=seed)
        self.f = FastKernel(cfg, seed=seed)
        self.opages: dict[int, object] = {}
        self.profile = cfg.profile

    def both(self, fn):
        res = []
        for k in (self.o, self.f):
            try:
                fn(k)
                res.append(None)
            except OSError as e:
                res.append(("errno", e.errno))
            except OOMKill as e:
                res.append(("oom", e.memcg.path, sorted(p.id for p in e.pages)))
        assert res[0] == res[1], res
        return res[0]

    def check(self, where: str) -> None:
        o, f = self.o, self.f
        paths = [m.path for m in o.tree.root.subtree() if m.online()]
        assert paths == [m.path for m in f.tree.root.subtree() if m.online()]
        for p in paths:
            assert o.fs.read(p, "memory.stat") == f.fs.read(p, "memory.stat"), (where, p)
            for file in FILES:
                if file == "memory.pressure" or p != "/":
                    assert o.fs.read(p, file) == f.fs.read(p, file), (where, p, file)
        assert o.debugfs() == f.debugfs(), where
        assert {k: v for k, v in o.counters.items() if v} == {k: v for k, v in f.counters.items() if v}, where
        assert {k: v for k, v in o.vm_events.items() if v} == {k: v for k, v in f.vm_events.items() if v}, where
        assert o.clock_ns == f.clock_ns
        assert list(o.writeback_log) == list(f.writeback_log), where
        for pid, op in self.opages.items():
            fp = f.pages.get(pid)
            if op.state.value == "freed":  # type: ignore[attr-defined]
                assert fp is None
                continue
            assert fp is not None and fp.state is op.state, (where, pid)  # type: ignore[attr-defined]
            assert fp.memcg.path == op.memcg.path  # type: ignore[attr-defined]
            if op.state.value == "zswap":  # type: ignore[attr-defined]
                assert fp.referenced == op.entry.referenced  # type: ignore[attr-defined]
            elif op.state.value == "ram":  # type: ignore[attr-defined]
                assert fp.referenced == op.referenced  # type: ignore[attr-defined]
        assert o.tree.ledger.held() == f.tree.ledger.held()


step = st.tuples(st.sampled_from([0, 1, 1, 2, 2, 3, 4, 4, 4, 5, 5, 6, 6, 7, 8, 9]), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))


@settings(max_examples=int(os.environ.get("ZSWAPLAB_DIFF_EXAMPLES", "80")), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    profile=st.sampled_from(PROFILES),
    strategy=st.sampled_from(STRATS),
    totalram=st.sampled_from([1024, 4096, 65536]),
    pool_pct=st.sampled_from([5, 20]),
    swap=st.sampled_from([300, 1 << 20]),
    batch=st.sampled_from([None, 4, 32]),
    bypass=st.sampled_from([None, True]),
    frag=st.sampled_from([1.0, 1.3]),
    thr=st.sampled_from([90, 50]),
    zswap_on=st.sampled_from([True, True, True, False]),
    seed=st.integers(0, 2**16),
    steps=st.lists(step, min_size=1, max_size=22),
)
def test_fast_core_matches_oracle(profile, strategy, totalram, pool_pct, swap, batch, bypass, frag, thr, zswap_on,
                                  seed, steps):
    if strategy is not None and ALL_PROFILES[profile].interface is None:
        strategy = None
    cfg = KernelConfig(profile=profile, totalram_pages=totalram, swap_pages=swap, max_pool_percent=pool_pct,
                       strategy=strategy, wb_batch=batch, bypass_second_chance=bypass, frag_factor=frag,
                       accept_threshold_percent=thr, zswap_enabled=zswap_on)
    pr = Pair(cfg, seed)
    rnd = random.Random(seed)
    for path in ("/p", "/p/a", "/p/b", "/q"):
        pr.both(lambda k, path=path: k.fs.mkdir(path))
    for j, path in enumerate(("/p/a", "/p/b", "/q")):
        n = 50 + (seed >> j) % 500

        def setup(k, n=n, path=path, j=j):
            got = k.alloc(path, n, clen=_clen_fn(j), tag="setup")
            if k is pr.o:
                for p in got:
                    pr.opages[p.id] = p

        pr.both(setup)
        pr.both(lambda k, path=path, n=n: k.fs.write(path, "memory.reclaim", f"{n * 4}K"))
        pr.both(lambda k: k.advance(3.0))
    pr.check("setup")
    names = 0
    for i, (op, a, b, c) in enumerate(steps):
        online = [m.path for m in pr.o.tree.root.subtree() if m.online()]
        target = online[a % len(online)]
        where = f"step {i} op {op} {target}"
        if op == 0 and len(online) < 8:
            names += 1
            path = (target.rstrip("/") + f"/c{names}")
            pr.both(lambda k, path=path: k.fs.mkdir(path))
        elif op == 1:
            n = b % 400
            kind = c % 3

            def do_alloc(k, n=n, kind=kind, target=target):
                got = k.alloc(target, n, clen=_clen_fn(kind), tag=f"t{kind}")
                if k is pr.o:
                    for p in got:
                        pr.opages[p.id] = p

            res = pr.both(do_alloc)
            if res is not None and res[0] == "oom":
                for pid in res[2]:
                    pr.opages[pid] = pr.o.pages[pid]
        elif op == 2 and pr.opages:
            ids = sorted(pr.opages)
            pick = [pid for pid in ids if rnd.random() < (b % 100) / 100]
            opicks = [pr.opages[pid] for pid in pick]
            pr.both(lambda k, pick=pick, opicks=opicks: k.touch(opicks if k is pr.o else pick))
        elif op == 3:
            size = f"{(b % 600) * 4}K"
            extra = " swappiness=0" if c % 7 == 0 else (" swappiness=60" if c % 7 == 1 else "")
            pr.both(lambda k, t=size + extra, target=target: k.fs.write(target, "memory.reclaim", t))
        elif op in (4, 5):
            nbytes = (b % 300) * 4096 + (c % 3) * 1000
            try:
                file, text = proactive_request(profile, nbytes, age_seconds=1 + c % 30)
            except ValueError:
                file, text = "memory.reclaim", f"{nbytes} zswap_writeback_only"
            pr.both(lambda k, f=file, t=text, target=target: k.fs.write(target, f, t))
        elif op == 6:
            knob = ["memory.max", "memory.zswap.max", "memory.swap.max", "memory.zswap.writeback"][b % 4]
            val = ("max" if c % 5 == 0 else f"{(c % 400) * 4}K") if knob != "memory.zswap.writeback" \
                else str(c % 2)
            pr.both(lambda k, f=knob, v=val, target=target: k.fs.write(target, f, v))
        elif op == 7 and target != "/":
            pr.both(lambda k, target=target: k.fs.rmdir(target))
        elif op == 8:
            secs = [0.5, 2.0, 7.0, 40.0][b % 4]
            pr.both(lambda k, s=secs: k.advance(s))
        elif op == 9 and pr.opages:
            ids = sorted(pr.opages)
            pick = [pid for pid in ids if rnd.random() < 0.1]
            opicks = [pr.opages[pid] for pid in pick]
            pr.both(lambda k, pick=pick, opicks=opicks: k.free(opicks if k is pr.o else pick))
        pr.check(where)
    d = pr.o.debugfs()
    event(f"written_back>0: {d['written_back_pages'] > 0}")
    event(f"pool_limit_hit>0: {d['pool_limit_hit'] > 0}")
    event(f"proactive>0: {any(e[4] for e in pr.o.writeback_log)}")
    event(f"shrink_worker ran: {pr.o.counters['shrink_worker_runs'] > 0}")


def test_unsupported_configs_raise():
    for cfg in (KernelConfig(nr_nodes=2), KernelConfig(shrinker_enabled=True), KernelConfig(memcg_disabled=True)):
        with pytest.raises(UnsupportedConfig):
            FastKernel(cfg)
    with pytest.raises(UnsupportedConfig):
        FastKernel().inject_writeback(1, "eexist")
