"""Timed contention simulation: the same cursor generators driven by a discrete-event scheduler.

C CPUs run R kernel writeback threads (``shrink_worker`` style: advance the root cursor, write back one
batch, repeat) and M userspace proactive-writeback agents (``echo "1M source=zswap" > memory.reclaim``
style: advance the target's cursor and write back batches until the budget is spent, then think). Every
atomic operation of an algorithm costs time (:class:`Costs`); a contended spinlock either spins (the
waiter burns its CPU; a random waiter wins at release) or queues (FIFO, like qspinlock).

Besides the cursor, every written-back batch uses the resources all writers share:

* the memcg's ``list_lru`` lock (``list_lru_walk_one`` isolates each entry under ``nlru->lock``) and one of
  the swap cache's address-space locks (``add_to_swap_cache`` under ``xa_lock``, one address space per 64 MB
  of swap: ``SWAP_ADDRESS_SPACE_PAGES``), each a FIFO server holding ``batch × hold`` per batch (the holds of
  one batch are lumped into one reservation: an approximation of per-entry interleaving);
* the swap device: a FIFO server of ``swap_bw_mb_s``; a writer may run ahead of it by the block layer's
  queue (``swap_queue_pages``) and otherwise waits (it keeps its CPU while throttled: an approximation, the
  kernel would sleep in ``blk_mq_get_tag``);
* the CPUs: with ``preempt`` a thread yields its CPU at ``cond_resched()`` after each batch when another
  thread is runnable (never inside a spinlock section), so a reclaim thread shares its CPU with agents once
  they outnumber the CPUs.

Output per cursor algorithm: lock-wait distribution, reclaim throughput and its regression against M = 0,
agent throughput, waits on the shared resources. Every cost default is labelled "measured" (this machine,
``zswaplab contention --calibrate``), "published" (with the source) or "assumption"; all are overridable.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .algorithms import Ctx, get_algorithm
from .state import ONLINE, ROOT, ZOMBIE, Model, Op, State, TreeShape, Violation, apply

Gen = Generator[Op, Any, Any]


@dataclass(frozen=True)
class Costs:
    """Cost model (nanoseconds unless noted). ``SOURCES`` gives the provenance of each default."""

    atomic_ns: float = 20.0
    ref_ns: float = 10.0
    lock_ns: float = 20.0
    handoff_ns: float = 100.0
    iter_step_ns: float = 60.0
    skip_offline_ns: float = 40.0
    entry_wb_ns: float = 5000.0
    batch: int = 64
    agent_syscall_ns: float = 3000.0
    agent_budget_pages: int = 256
    agent_interval_s: float = 2.0
    spinning: bool = True
    swap_bw_mb_s: float = 2000.0
    swap_queue_pages: int = 256
    lru_hold_ns: float = 50.0
    swapcache_hold_ns: float = 100.0
    swap_spaces: int = 16
    preempt: bool = True

    SOURCES = {
        "atomic_ns": "assumption: xchg/cmpxchg/load on a cache line shared between CPUs, ~20 ns",
        "ref_ns": "assumption: percpu_ref get/put/tryget on a live css is a per-CPU increment, ~10 ns",
        "lock_ns": "assumption: uncontended spin_lock + spin_unlock on a hot line, ~20 ns",
        "handoff_ns": "assumption: moving a contended lock's cache line to the next CPU, ~100 ns",
        "iter_step_ns": "assumption: one mem_cgroup_iter step (css_next_descendant_pre + css_tryget under "
                        "RCU), ~60 ns",
        "skip_offline_ns": "assumption: extra work when the step lands on an offline memcg "
                           "(failed tryget_online, loop again), ~40 ns",
        "entry_wb_ns": "assumption: writing back one zswap entry (decompress into a swap-cache folio, "
                       "submit async swap I/O), ~5 us",
        "batch": "NR_ZSWAP_WB_BATCH = 64 entries per shrink_memcg call (v4 1/5, kernel-semantics §2.4)",
        "agent_syscall_ns": "assumption: write(2) to memory.reclaim + token parsing, ~3 us",
        "agent_budget_pages": "\"1M\" per call = 256 pages (Hao's fairness runs used 1M and 6M, kernel-semantics §2.6)",
        "agent_interval_s": "2 s between calls (Hao's fairness runs: 200 calls at 2 s intervals, kernel-semantics §2.6)",
        "spinning": "spinning waiters, random winner (True) vs queued FIFO handoff like qspinlock (False)",
        "swap_bw_mb_s": "published: sequential write bandwidth of a datacenter NVMe SSD, ~2 GB/s (vendor data "
                        "sheets give 1.5-4 GB/s; a SATA SSD ~0.5 GB/s: set 500; 0 = unlimited)",
        "swap_queue_pages": "published: blk-mq default nr_requests = 2 x BLKDEV_DEFAULT_RQ = 256 requests "
                            "(block/blk-mq.c), one page each here",
        "lru_hold_ns": "assumption: list_lru lock held per isolated entry (list_lru_walk_one -> "
                       "shrink_memcg_cb up to the unlock), ~50 ns",
        "swapcache_hold_ns": "assumption: swap-cache xa_lock held per entry (add_to_swap_cache), ~100 ns",
        "swap_spaces": "kernel: one swap-cache address space per 64 MB of swap (SWAP_ADDRESS_SPACE_PAGES = "
                       "2^14 pages); 16 = a 1 GiB swap device",
        "preempt": "cond_resched() after each batch: a thread yields its CPU when another is runnable "
                   "(voluntary preemption; never inside a spinlock section)",
    }

    def labelled(self, measured: dict[str, str] | None = None) -> dict[str, str]:
        """Provenance of each field; ``measured`` (field → description) replaces the default's label."""
        out = dict(self.SOURCES)
        for k, v in (measured or {}).items():
            out[k] = v
        return out

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def override(self, assignments: list[str]) -> Costs:
        """Apply ``name=value`` overrides (bad names or values → ``ValueError`` naming the field)."""
        kw: dict[str, Any] = {}
        for a in assignments:
            if "=" not in a:
                raise ValueError(f"cost override {a!r}: expected name=value")
            k, v = a.split("=", 1)
            k = k.strip()
            if k not in self.names():
                raise ValueError(f"cost override {a!r}: unknown field {k!r}; known: {', '.join(self.names())}")
            cur = getattr(self, k)
            try:
                if isinstance(cur, bool):
                    if v.lower() not in ("true", "false", "1", "0"):
                        raise ValueError(v)
                    kw[k] = v.lower() in ("true", "1")
                elif isinstance(cur, int):
                    kw[k] = int(v)
                else:
                    kw[k] = float(v)
            except ValueError:
                raise ValueError(f"cost override {a!r}: field {k!r} needs a {type(cur).__name__}") from None
            if not isinstance(kw[k], bool) and kw[k] < 0:
                raise ValueError(f"cost override {a!r}: field {k!r} must be >= 0")
        return replace(self, **kw)


@dataclass(frozen=True)
class SimConfig:
    algorithm: str = "memcg_global_lock"
    cpus: int = 8  # assumption: a mid-size server slice
    reclaimers: int = 1  # one shrink_worker (single work item, kernel-semantics §3.1)
    agents: int = 0
    pattern: str = "different"  # "same": every agent writes the same parent; "different": one cgroup each
    children: int = 10  # children of the shared parent (Hao's fairness setup: 10 children, kernel-semantics §2.6)
    zombies: int = 0  # offline (zombie) memcgs interleaved in the tree, skipped by every walk
    duration_s: float = 2.0  # measured window, after a warm-up of 1.5 agent intervals (when there are agents)
    seed: int = 0
    costs: Costs = field(default_factory=Costs)

    def validate(self) -> None:
        get_algorithm(self.algorithm)
        if self.pattern not in ("same", "different"):
            raise ValueError(f"pattern={self.pattern!r}: expected same or different")
        for name in ("cpus", "reclaimers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 1")
        for name in ("agents", "children", "zombies"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 0")
        if self.duration_s <= 0:
            raise ValueError(f"duration_s={self.duration_s}: must be > 0")


@dataclass
class SimResult:
    config: SimConfig
    reclaim_pages: int = 0
    agent_pages: int = 0
    agent_calls: int = 0
    lock_waits_ns: list[float] = field(default_factory=list)
    reclaim_lock_waits_ns: list[float] = field(default_factory=list)
    cas_failures: int = 0
    events: int = 0
    reclaim_resource_wait_ns: dict[str, float] = field(default_factory=lambda: {
        "list_lru": 0.0, "swap_cache": 0.0, "swap_device": 0.0, "cpu": 0.0})
    agents_called: int = 0  # distinct agents that completed at least one call in the measured window

    @property
    def reclaim_throughput(self) -> float:
        """Pages written back by the kernel threads per simulated second."""
        return self.reclaim_pages / self.config.duration_s

    @property
    def agent_throughput(self) -> float:
        return self.agent_pages / self.config.duration_s

    def wait_percentiles(self, reclaim_only: bool = False) -> tuple[float, float, float]:
        w = sorted(self.reclaim_lock_waits_ns if reclaim_only else self.lock_waits_ns)
        if not w:
            return 0.0, 0.0, 0.0
        return _pct(w, 50), _pct(w, 99), w[-1]


def _pct(sorted_vals: list[float], p: float) -> float:
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * (len(sorted_vals) - 1)))))
    return sorted_vals[i]


# --------------------------------------------------------------------------------------- the tree
def build_tree(cfg: SimConfig) -> tuple[TreeShape, int, list[int], list[int]]:
    """root → parent (``children`` online children, then ``zombies`` offline ones); with the "different"
    pattern, root → one cgroup per agent as well (created after the parent's subtree).

    Returns (shape, parent index, per-agent target indices, zombie indices).
    """
    names = ["root", "parent"] + [f"parent/c{i}" for i in range(cfg.children)]
    parents: list[int | None] = [None, 0] + [1] * cfg.children
    agent_targets: list[int] = []
    if cfg.pattern == "different":
        for i in range(cfg.agents):
            names.append(f"agent{i}")
            parents.append(0)
            agent_targets.append(len(names) - 1)
    else:
        agent_targets = [1] * cfg.agents
    zombies = []
    for i in range(cfg.zombies):  # dying children of the shared parent: every walk over it skips them
        names.append(f"parent/zombie{i}")
        parents.append(1)
        zombies.append(len(names) - 1)
    return TreeShape(tuple(parents), tuple(names)), 1, agent_targets, zombies


# --------------------------------------------------------------------------------- workload programs
def reclaim_program(ctx: Ctx) -> Gen:
    """A kernel writeback thread: advance the root cursor, shrink_memcg one batch, put, forever."""
    while True:
        memcg = yield from ctx.alg.advance(ctx, ROOT)
        if memcg is not None:
            yield Op("use", memcg)
            if memcg != ROOT:
                yield Op("put", memcg)


def agent_program(ctx: Ctx, target: int, nbatches: int) -> Gen:
    """A proactive-writeback agent: think; write(2) to memory.reclaim; ``nbatches`` cursor advances and
    batches (at most 16 empty passes, MAX_RECLAIM_RETRIES); repeat."""
    while True:
        yield Op("think")
        yield Op("syscall")
        b = 0
        fails = 0
        while b < nbatches and fails < 16:
            memcg = yield from ctx.alg.advance(ctx, target)
            if memcg is None:
                fails += 1
                continue
            yield Op("use", memcg)
            if memcg != ROOT:
                yield Op("put", memcg)
            b += 1
        yield Op("done_call")


# ------------------------------------------------------------------------------------------ driver
class _Thread:
    __slots__ = ("tid", "gen", "kind", "op", "result", "wait_since", "yield_cpu", "queued_since", "calls")

    def __init__(self, tid: int, gen: Gen, kind: str) -> None:
        self.tid = tid
        self.gen = gen
        self.kind = kind
        self.op: Op | None = None
        self.result: Any = None
        self.wait_since = 0.0
        self.yield_cpu = False  # at its next step, give the CPU to a runnable thread (cond_resched)
        self.queued_since = 0.0
        self.calls = 0


class UnsafeAlgorithm(RuntimeError):
    """The algorithm violated a safety property during a timed run (check it with ``zswaplab check``)."""


def simulate(cfg: SimConfig) -> SimResult:
    """Run one timed simulation; deterministic for a given ``cfg`` (including ``seed``).

    Raises :class:`UnsafeAlgorithm` if an operation violates a safety property on the way.
    """
    try:
        return _simulate(cfg)
    except Violation as v:
        raise UnsafeAlgorithm(f"{cfg.algorithm} is not safe to time: {v} "
                              f"(see `zswaplab check {cfg.algorithm}`)") from None


def _simulate(cfg: SimConfig) -> SimResult:
    cfg.validate()
    c = cfg.costs
    rng = random.Random(cfg.seed)
    alg = get_algorithm(cfg.algorithm)
    shape, _parent, targets, zombies = build_tree(cfg)
    model = Model(shape, alg.var_specs(shape))
    ctx = Ctx(alg, model)
    nthreads = cfg.reclaimers + cfg.agents
    st = State.initial_for(shape, model.specs, nthreads)

    for z in zombies:  # zombie = offline, base reference gone, pinned by one leftover reference
        st.status[z] = ZOMBIE
        st.extra[z] = 1
    res = SimResult(cfg)
    nbatches = max(1, -(-c.agent_budget_pages // c.batch))
    threads: list[_Thread] = []
    for i in range(cfg.reclaimers):
        threads.append(_Thread(i, reclaim_program(ctx), "reclaim"))
    for k in range(cfg.agents):
        threads.append(_Thread(cfg.reclaimers + k, agent_program(ctx, targets[k], nbatches), "agent"))
    # agents start at a random phase of their interval; the measured window starts after one interval, when
    # every agent is in its steady rhythm (so even a short run sees the agents' real rate)
    warm_ns = c.agent_interval_s * 1e9 * 1.5 if cfg.agents else 0.0
    end_ns = warm_ns + cfg.duration_s * 1e9
    heap: list[tuple[float, int, int]] = []
    seq = 0
    free_cpus = cfg.cpus
    runq: deque[int] = deque()
    locks: dict[int, list[int]] = {}  # lock var → waiting tids (arrival order)

    def schedule(t: float, tid: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, tid))

    def wake(t: float, tid: int) -> None:
        nonlocal free_cpus
        if free_cpus > 0:
            free_cpus -= 1
            schedule(t, tid)
        else:
            threads[tid].queued_since = t
            runq.append(tid)

    def release_cpu(t: float) -> None:
        nonlocal free_cpus
        if runq:
            nxt = runq.popleft()
            if threads[nxt].kind == "reclaim" and t >= warm_ns:
                res.reclaim_resource_wait_ns["cpu"] += t - max(warm_ns, threads[nxt].queued_since)
            schedule(t, nxt)
        else:
            free_cpus += 1

    busy: dict[Any, float] = {}  # shared FIFO resources: key -> busy until (ns)

    def reserve(key: Any, t: float, hold: float) -> float:
        """Queue on a FIFO resource at ``t`` for ``hold`` ns; return the wait."""
        start = max(t, busy.get(key, 0.0))
        busy[key] = start + hold
        return start - t

    bw = c.swap_bw_mb_s * 1e6 / 1e9  # bytes per ns
    queue_ns = c.swap_queue_pages * 4096 / bw if bw > 0 else 0.0
    lock_vars = [i for i, sp in enumerate(model.specs) if sp.kind == "lock"]

    mean_think = c.agent_interval_s * 1e9
    for th in threads:
        th.op = _next(model, st, th, None, first=True)
        if th.kind == "reclaim":
            wake(0.0, th.tid)
        else:  # agents start thinking: their first call comes at a random phase of the interval
            schedule(rng.uniform(0, mean_think), -1 - th.tid)

    while heap:
        now, _, tid = heapq.heappop(heap)
        if now >= end_ns:
            break
        if tid < 0:  # an agent's think time is over: it needs a CPU
            th = threads[-1 - tid]
            th.op = _next(model, st, th, None)
            wake(now, th.tid)
            continue
        th = threads[tid]
        if th.yield_cpu:  # cond_resched(): another thread is runnable, let it have this CPU
            th.yield_cpu = False
            if runq:
                th.queued_since = now
                runq.append(tid)
                release_cpu(now)
                continue
        op = th.op
        assert op is not None
        res.events += 1
        k = op.kind
        cost = 0.0
        if k == "think":
            release_cpu(now)
            schedule(now + rng.uniform(0.5 * mean_think, 1.5 * mean_think), -1 - tid)
            continue
        if k == "lock":
            waiters = locks.setdefault(op.a, [])
            if st.vars[op.a] != 0:
                th.wait_since = now
                waiters.append(tid)  # spins (keeps its CPU) until handed the lock
                continue
            apply(model, st, tid, op)
            if now >= warm_ns:
                _record_wait(res, th, 0.0)
            cost = c.lock_ns
        elif k == "unlock":
            apply(model, st, tid, op)
            waiters = locks.get(op.a)
            if waiters:
                i = rng.randrange(len(waiters)) if c.spinning else 0
                w = waiters.pop(i)
                wt = threads[w]
                at = now + c.handoff_ns
                apply(model, st, w, wt.op)
                if now >= warm_ns:
                    _record_wait(res, wt, at - wt.wait_since)
                wt.op = _next(model, st, wt, None)
                schedule(at + c.lock_ns, w)
            cost = c.atomic_ns
        elif k == "syscall":
            cost = c.agent_syscall_ns
        elif k == "done_call":
            if now >= warm_ns:
                res.agent_calls += 1
                th.calls += 1
                if th.calls == 1:
                    res.agents_called += 1
        else:
            result, _ = apply(model, st, tid, op)
            th.result = result
            if k == "use":
                pages = c.batch if op.a is not None else 0
                cost = pages * c.entry_wb_ns
                if pages:
                    w_lru = reserve(("lru", op.a), now, pages * c.lru_hold_ns)
                    w_sc = reserve(("swapcache", rng.randrange(max(1, c.swap_spaces))), now + w_lru,
                                   pages * c.swapcache_hold_ns)
                    done_cpu = now + w_lru + w_sc + cost
                    w_dev = 0.0
                    if bw > 0:
                        reserve("device", now, pages * 4096 / bw)
                        w_dev = max(0.0, busy["device"] - queue_ns - done_cpu)
                    if th.kind == "reclaim" and now >= warm_ns:
                        waits = res.reclaim_resource_wait_ns
                        waits["list_lru"] += w_lru
                        waits["swap_cache"] += w_sc
                        waits["swap_device"] += w_dev
                    cost = done_cpu + w_dev - now
                    if c.preempt and not any(st.vars[v] == tid + 1 for v in lock_vars):
                        th.yield_cpu = True
                if not warm_ns <= now + cost <= end_ns:  # completes outside the measured window: not counted
                    pages = 0
                if th.kind == "reclaim":
                    res.reclaim_pages += pages
                else:
                    res.agent_pages += pages
            elif k == "iter_next":
                cost = c.iter_step_ns
                if result is not None and st.status[result] != ONLINE:
                    cost += c.skip_offline_ns
            elif k in ("get", "put", "tryget", "tryget_online", "online"):
                cost = c.ref_ns
            elif k == "cas":
                cost = c.atomic_ns
                if not result:
                    res.cas_failures += 1
            else:
                cost = c.atomic_ns
            th.op = _next(model, st, th, result)
            schedule(now + cost, tid)
            continue
        th.op = _next(model, st, th, None)
        schedule(now + cost, tid)
    return res


def _record_wait(res: SimResult, th: _Thread, wait: float) -> None:
    res.lock_waits_ns.append(wait)
    if th.kind == "reclaim":
        res.reclaim_lock_waits_ns.append(wait)


def _next(model: Model, st: State, th: _Thread, result: Any, first: bool = False) -> Op:
    op = next(th.gen) if first else th.gen.send(result)
    while op.kind == "visit":  # ghost instrumentation: no time, no effect on the timed run
        op = th.gen.send(None)
    return op


# ------------------------------------------------------------------------------------------- sweep
DEFAULT_MS = (0, 1, 12, 100, 1000)
DEFAULT_STRATEGIES = ("memcg_global_lock", "memcg_lock", "xchg_fixed")


@dataclass
class SweepRow:
    algorithm: str
    agents: int
    result: SimResult
    regression: float  # 1 - reclaim(M) / reclaim(0)


def sweep(base: SimConfig, strategies: tuple[str, ...] = DEFAULT_STRATEGIES,
          ms: tuple[int, ...] = DEFAULT_MS) -> list[SweepRow]:
    """Run every (strategy, M); regression is against the same strategy with M = 0 (same seed)."""
    rows = []
    for alg in strategies:
        ref = simulate(replace(base, algorithm=alg, agents=0)).reclaim_throughput
        for m in ms:
            r = simulate(replace(base, algorithm=alg, agents=m))
            reg = 1.0 - r.reclaim_throughput / ref if ref > 0 else 0.0
            rows.append(SweepRow(alg, m, r, reg))
    return rows


def thresholds(rows: list[SweepRow], alg: str, limit: float) -> int | None:
    """Smallest swept M whose reclaim regression exceeds ``limit`` (None: never within the sweep)."""
    for r in rows:
        if r.algorithm == alg and r.regression > limit:
            return r.agents
    return None


def vary(base: SimConfig, dim: str, value: Any) -> SimConfig:
    """``base`` with one dimension changed: ``agents``, ``children``, ``zombies``, ``cpus`` or a cost field."""
    if dim in ("agents", "children", "zombies", "cpus"):
        return replace(base, **{dim: value})
    if dim in Costs.names():
        return replace(base, costs=replace(base.costs, **{dim: value}))
    raise ValueError(f"unknown dimension {dim!r}")


def regression_curve(base: SimConfig, alg: str, dim: str, values: tuple[Any, ...]) -> list[tuple[Any, float]]:
    """Reclaim regression along one dimension: each point against the same configuration without agents."""
    out = []
    for v in values:
        cfg = replace(vary(base, dim, v), algorithm=alg)
        ref = simulate(replace(cfg, agents=0)).reclaim_throughput
        r = simulate(cfg).reclaim_throughput
        out.append((v, 1.0 - r / ref if ref > 0 else 0.0))
    return out


def onset(curve: list[tuple[Any, float]], limit: float) -> Any | None:
    """First value of a curve whose regression exceeds ``limit`` (None: never)."""
    return next((v for v, reg in curve if reg > limit), None)
