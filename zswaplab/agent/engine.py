"""The agent: discovery of target cgroups, capability detection, and the cycle loop.

One cycle visits every target (lanes: a ``sequential`` [[target]] is one lane whose cgroups are handled one
after another; every cgroup of a ``concurrent`` [[target]] is a lane of its own; at most ``agent.workers``
lanes run at once). For each target cgroup a cycle is::

    sample -> guardrails vs the previous cycle's last sample -> (trip: stop / back off)
    -> min_zswap check -> repeat { budget allowance -> one write of min(step, allowance)
                                   -> wait step_interval -> sample -> account written bytes
                                   -> guardrails (target, or each child) -> EAGAIN/error handling }

A target cycle is a generator that yields the seconds it wants to wait, so the same code runs cooperatively
(simulator: deterministic interleaving on the simulated clock; also the main-thread path on cgroupfs, where a
signal can abandon a write in progress) or in worker threads (cgroupfs with several lanes).
"""

from __future__ import annotations

import errno
import fnmatch
import signal
import threading
import time
from collections import deque
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..kernel.constants import PAGE_SIZE
from .backend import Backend, CgroupRef, StepAbandoned, UnsafePath
from .backoff import Backoff
from .budget import Budget
from .capability import Capability, detect
from .guardrails import Sample, Trip, evaluate
from .interface import MEMORY_RECLAIM, Interface
from .logs import EventLog
from .metrics import Metrics
from .policy import Policy, TargetPolicy
from .stats import parse_memory_stat, parse_pressure
from .units import format_size

Wait = Generator[float, None, Any]


def errname(e: OSError) -> str:
    return errno.errorcode.get(e.errno or 0, f"errno{e.errno}")


def glob_match(pattern: str, path: str) -> bool:
    """Component-wise glob: ``*``/``?``/``[...]`` stay within one component, ``**`` spans any depth."""
    pat = [p for p in pattern.split("/") if p]
    parts = [p for p in path.split("/") if p]

    def rec(i: int, j: int) -> bool:
        if i == len(pat):
            return j == len(parts)
        if pat[i] == "**":
            return any(rec(i + 1, k) for k in range(j, len(parts) + 1))
        return j < len(parts) and fnmatch.fnmatchcase(parts[j], pat[i]) and rec(i + 1, j + 1)

    return rec(0, 0)


@dataclass
class TargetState:
    ref: CgroupRef
    policy: TargetPolicy
    index: int  # [[target]] index in the policy
    budget: Budget
    backoff: Backoff
    last: Sample | None = None
    last_children: dict[int, Sample] = field(default_factory=dict)
    gone: bool = False
    bytes_requested: int = 0
    bytes_written: int = 0

    @property
    def label(self) -> str:
        return self.ref.path


@dataclass
class TargetResult:
    path: str
    id: int
    outcome: str = "done"
    steps: int = 0
    requested: int = 0
    written: int = 0
    eagain: int = 0
    trips: list[Trip] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class CycleReport:
    index: int
    t_start: float
    t_end: float
    cpu_seconds: float
    results: list[TargetResult]

    @property
    def written(self) -> int:
        return sum(r.written for r in self.results)

    @property
    def requested(self) -> int:
        return sum(r.requested for r in self.results)


class Agent:
    def __init__(self, policy: Policy, backend: Backend, *, dry_run: bool = False,
                 metrics: Metrics | None = None, events: EventLog | None = None,
                 stop: threading.Event | None = None) -> None:
        self.policy = policy
        self.backend = backend
        self.dry_run = dry_run
        self.metrics = metrics or Metrics()
        self.events = events or EventLog(clock=backend.now if backend.name == "sim" else None)
        self.stop = stop or threading.Event()
        self.capability: Capability | None = None
        self.states: dict[int, TargetState] = {}
        self.cycles = 0
        self.signals = 0
        self._child_paths: dict[int, str] = {}

    # ------------------------------------------------------------------ discovery and detection
    def discover(self) -> list[TargetState]:
        """Match the policy's targets against the cgroup tree; keep state of known cgroups by id."""
        try:
            all_paths = self.backend.walk()
        except OSError as e:
            self.events.once(("walk", errname(e)), "walk_failed", errno=errname(e), error=str(e))
            return list(self.states.values())
        children_of: dict[str, list[str]] = {}
        for p in all_paths:
            if p != "/":
                parent = p.rsplit("/", 1)[0] or "/"
                children_of.setdefault(parent, []).append(p)
        claimed: dict[str, int] = {}
        wanted: list[tuple[str, int]] = []
        for i, tp in enumerate(self.policy.targets):
            matched = [p for p in all_paths if glob_match(tp.path, p)]
            if tp.descendants:
                leaves = []
                for m in matched:
                    prefix = m.rstrip("/") + "/"
                    leaves += [p for p in all_paths if (p == m or p.startswith(prefix)) and p not in children_of]
                matched = leaves
            if not matched:
                self.events.once(("nomatch", i, tp.path), "target_matches_nothing", target=tp.path)
            for p in matched:
                if p in claimed:
                    if claimed[p] != i:
                        self.events.once(("dup", p), "cgroup_matched_twice", cgroup=p, used_target=claimed[p],
                                         ignored_target=i)
                    continue
                claimed[p] = i
                wanted.append((p, i))
        states: dict[int, TargetState] = {}
        for p, i in wanted:
            try:
                ref = self.backend.resolve(p)
            except UnsafePath as e:
                self.events.once(("unsafe", p), "path_refused", cgroup=p, reason=str(e))
                continue
            except OSError as e:
                self.events.once(("resolve", p, errname(e)), "cgroup_unavailable", cgroup=p, errno=errname(e))
                continue
            tp = self.policy.targets[i]
            st = self.states.get(ref.id)
            if st is None or st.index != i:
                st = TargetState(ref, tp, i, Budget(tp.budget_per_cycle, tp.budget_per_hour), Backoff(tp.on_trip))
                self.events.debug("target_added", cgroup=p, id=ref.id)
            st.ref = ref
            states[ref.id] = st
        for old_id, old in self.states.items():
            if old_id not in states:
                self.events.info("target_removed", cgroup=old.ref.path, id=old_id)
                self.metrics.forget(old.label)
        self.states = states
        self.metrics.targets.set(len(states))
        return list(states.values())

    def detect(self) -> Capability:
        cap = detect(self.backend, [st.ref for st in self.states.values()][:8], write_probes=not self.dry_run)
        self.capability = cap
        for iface in Interface:
            self.metrics.interface.labels(iface.value).set(1 if iface is cap.interface else 0)
        self.events.info("capability", interface=cap.interface.value, probe_cgroup=cap.probe_cgroup,
                         detail=cap.detail, counter=cap.counter, summary=cap.describe())
        if cap.interface is Interface.NONE:
            self.events.warning("observe_only", reason=cap.detail,
                                message="the kernel has no proactive zswap writeback interface; observing only")
        ages = [tp.age for tp in self.policy.targets if tp.age is not None]
        if ages and not cap.interface.supports_age:
            self.events.once(("age",), "age_unsupported", interface=cap.interface.value,
                             message="age threshold ignored: only memory.zswap.proactive_writeback (v1) takes one")
        return cap

    def start(self) -> Capability:
        self.discover()
        return self.detect()

    # ------------------------------------------------------------------ sampling
    def _sample(self, st: TargetState, ref: CgroupRef) -> Sample:
        with self.backend.open(ref) as cg:
            stat_text = cg.read("memory.stat")
            try:
                psi_text = cg.read("memory.pressure")
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise
                psi_text = ""  # kernel without PSI
        ms = parse_memory_stat(stat_text)
        if ms.bad_lines:
            self.events.once(("badstat", ref.id), "memory_stat_unparsed_lines", cgroup=ref.path,
                             lines=ms.bad_lines[:3])
        psi = parse_pressure(psi_text) if psi_text else None
        return Sample(self.backend.now(), ms.values, psi)

    def _written(self, before: Sample, after: Sample, st: TargetState) -> int:
        """Bytes written between two samples from the proactive counter; -1 if not measurable."""
        cap = self.capability
        key = cap.counter if cap else None
        if key is None or key not in before.stat or key not in after.stat:
            self.events.once(("nocounter", st.ref.id), "written_not_measurable", cgroup=st.ref.path,
                             counter=key, message="budget charged with requested bytes")
            return -1
        d = after.stat[key] - before.stat[key]
        if d < 0:
            return -1
        return d * PAGE_SIZE if cap and cap.counter_is_pages else d

    def _guard(self, st: TargetState, prev: Sample | None, cur: Sample, children: dict[int, Sample]) -> list[Trip]:
        g = st.policy.guardrails
        ev = evaluate(g, prev, cur, st.ref.path)
        trips = list(ev.trips)
        for what in ev.unavailable:
            self.events.once(("unavail", st.ref.id, what), "guardrail_input_missing", cgroup=st.ref.path,
                             input=what, message="this guardrail cannot trip for this cgroup")
        if st.policy.guard_scope == "children":
            for cid, csample in children.items():
                cev = evaluate(g, st.last_children.get(cid), csample, self._child_paths.get(cid, str(cid)))
                trips += cev.trips
        return trips

    def _sample_children(self, st: TargetState) -> dict[int, Sample]:
        if st.policy.guard_scope != "children":
            return {}
        out: dict[int, Sample] = {}
        try:
            with self.backend.open(st.ref) as cg:
                kids = cg.children()
        except (OSError, UnsafePath):
            return out
        for k in kids:
            try:
                ref = self.backend.resolve(k)
                out[ref.id] = self._sample(st, ref)
                self._child_paths[ref.id] = k
            except (OSError, UnsafePath):
                continue  # a child that disappears is simply not guarded any more
        return out

    # ------------------------------------------------------------------ one target, one cycle
    def _on_error(self, st: TargetState, res: TargetResult, e: OSError, what: str, request: str = "") -> None:
        name = errname(e)
        self.metrics.errors.labels(st.label, name).inc()
        if e.errno == errno.ENOENT:
            st.gone = True
            res.outcome = "gone"
            self.events.once(("gone", st.ref.id), "cgroup_gone", cgroup=st.ref.path, id=st.ref.id, during=what)
            return
        res.outcome = f"error:{name}"
        hint = {
            errno.EINVAL: "request refused (is memory.zswap.writeback 0 for this cgroup or an ancestor?)",
            errno.EBUSY: "kernel busy; retried next cycle",
            errno.EPERM: "permission denied; the agent needs CAP_SYS_ADMIN over the cgroup",
            errno.EACCES: "permission denied; the agent needs write access to the cgroup files",
        }.get(e.errno or 0, "unexpected error; retried next cycle")
        self.events.once(("err", st.ref.id, what, name), "request_failed" if request else "read_failed",
                         cgroup=st.ref.path, id=st.ref.id, errno=name, during=what, request=request, hint=hint)

    def _target_cycle(self, st: TargetState) -> Wait:
        tp = st.policy
        res = TargetResult(st.ref.path, st.ref.id)
        t0 = self.backend.now()
        if not st.backoff.may_run(t0):
            res.outcome = "backoff"
            self.metrics.backoff.labels(st.label).set(max(0.0, st.backoff.until - t0))
            return res
        self.metrics.backoff.labels(st.label).set(0)
        st.budget.start_cycle()
        cap = self.capability or Capability(Interface.NONE, "/", "not detected")
        try:
            cur = self._sample(st, st.ref)
            kids = self._sample_children(st)
        except OSError as e:
            self._on_error(st, res, e, "sample")
            return res
        trips = self._guard(st, st.last, cur, kids)
        st.last, st.last_children = cur, kids
        tripped = bool(trips)
        zsw = cur.stat.get("zswap")
        if tripped:
            pass
        elif zsw is not None and zsw < tp.min_zswap:
            res.outcome = "below_min_zswap"
        elif zsw is None and tp.min_zswap:
            self.events.once(("nozswap", st.ref.id), "zswap_size_unknown", cgroup=st.ref.path,
                             message="memory.stat has no 'zswap' key; min_zswap not enforced")
        if not tripped and res.outcome == "done" and not cap.interface.writes:
            res.outcome = "observe_only"
        if not tripped and res.outcome == "done":
            if tp.reclaim_step and not self.dry_run:
                yield from self._reclaim(st, res)
            zero_eagain = 0
            # defensive bound: the budget is charged with written bytes, so cap steps that write little
            max_steps = 4 * -(-tp.budget_per_cycle // tp.step) + tp.eagain_retries + 4
            while res.outcome == "done" and not tripped:
                if self.stop.is_set():
                    res.outcome = "stopped"
                    break
                now = self.backend.now()
                allow = st.budget.allowance(now)
                if allow <= 0:
                    which = st.budget.exhausted_by(now) or "cycle"
                    st.budget.qt_exceeds += 1
                    self.metrics.quota.labels(st.label, which).inc()
                    res.outcome = f"quota_{which}"
                    break
                req = min(tp.step, allow)
                if cap.interface is not Interface.SOURCE_ZSWAP:
                    req -= req % PAGE_SIZE  # page-unit budgets: a sub-page request is a no-op
                if req < PAGE_SIZE:
                    st.budget.qt_exceeds += 1
                    self.metrics.quota.labels(st.label, "cycle").inc()
                    res.outcome = "quota_cycle"
                    break
                if res.steps >= max_steps:
                    self.events.once(("stepcap", st.ref.id), "step_cap_reached", cgroup=st.ref.path,
                                     steps=res.steps, message="too many steps without using the budget")
                    res.outcome = "step_cap"
                    break
                fname, text = cap.interface.request(req, tp.age)
                res.steps += 1
                res.requested += req
                self.metrics.bytes_requested.labels(st.label).inc(req)
                if self.dry_run:
                    self.events.info("would_write", cgroup=st.ref.path, file=fname, text=text)
                    st.budget.charge(now, req, -1)
                    self.metrics.steps.labels(st.label, "dry_run").inc()
                    continue
                err: OSError | None = None
                abandoned = False
                try:
                    with self.backend.open(st.ref) as cg:
                        cg.write(fname, text)
                except StepAbandoned:
                    abandoned = True
                except UnsafePath as e:
                    self.events.once(("unsafe", st.ref.id), "write_refused", cgroup=st.ref.path, reason=str(e))
                    res.outcome = "refused"
                    break
                except OSError as e:
                    err = e
                if err is None and not abandoned:
                    yield tp.step_interval
                try:
                    after = self._sample(st, st.ref)
                    kids = self._sample_children(st)
                except OSError as e:
                    self._on_error(st, res, e, "sample")
                    break
                except StepAbandoned:
                    abandoned = True
                    after = cur
                written = self._written(cur, after, st)
                st.budget.charge(after.t, req, written)
                if written > 0:
                    res.written += written
                    st.bytes_written += written
                    self.metrics.bytes_written.labels(st.label).inc(written)
                st.bytes_requested += req
                trips = self._guard(st, cur, after, kids)
                st.last, st.last_children, cur = after, kids, after
                outcome = "ok"
                if abandoned:
                    outcome = res.outcome = "abandoned"
                    self.events.info("step_abandoned", cgroup=st.ref.path, request=text,
                                     written=max(written, 0))
                elif err is not None and err.errno == errno.EAGAIN:
                    outcome = "eagain"
                    res.eagain += 1
                    self.metrics.eagain.labels(st.label).inc()
                    if written > 0:
                        zero_eagain = 0
                    else:
                        zero_eagain += 1
                        if zero_eagain > tp.eagain_retries:
                            res.outcome = "exhausted"
                elif err is not None:
                    outcome = "error"
                    self._on_error(st, res, err, "write", text)
                elif written == 0:
                    outcome = "no_progress"  # accepted but nothing written (e.g. v4 rounding, v2 semantics)
                    zero_eagain += 1
                    if zero_eagain > tp.eagain_retries:
                        res.outcome = "exhausted"
                else:
                    zero_eagain = 0
                self.metrics.steps.labels(st.label, outcome).inc()
                self.events.debug("step", cgroup=st.ref.path, request=text, outcome=outcome,
                                  written=written)
                if trips:
                    tripped = True
                zsw = after.stat.get("zswap")
                if res.outcome == "done" and not tripped and zsw is not None and zsw < tp.min_zswap:
                    res.outcome = "below_min_zswap"
        if tripped:
            res.trips = trips
            res.outcome = "tripped"
            delay = st.backoff.on_trip(self.backend.now())
            for t in trips:
                self.metrics.trips.labels(st.label, t.reason).inc()
            self.events.info("guardrail_trip", cgroup=st.ref.path, action=tp.on_trip.action,
                             backoff_s=round(delay, 3), written=res.written,
                             trips=[{"reason": t.reason, "where": t.where, "value": round(t.value, 3),
                                     "threshold": t.threshold} for t in trips])
        elif res.outcome not in ("gone", "stopped", "abandoned") and not res.outcome.startswith("error"):
            st.backoff.on_clean_cycle()
        res.duration = self.backend.now() - t0
        self.metrics.cycle_seconds.labels(st.label).set(res.duration)
        return res

    def _reclaim(self, st: TargetState, res: TargetResult) -> Wait:
        """The compress phase: plain proactive reclaim of ``reclaim_step`` bytes (cold anon -> zswap)."""
        text = format_size(st.policy.reclaim_step)
        try:
            with self.backend.open(st.ref) as cg:
                cg.write(MEMORY_RECLAIM, text)
        except StepAbandoned:
            return
        except OSError as e:
            if e.errno != errno.EAGAIN:
                self.events.once(("reclaim", st.ref.id, errname(e)), "reclaim_failed", cgroup=st.ref.path,
                                 errno=errname(e))
        yield st.policy.step_interval
        try:
            st.last = self._sample(st, st.ref)
        except OSError as e:
            self._on_error(st, res, e, "sample")

    # ------------------------------------------------------------------ scheduling
    def _lane(self, states: list[TargetState]) -> Wait:
        out = []
        for st in states:
            if self.stop.is_set():
                break
            out.append((yield from self._target_cycle(st)))
        return out

    def _lanes(self) -> list[list[TargetState]]:
        lanes: dict[Any, list[TargetState]] = {}
        for st in sorted(self.states.values(), key=lambda s: (s.index, s.ref.path)):
            key = (st.index,) if st.policy.mode == "sequential" else (st.index, st.ref.id)
            lanes.setdefault(key, []).append(st)
        return list(lanes.values())

    def _run_cooperative(self, lanes: list[list[TargetState]]) -> list[TargetResult]:
        pending = deque(self._lane(lane) for lane in lanes)
        active: list[Wait] = []
        results: list[TargetResult] = []
        workers = self.policy.agent.workers
        while pending or active:
            while pending and len(active) < workers:
                active.append(pending.popleft())
            waits = []
            for g in list(active):
                try:
                    waits.append(next(g))
                except StopIteration as s:
                    results.extend(s.value)
                    active.remove(g)
            if waits:
                self.backend.sleep(max(waits), self.stop)
        return results

    def _drive(self, lane: list[TargetState]) -> list[TargetResult]:
        g = self._lane(lane)
        try:
            while True:
                self.backend.sleep(next(g), self.stop)
        except StopIteration as s:
            return s.value

    def run_cycle(self) -> CycleReport:
        if self.capability is None:
            self.start()
        else:
            self.discover()
        t0, c0 = self.backend.now(), time.process_time()
        lanes = self._lanes()
        if self.backend.threaded and self.policy.agent.workers > 1 and len(lanes) > 1:
            with ThreadPoolExecutor(self.policy.agent.workers, thread_name_prefix="zswaplab-agent") as ex:
                results = [r for rs in ex.map(self._drive, lanes) for r in rs]
        else:
            results = self._run_cooperative(lanes)
        results.sort(key=lambda r: r.path)
        rep = CycleReport(self.cycles, t0, self.backend.now(), time.process_time() - c0, results)
        self.cycles += 1
        self.metrics.cycle.observe(rep.t_end - rep.t_start)
        self.metrics.cycle_cpu.observe(rep.cpu_seconds)
        outcomes: dict[str, int] = {}
        for r in results:
            outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        self.events.info("cycle", cycle=rep.index, targets=len(results), requested=rep.requested,
                         written=rep.written, cpu_ms=round(rep.cpu_seconds * 1000, 3),
                         duration_s=round(rep.t_end - rep.t_start, 3), outcomes=outcomes)
        return rep

    def run(self, once: bool = False, max_cycles: int | None = None) -> list[CycleReport]:
        """Cycle until stopped (or once / ``max_cycles`` times); sleeps ``agent.interval`` between cycles."""
        reports = []
        while not self.stop.is_set():
            reports.append(self.run_cycle())
            if once or (max_cycles is not None and len(reports) >= max_cycles) or self.stop.is_set():
                break
            self.backend.sleep(self.policy.agent.interval, self.stop)
        self.events.info("stopped", cycles=len(reports), signals=self.signals)
        return reports

    # ------------------------------------------------------------------ signals
    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: stop after the current step; a write in progress in the main thread is abandoned."""

        def handler(signum: int, frame: object) -> None:
            self.signals += 1
            self.stop.set()
            writing = bool(getattr(self.backend.in_write, "active", False))
            self.events.info("signal", signal=signal.Signals(signum).name,
                             action="abandon the write in progress" if writing else "finish the current step")
            if writing:
                raise StepAbandoned(signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
