"""Run one scenario variant on the kernel model and record what happened (:class:`RunRecord`).

Order of a run:

1. the kernel is built from ``[kernel]`` + the variant's profile/strategy/constants and the scenario seed;
2. the memcg tree is created and its knobs written (memory.max, memory.zswap.max, memory.zswap.writeback);
3. populations are allocated (the model's bulk ``alloc``, tagged with the group name) oldest first — the
   simulated clock runs from the oldest group's age down to 0 — and groups with ``where = "zswap"`` are pushed
   out with a plain memory.reclaim of their size on their memcg, so each memcg's zswap LRU holds them in
   age order;
4. the timeline runs; after every step (one proactive call, one agent step, one action) memory.stat of every
   memcg is recorded. Pages of groups with ``refault_after`` are touched that many seconds after they were
   written back (the "active" data of kernel-semantics §3.5); touching a written-back page reads it from disk, which is
   recorded as a refault.
"""

from __future__ import annotations

import heapq
import operator
import random
import time
from collections.abc import Callable
from typing import Any

from . import metrics as M
from .adapter import PAGE_SIZE, KernelSetup, ModelAdapter, errno_name, proactive_key, proactive_request
from .agentrun import request_bytes, run_agent
from .records import (
    AgentRun,
    AgentStep,
    CallRecord,
    CheckResult,
    ExpectResult,
    RefaultRecord,
    RunRecord,
    WritebackRecord,
)
from .schema import (
    AdvanceAction,
    AgentAction,
    AllocAction,
    Check,
    Compression,
    FreeAction,
    MkdirAction,
    ProactiveAction,
    ReclaimAction,
    RmdirAction,
    Scenario,
    SetAction,
    TouchAction,
    TrickleAction,
    Variant,
    WriteAction,
    expand_template,
)

Progress = Callable[[int, int], None]  # (steps done, steps total) of the current phase
Phase = Callable[[str, int], None]  # (phase name, its steps total): a new phase starts


class RunError(RuntimeError):
    """A scenario could not be executed on this model (e.g. a proactive call on a profile without one)."""


def clen_sampler(c: Compression) -> int | Callable[[random.Random], int]:
    """Compressed length in bytes per page for a ratio distribution (>= 1.0 → PAGE_SIZE, incompressible)."""

    def clamp(r: float) -> int:
        return PAGE_SIZE if r >= 1.0 else max(1, int(round(r * PAGE_SIZE)))

    if c.kind == "fixed":
        assert c.ratio is not None
        return 0 if c.ratio == 0 else clamp(c.ratio)
    if c.kind == "uniform":
        lo, hi = c.low, c.high
        return lambda rng: clamp(rng.uniform(lo, hi))  # type: ignore[arg-type]
    if c.kind == "normal":
        mu, sd = c.mean, c.stddev
        return lambda rng: clamp(max(0.0, rng.gauss(mu, sd)))  # type: ignore[arg-type]
    values = list(c.values or [])
    weights = list(c.weights) if c.weights else None
    return lambda rng: clamp(rng.choices(values, weights=weights)[0])


def count_steps(sc: Scenario) -> int:
    n = 0
    for a in sc.timeline:
        if isinstance(a, ProactiveAction | ReclaimAction):
            n += a.repeat
        elif isinstance(a, AgentAction):
            n += a.max_steps * a.cycles
        else:
            n += 1
    return n


_OPS = {">": operator.gt, ">=": operator.ge, "==": operator.eq, "<=": operator.le, "<": operator.lt,
        "!=": operator.ne}


class Runner:
    def __init__(self, variant: Variant, *, scenario_name: str, progress: Progress | None = None,
                 snapshots: bool = True, fast: bool = False, phase: Phase | None = None) -> None:
        self.fast = fast
        self.phase = phase
        self.v = variant
        self.sc = variant.scenario
        self.progress = progress
        self.take_snapshots = snapshots
        self.seed = self.sc.scenario.seed
        self.rng = random.Random(self.seed ^ 0x5A5A)
        self.groups: dict[str, list[Any]] = {}  # group name -> pages (all memcgs)
        self.refault_after: dict[str, float] = {}
        self.pending: list[tuple[int, int, int]] = []  # heap of (due_ns, seq, page_id)
        self._seq = 0
        self.wb_mark = 0
        self.step = 0
        self.steps_total = count_steps(self.sc)
        self.steps_done = 0
        self.current_call: int | None = None
        self.rec = RunRecord(
            scenario=scenario_name, variant=variant.name, axes=dict(variant.axes), profile=variant.profile,
            strategy=variant.strategy, seed=self.seed, parent=None, children=[], eligible={},
        )

    # ------------------------------------------------------------------ helpers
    def _tick(self, n: int = 1) -> None:
        self.steps_done += n
        if self.progress:
            self.progress(self.steps_done, self.steps_total)

    def _drain_writebacks(self) -> list[WritebackRecord]:
        """Turn new writeback-log entries into records and schedule refaults of "active" pages."""
        new = []
        for clock_ns, owner, pid, length, proactive in self.a.writeback_log_since(self.wb_mark):
            page = self.a.page_by_id(pid)
            group = self.a.tag(page) if page is not None else None
            r = WritebackRecord(clock_ns=clock_ns, owner=owner, page_id=pid, length=length, proactive=proactive,
                                call=self.current_call if proactive else None, group=group)
            new.append(r)
            ra = self.refault_after.get(group) if group else None
            if ra is not None:
                self._seq += 1
                heapq.heappush(self.pending, (clock_ns + int(ra * 1e9), self._seq, pid))
        self.wb_mark += len(new)
        self.rec.writebacks.extend(new)
        return new

    def _touch(self, pages: list[Any]) -> None:
        for p in self.a.touch(pages):
            self.rec.refaults.append(RefaultRecord(clock_ns=self.a.clock_ns, owner=self.a.owner(p),
                                                   page_id=self.a.page_id(p), group=self.a.tag(p)))
        self._drain_writebacks()

    def _advance(self, seconds: float) -> None:
        """Advance the clock, touching scheduled "active" pages at their due times on the way."""
        end = self.a.clock_ns + int(round(seconds * 1e9))
        while self.pending and self.pending[0][0] <= end:
            due = self.pending[0][0]
            batch = []
            while self.pending and self.pending[0][0] == due:
                _, _, pid = heapq.heappop(self.pending)
                page = self.a.page_by_id(pid)
                if page is not None and self.a.state(page) == "disk":
                    batch.append(page)
            if due > self.a.clock_ns:
                self.a.advance((due - self.a.clock_ns) / 1e9)
            if batch:
                self._touch(batch)
        if end > self.a.clock_ns:
            self.a.advance((end - self.a.clock_ns) / 1e9)
        self._drain_writebacks()

    def _snapshot(self, action: str) -> None:
        if not self.take_snapshots:
            return
        for path in self.a.memcg_paths():
            self.rec.snapshots.append({"step": self.step, "clock_ns": self.a.clock_ns, "action": action,
                                       "memcg": path, "stat": self.a.stat(path)})
        self.step += 1

    def _child_of(self, owner: str) -> str | None:
        for c in self.rec.children:
            if owner == c or owner.startswith(c + "/"):
                return c
        return None

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        sc = self.sc
        k = sc.kernel
        self.a = ModelAdapter(KernelSetup(
            profile=self.v.profile, strategy=self.v.strategy, seed=self.seed, totalram=k.totalram, swap=k.swap,
            nr_nodes=k.nr_nodes, shrinker_enabled=k.shrinker_enabled, max_pool_percent=k.max_pool_percent,
            accept_threshold_percent=k.accept_threshold_percent, wb_batch=k.wb_batch, scan_ratio=k.scan_ratio,
            bypass_second_chance=k.bypass_second_chance, fast=self.fast,
        ))
        for spec in sc.memcg:
            for path in expand_template(spec.path, spec.count):
                self.a.mkdir(path)
                if spec.memory_max is not None:
                    self._must_write(path, "memory.max", str(spec.memory_max))
                if spec.zswap_max is not None:
                    self._must_write(path, "memory.zswap.max", str(spec.zswap_max))
                if not spec.zswap_writeback:
                    self._must_write(path, "memory.zswap.writeback", "0")
        items = []
        for order, pop in enumerate(sc.population):
            for path in expand_template(pop.memcg, pop.count):
                items.append((pop, path, order))
                if pop.refault_after is not None:
                    self.refault_after[pop.name] = pop.refault_after
        zs = sorted((it for it in items if it[0].where == "zswap"), key=lambda it: (-it[0].age, it[2]))
        ram = [it for it in items if it[0].where == "ram"]
        max_age = max((it[0].age for it in items), default=0.0)
        start = self.a.clock_ns
        if self.phase:
            self.phase("setup: populations", len(items))
        for i, (pop, path, _) in enumerate(zs + ram):
            if self.progress:
                self.progress(i, len(items))
            due = start + int((max_age - pop.age) * 1e9)
            if due > self.a.clock_ns:
                self.a.advance((due - self.a.clock_ns) / 1e9)
            n = pop.pages if pop.pages is not None else (pop.size or 0) // PAGE_SIZE
            pages = self.a.alloc(path, n, clen_sampler(pop.compression or sc.compression), pop.name)
            self.groups.setdefault(pop.name, []).extend(pages)
            if pop.where == "zswap":
                self.a.push_to_zswap(path, pages)
        end = start + int(max_age * 1e9)
        if end > self.a.clock_ns:
            self.a.advance((end - self.a.clock_ns) / 1e9)
        self._drain_writebacks()
        for name, pages in self.groups.items():
            where: dict[str, int] = {}
            zbytes = 0
            for p in pages:
                st = self.a.state(p)
                where[st] = where.get(st, 0) + 1
                if st == "zswap":
                    zbytes += self.a.clen(p)
            self.rec.placement[name] = dict(sorted(where.items()))
            self.rec.zswap_bytes[name] = zbytes
        self.t0 = self.a.clock_ns
        if self.phase:
            self.phase("timeline", self.steps_total)
        self._snapshot("setup")
        self.baseline = {p: self.a.stat(p) for p in self.a.memcg_paths()}
        self.baseline_counters = self.a.counters()

    def _must_write(self, path: str, file: str, text: str) -> None:
        e = self.a.write(path, file, text)
        if e:
            raise RunError(f"{self.v.name}: writing {text!r} to {path}/{file} failed: {errno_name(e)}")

    # ------------------------------------------------------------------ metrics parent
    def _ensure_parent(self, target: str) -> None:
        if self.rec.parent is not None:
            return
        parent = self.sc.metrics.parent or target
        self.rec.parent = parent
        self.rec.children = self.a.children(parent) if self.a.exists(parent) else []
        elig = {}
        for c in self.rec.children:
            elig[c] = self.a.stat(c).get("zswap", 0) if self.a.writeback_enabled(c) else 0
        self.rec.eligible = elig

    # ------------------------------------------------------------------ actions
    def _proactive_once(self, target: str, nbytes: int, age: int, label: str) -> CallRecord:
        self._ensure_parent(target)
        try:
            file, text = proactive_request(self.v.profile, nbytes, age)
        except ValueError as e:
            raise RunError(f"{self.v.name}: {e}") from None
        self._drain_writebacks()
        err = self.a.write(target, file, text)
        return self._record_call(target, file, text, err, label)

    def _expect(self, label: str, text: str, expect: list[str] | None, err: int) -> None:
        if expect is None:
            return
        got = errno_name(err)
        self.rec.expects.append(ExpectResult(label=label, text=text, expected=list(expect), got=got,
                                             passed=got in expect))

    def _do_proactive(self, a: ProactiveAction) -> None:
        for r in range(a.repeat):
            if r:
                self._advance(a.interval)
            nbytes = self.a.zswap_current(a.target) if a.size == "zswap.current" else int(a.size)
            c = self._proactive_once(a.target, nbytes, a.age, a.label)
            self._expect(a.label or "proactive", c.text, a.expect, c.errno)
            self._snapshot(f"proactive#{c.index}")
            self._tick()

    def _do_reclaim(self, a: ReclaimAction) -> None:
        text = str(a.size) + (f" swappiness={a.swappiness}" if a.swappiness is not None else "")
        for r in range(a.repeat):
            if r:
                self._advance(a.interval)
            err = self.a.write(a.target, "memory.reclaim", text)
            self._drain_writebacks()
            self._expect(a.label or "reclaim", text, a.expect, err)
            self._snapshot("reclaim")
            self._tick()

    def _group_pages(self, group: str, memcg: str | None) -> list[Any]:
        if group not in self.groups:
            raise RunError(f"{self.v.name}: unknown page group {group!r} (define it in [[population]] or alloc)")
        pages = self.groups[group]
        if memcg is not None:
            pages = [p for p in pages if self.a.owner(p) == memcg]
        return pages

    def _do_touch(self, a: TouchAction) -> None:
        pages = [p for p in self._group_pages(a.group, a.memcg) if self.a.state(p) in a.states]
        n = int(round(len(pages) * a.fraction))
        chosen = pages if n >= len(pages) else self.rng.sample(pages, n)
        self._touch(chosen)

    def _do_agent(self, a: AgentAction) -> None:
        """``zswaplab.agent`` on this model (:mod:`zswaplab.lab.agentrun`): its writes are recorded as proactive
        calls, one :class:`AgentStep` per write; the run records where its first guardrail trip stopped it."""
        self._ensure_parent(a.target)
        wb_start = len(self.rec.writebacks)
        hooks = _AgentRecorder(self, a)
        reports = run_agent(self.a.k, a, hooks)
        hooks.finish_step()
        aborted, abort_step, abort_child, done = False, None, None, 0
        for rep in reports:
            for res in rep.results:
                if res.path == a.target and res.outcome == "tripped" and not aborted:
                    aborted, abort_step = True, done + res.steps
                    where = [t.where for t in res.trips if t.where and t.where != a.target]
                    abort_child = (where or [t.where or a.target for t in res.trips] or [None])[0]
                if res.path == a.target:
                    done += res.steps
        self._tick(max(0, a.max_steps * a.cycles - len(hooks.steps)))
        by_group_b: dict[str, int] = {}
        by_group_p: dict[str, int] = {}
        for w in self.rec.writebacks[wb_start:]:
            if w.proactive:
                g = w.group or "?"
                by_group_b[g] = by_group_b.get(g, 0) + w.length
                by_group_p[g] = by_group_p.get(g, 0) + 1
        self.rec.agents.append(AgentRun(target=a.target, threshold=a.refault_rate, steps=hooks.steps,
                                        aborted=aborted, abort_step=abort_step, abort_child=abort_child,
                                        bytes_by_group=by_group_b, pages_by_group=by_group_p,
                                        outcomes=[[r.outcome for r in rep.results] for rep in reports]))

    def _do_trickle(self, a: TrickleAction) -> None:
        clen = clen_sampler(a.compression or self.sc.compression)
        n = int(round(a.duration / a.every))
        for _ in range(n):
            self.a.alloc(a.target, a.pages, clen, "trickle")
            self.a.write(a.target, "memory.reclaim", str(a.pages * PAGE_SIZE))
            self.a.advance(a.every)
        self._drain_writebacks()
        self._snapshot("trickle")
        self._tick()

    def _run_action(self, a: Any) -> None:
        if a.profiles is not None and self.v.profile not in a.profiles:
            self._tick(a.repeat if isinstance(a, ProactiveAction | ReclaimAction) else
                       a.max_steps * a.cycles if isinstance(a, AgentAction) else 1)
            return
        if a.at is not None:
            due = self.t0 + int(a.at * 1e9)
            if due > self.a.clock_ns:
                self._advance((due - self.a.clock_ns) / 1e9)
        if isinstance(a, ProactiveAction):
            self._do_proactive(a)
        elif isinstance(a, ReclaimAction):
            self._do_reclaim(a)
        elif isinstance(a, AgentAction):
            self._do_agent(a)
        else:
            if isinstance(a, TouchAction):
                self._do_touch(a)
            elif isinstance(a, AllocAction):
                n = a.pages if a.pages is not None else (a.size or 0) // PAGE_SIZE
                pages = self.a.alloc(a.memcg, n, clen_sampler(a.compression or self.sc.compression), a.group)
                self.groups.setdefault(a.group, []).extend(pages)
            elif isinstance(a, FreeAction):
                self.a.free(self._group_pages(a.group, a.memcg))
            elif isinstance(a, MkdirAction):
                self.a.mkdir(a.path)
            elif isinstance(a, RmdirAction):
                self.a.rmdir(a.path)
            elif isinstance(a, SetAction):
                v = a.value
                text = ("1" if v else "0") if isinstance(v, bool) else str(v)
                self._must_write(a.target, a.file, text)
            elif isinstance(a, WriteAction):
                text = a.text.replace("{key}", proactive_key(self.v.profile))
                err = self.a.write(a.target, a.file, text)
                self._expect(a.label or "write", text, a.expect, err)
            elif isinstance(a, AdvanceAction):
                self._advance(a.seconds)
            elif isinstance(a, TrickleAction):
                self._do_trickle(a)
                return
            self._drain_writebacks()
            self._snapshot(a.action)
            self._tick()

    def _record_call(self, target: str, file: str, text: str, err: int, label: str) -> CallRecord:
        """Record a proactive write that just happened (its writebacks are those not yet drained)."""
        self._ensure_parent(target)
        self.current_call = len(self.rec.calls)
        new = self._drain_writebacks()
        self.current_call = None
        pages: dict[str, int] = {}
        byts: dict[str, int] = {}
        for w in new:
            if not w.proactive:
                continue
            key = self._child_of(w.owner) or w.owner
            pages[key] = pages.get(key, 0) + 1
            byts[key] = byts.get(key, 0) + w.length
        c = CallRecord(index=len(self.rec.calls), clock_ns=self.a.clock_ns, target=target, file=file, text=text,
                       errno=err, pages=pages, bytes=byts, label=label)
        self.rec.calls.append(c)
        return c

    # ------------------------------------------------------------------ checks
    def _value(self, memcg: str, stat: str, final: dict[str, dict[str, int]], counters: dict[str, int],
               delta: bool) -> int | None:
        if stat.startswith(("debugfs.", "counter.")):
            cur = counters.get(stat, 0 if stat.startswith("counter.") else None)
            base = self.baseline_counters.get(stat, 0)
        else:
            cur = final.get(memcg, {}).get(stat)
            base = self.baseline.get(memcg, {}).get(stat, 0)
        if cur is None:
            return None
        return cur - base if delta else cur

    def _checks(self, checks: list[Check]) -> None:
        final = {p: self.a.stat(p) for p in self.a.memcg_paths()}
        counters = self.a.counters()
        for c in checks:
            if c.profiles is not None and self.v.profile not in c.profiles:
                continue
            if c.call is not None:
                calls = self.rec.calls
                per = (calls[c.call].pages if c.stat == "pages" else calls[c.call].bytes) if c.call < len(calls) \
                    else None
                actual = None if per is None else sum(per.values())
            else:
                actual = self._value(c.memcg, c.stat, final, counters, c.delta)
            expected = c.value if isinstance(c.value, int) else self._value(c.memcg, c.value, final, counters,
                                                                              c.delta)
            ok = actual is not None and expected is not None and _OPS[c.op](actual, expected)
            self.rec.checks.append(CheckResult(label=c.label, memcg=c.memcg, stat=c.stat, op=c.op,
                                               expected=expected if expected is not None else -1,
                                               actual=actual, passed=ok))

    # ------------------------------------------------------------------ entry
    def run(self) -> RunRecord:
        t = time.perf_counter()
        self._setup()
        for a in self.sc.timeline:
            self._run_action(a)
        self._drain_writebacks()
        self._checks(self.sc.check)
        self.rec.counters = self.a.counters()
        self.rec.wall_seconds = time.perf_counter() - t
        if self.rec.parent is None and self.sc.metrics.parent:
            self._ensure_parent(self.sc.metrics.parent)
        return self.rec


class _AgentRecorder:
    """:class:`~zswaplab.lab.agentrun.AgentHooks` of a run: each agent write is a proactive call and opens an
    agent step; the wait after it closes the step with per-child written/refaulted pages and the refault rate
    the agent's guardrail reads (memory.stat pswpin × PAGE_SIZE per second over the step)."""

    def __init__(self, runner: Runner, a: AgentAction) -> None:
        self.r, self.a = runner, a
        self.children = list(runner.rec.children)
        self.steps: list[AgentStep] = []
        self.cum = dict.fromkeys(self.children, 0)
        self.cum_rf = dict.fromkeys(self.children, 0)
        self.agent_pages: dict[int, str] = {}
        self.refaulted: set[int] = set()
        self.wb_seen = len(runner.rec.writebacks)
        self.rf_seen = len(runner.rec.refaults)
        self.open: tuple[int, int, dict[str, int]] | None = None  # (errno, clock_ns, pswpin per child) of a step

    def _pswpin(self) -> dict[str, int]:
        return {c: self.r.a.stat(c).get("pswpin", 0) for c in self.children}

    def wrote(self, path: str, file: str, text: str, err: int) -> None:
        if request_bytes(text) == 0:
            return  # the agent's capability probe asks for nothing: not a call of the run
        self.finish_step()  # (the agent waits after each write; a failed write is followed by none)
        self.r._record_call(path, file, text, err, self.a.label or "agent")
        self.open = (err, self.r.a.clock_ns, self._pswpin())

    def wait(self, seconds: float) -> None:
        self.r._advance(seconds)
        self.finish_step()

    def finish_step(self) -> None:
        if self.open is None:
            return
        err, t0, rf0 = self.open
        self.open = None
        r = self.r
        for w in r.rec.writebacks[self.wb_seen:]:
            ch = r._child_of(w.owner) if w.proactive else None
            if ch:
                self.cum[ch] += 1
                self.agent_pages[w.page_id] = ch
                self.refaulted.discard(w.page_id)
        self.wb_seen = len(r.rec.writebacks)
        for f in r.rec.refaults[self.rf_seen:]:
            ch = self.agent_pages.get(f.page_id)
            if ch and f.page_id not in self.refaulted:
                self.refaulted.add(f.page_id)
                self.cum_rf[ch] += 1
        self.rf_seen = len(r.rec.refaults)
        dt = (r.a.clock_ns - t0) / 1e9
        rf1 = self._pswpin()
        rate = {c: ((rf1[c] - rf0[c]) * PAGE_SIZE / dt if dt > 0 else 0.0) for c in self.children}
        self.steps.append(AgentStep(step=len(self.steps) + 1, clock_ns=r.a.clock_ns, errno=err,
                                    written_pages=dict(self.cum), refaulted_pages=dict(self.cum_rf),
                                    refault_rate=rate))
        r._snapshot(f"agent#{len(self.steps)}")
        r._tick()


def metrics_of(run: RunRecord, sc: Scenario) -> dict[str, Any]:
    return M.summarize(run.calls, run.eligible, run.writebacks, run.refaults,
                       starve_k=sc.metrics.starve_k, active_window=sc.metrics.active_window)


def run_variant(variant: Variant, *, scenario_name: str, progress: Progress | None = None,
                snapshots: bool = True, fast: bool = False,
                phase: Phase | None = None) -> tuple[RunRecord, dict[str, Any]]:
    rec = Runner(variant, scenario_name=scenario_name, progress=progress, snapshots=snapshots, fast=fast,
                 phase=phase).run()
    return rec, metrics_of(rec, variant.scenario)


__all__ = ["RunError", "Runner", "clen_sampler", "count_steps", "metrics_of", "run_variant"]
