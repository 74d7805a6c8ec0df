"""Hypothesis state machine over random operation sequences on the kernel model (issue 2 §3).

Invariants after every step: every page is in exactly one place; references are at baseline; no writeback from
a writeback-disabled subtree; no cursor rests on an offline memcg; no counter is negative; memory.stat of a
parent equals its own counters plus its children's memory.stat; the hierarchical gauges agree with the stats.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from zswaplab.kernel import Kernel, KernelConfig, OOMKill, proactive_request
from zswaplab.kernel.constants import PAGE_SIZE
from zswaplab.kernel.memcg import mem_cgroup_zswap_writeback_enabled
from zswaplab.kernel.page import PageState
from zswaplab.kernel.proactive import WB_ITER
from zswaplab.kernel.writeback import shrink_worker

from .helpers import refs_at_baseline

NAMES = ["a", "b", "c", "d"]


def parse_stat(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


class ZswapMachine(RuleBasedStateMachine):
    @initialize(profile=st.sampled_from(["mainline", "6.12", "mm-new", "v1", "v3", "v4", "v5"]),
                strategy=st.sampled_from([None, "restart", "per-memcg", "batch-each-then-check"]),
                seed=st.integers(0, 3), nodes=st.integers(1, 2))
    def setup(self, profile, strategy, seed, nodes):
        self.k = Kernel(KernelConfig(profile=profile, strategy=strategy if profile[0] == "v" else None,
                                     totalram_pages=400, nr_nodes=nodes, swap_pages=5000), seed=seed)
        self.pages: list = []
        self._seen = 0
        self._disabled: set[str] = set()

    def online_paths(self) -> list[str]:
        return [m.path for m in self.k.tree.online_memcgs()]

    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def mkdir(self, data, name):
        parent = data.draw(st.sampled_from(self.online_paths()))
        path = (parent.rstrip("/") + "/" + name)
        if not self.k.fs.exists(path) and path.count("/") <= 3:
            self.k.fs.mkdir(path)

    @rule(data=st.data())
    def rmdir(self, data):
        leaves = [m.path for m in self.k.tree.online_memcgs()
                  if not m.is_root and not any(c.online() for c in m.children)]
        if leaves:
            self.k.fs.rmdir(data.draw(st.sampled_from(leaves)))

    @rule(data=st.data(), n=st.integers(1, 60), clen=st.sampled_from([0, 100, 1500, 4000, 5000]),
          nid=st.integers(0, 1))
    def alloc(self, data, n, clen, nid):
        cg = data.draw(st.sampled_from(self.online_paths()))
        try:
            self.pages += self.k.alloc(cg, n, clen=clen, nid=nid)
        except OOMKill as e:  # the model raises where the kernel would OOM-kill the task
            self.pages += e.pages

    @rule(data=st.data())
    def touch(self, data):
        live = [p for p in self.pages if p.state is not PageState.FREED]
        if live:
            try:
                self.k.touch(data.draw(st.lists(st.sampled_from(live), max_size=20)))
            except OOMKill:
                pass

    @rule(data=st.data())
    def free(self, data):
        live = [p for p in self.pages if p.state is not PageState.FREED]
        if live:
            self.k.free(data.draw(st.lists(st.sampled_from(live), max_size=10)))

    @rule(data=st.data(), kb=st.integers(0, 400))
    def reclaim(self, data, kb):
        cg = data.draw(st.sampled_from(self.online_paths()))
        try:
            self.k.fs.write(cg, "memory.reclaim", f"{kb}K")
        except OSError:
            pass

    @precondition(lambda self: self.k.params.interface is not None)
    @rule(data=st.data(), kb=st.integers(1, 400))
    def proactive(self, data, kb):
        cg = data.draw(st.sampled_from([p for p in self.online_paths() if p != "/"] or ["/"]))
        if cg == "/" and self.k.params.interface == "file":
            return
        self.k.advance(5)
        try:
            self.k.fs.write(cg, *proactive_request(self.k.config.profile, kb * 1024, age_seconds=1))
        except OSError:
            pass

    @rule(data=st.data(), limit=st.sampled_from(["0", "8K", "64K", "1M", "max"]),
          knob=st.sampled_from(["memory.zswap.max", "memory.max", "memory.zswap.writeback"]))
    def set_knob(self, data, limit, knob):
        cg = data.draw(st.sampled_from([p for p in self.online_paths() if p != "/"] or ["/"]))
        if cg == "/" and knob != "memory.zswap.writeback":
            return
        value = data.draw(st.sampled_from(["0", "1"])) if knob == "memory.zswap.writeback" else limit
        if knob == "memory.max" and value in ("0", "8K"):
            value = "1M"
        self.k.fs.write(cg, knob, value)

    @rule()
    def worker(self):
        self.k.zswap.pool_reached_full = True
        shrink_worker(self.k)

    @rule(data=st.data(), kind=st.sampled_from(["eexist", "enomem", "vanished"]))
    def inject(self, data, kind):
        z = [p for p in self.pages if p.state is PageState.ZSWAP]
        if z:
            self.k.inject_writeback(data.draw(st.sampled_from(z)).swp, kind)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def every_page_in_exactly_one_place(self):
        k = self.k
        tree = k.zswap.tree
        ram = zs = 0
        for p in k.pages.values():
            if p.state is PageState.RAM:
                ram += 1
                assert p.lru is not None and p.swp is None and p.entry is None
            elif p.state is PageState.ZSWAP:
                zs += 1
                assert p.entry is not None and tree[p.swp] is p.entry and p.entry.lru is not None
            else:
                assert p.state in (PageState.DISK, PageState.ZERO)
                assert p.swp is not None and p.swp not in tree and p.entry is None
        assert zs == len(tree) == k.zswap.stats.stored_pages == k.zswap_lru.total()
        assert ram == k.anon_lru.total() == k.stats_of(k.tree.root).anon
        assert k.swap_used == sum(1 for p in k.pages.values() if p.swp is not None)
        assert k.zswap.total_bytes == sum(e.length for e in tree.values())

    @invariant()
    def references_at_baseline_and_cursors_online(self):
        k = self.k
        assert k.zswap_next_shrink is None or k.zswap_next_shrink.online()
        for m in k.tree.all_memcgs():
            pos = m.ext.get(WB_ITER)
            assert pos is None or pos.online()
        held = dict(k.tree.ledger.held())
        cur = k.zswap_next_shrink
        if cur is not None and not cur.is_root:
            held[cur.id] -= 1
        for m in k.tree.all_memcgs():
            pos = m.ext.get(WB_ITER)
            if pos is not None and pos is not m:
                held[pos.id] -= 1
        assert all(v == 0 for v in held.values()), held

    @invariant()
    def no_writeback_while_subtree_disabled(self):
        """Writebacks done by the last step came from memcgs whose subtree had writeback enabled."""
        k = self.k
        for _t, owner, _pid, _len, _pro in k.writeback_log[self._seen:]:
            assert owner not in self._disabled, owner
        self._seen = len(k.writeback_log)
        self._disabled = {m.path for m in k.tree.online_memcgs() if not mem_cgroup_zswap_writeback_enabled(m)}

    @invariant()
    def counters_non_negative_and_hierarchy_sums(self):
        k = self.k
        for m in k.tree.all_memcgs():
            for name in m.stat.__dataclass_fields__:
                assert getattr(m.stat, name) >= 0, (m, name)
            if not m.online():
                continue
            own = m.stat
            total = parse_stat(k.fs.read(m.path, "memory.stat"))
            kids = [parse_stat(k.fs.read(c.path, "memory.stat")) for c in m.children if c.online()]
            zombies = [k.stats_of(c) for c in m.children if not c.online()]
            assert total["zswpout"] == own.zswpout + sum(c["zswpout"] for c in kids) + sum(z.zswpout for z in zombies)
            assert total["zswap"] == own.zswap_b + sum(c["zswap"] for c in kids) + sum(z.zswap_b for z in zombies)
            h = k.hier(m)
            st_ = k.stats_of(m)
            assert h.zswap_b == st_.zswap_b
            assert h.usage_b == st_.anon * PAGE_SIZE + st_.zswap_b
            assert h.swap == st_.swap


TestZswapMachine = ZswapMachine.TestCase
TestZswapMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


def test_refs_helper_after_machine_style_ops():
    k = Kernel(KernelConfig(profile="v3"), seed=1)
    k.fs.mkdir("/p")
    k.fs.mkdir("/p/a")
    k.alloc("/p/a", 100, clen=1000)
    k.fs.write("/p/a", "memory.reclaim", "400K")
    k.fs.write("/p", *proactive_request("v3", 40 * 1024))
    k.fs.rmdir("/p/a")
    assert refs_at_baseline(k)
