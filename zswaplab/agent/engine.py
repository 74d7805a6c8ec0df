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
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from ..common.units import format_size
from ..kernel.constants import PAGE_SIZE
from .backend import Backend, CgroupHandle, CgroupRef, StepAbandoned, UnsafePath, errname
from .backoff import Backoff
from .budget import Budget
from .capability import Capability, detect, probe_swappiness
from .decide import Outcome, Step, gate, judge, max_steps, plan
from .discovery import assign, walk_paths
from .globs import glob_match, walk_scope  # noqa: F401 (re-exported)
from .guardrails import PSI_INPUT, Sample, Trip, evaluate
from .interface import MEMORY_RECLAIM, PROACTIVE_COUNTERS, Interface
from .logs import EventLog
from .metrics import Metrics
from .pacing import ReclaimPacer, pacer_config, psi_percent, refault_pages, twice_cold_bytes
from .policy import Policy, PolicyError, TargetPolicy
from .sdnotify import Notifier
from .signals import SignalWatcher
from .stats import Pressure, parse_memory_stat, parse_pressure

Wait = Generator[float, None, Any]


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
    stat_keys: frozenset[str] | None = None
    stat_hints: dict[str, int] = field(default_factory=dict)  # where parse_memory_stat found each key
    tm: Any = None  # the target's bound metric children (Metrics.target)
    backoff_gauge: bool = True
    paced: bool = False  # PSI-paced reclaim: memory.pressure is read every cycle
    psi_mark: tuple[float, int] | None = None  # (time, PSI some total µs) of the last pacing measurement
    refault_mark: int | None = None  # memory.stat zswpin + pswpin at the last pacing measurement
    reclaimed_pages: int = 0  # asked of memory.reclaim since the last pacing measurement
    pacer: ReclaimPacer | None = None  # the reclaim law's state (pacing.ReclaimPacer), made at first use

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
    twice_cold: int | None = None  # bytes in zswap since the previous cycle (pacing.twice_cold_bytes)
    psi_pct: float | None = None  # PSI some over the last cycle (paced reclaim)
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
                 stop: threading.Event | None = None, notifier: Notifier | None = None) -> None:
        self.policy = policy
        self.backend = backend
        self.dry_run = dry_run
        self.metrics = metrics or Metrics()
        self.events = events or EventLog(clock=backend.now if backend.name == "sim" else None)
        self.stop = stop or threading.Event()
        self.capability: Capability | None = None
        self.states: dict[int, TargetState] = {}
        self.cycles = 0
        self._child_paths: dict[int, str] = {}
        self._parsed: set[int] = set()
        self.notifier = notifier or Notifier({})
        self.watcher: SignalWatcher | None = None
        # SIGHUP: called before the next cycle; returns the new policy (raises PolicyError to keep the old)
        self.reloader: Callable[[], Policy] | None = None
        self.last_report: CycleReport | None = None

    # ------------------------------------------------------------------ discovery and detection
    def discover(self) -> list[TargetState]:
        """Match the policy's targets against the cgroup tree; keep state of known cgroups by id."""
        targets = self.policy.targets
        paths = walk_paths(targets, self.backend.walk, lambda e: self.events.once(
            ("walk", errname(e)), "walk_failed", errno=errname(e), error=str(e)))
        found = assign(targets, paths)
        for i in found.unmatched:
            self.events.once(("nomatch", i, targets[i].path), "target_matches_nothing", target=targets[i].path)
        for p, used, ignored in found.duplicates:
            self.events.once(("dup", p), "cgroup_matched_twice", cgroup=p, used_target=used, ignored_target=ignored)
        wanted = found.wanted
        states: dict[int, TargetState] = {}
        known = {st.ref.path: st for st in self.states.values() if not st.gone}
        for p, i in wanted:
            k = known.get(p)
            tp = self.policy.targets[i]
            if k is not None and k.index == i and (k.policy is tp or k.policy == tp) and (
                    k.backoff.until == 0.0 or self.backend.same(k.ref)):
                k.policy = tp
                # known cgroups are not re-resolved: each cycle's open() re-checks the inode on the
                # directory descriptor (a replaced cgroup is reported gone and picked up at the next
                # discovery); targets in backoff, which are not opened, get a cheap identity check here
                states[k.ref.id] = k
                continue
            try:
                ref = self.backend.resolve(p)
            except UnsafePath as e:
                self.events.once(("unsafe", p), "path_refused", cgroup=p, reason=str(e))
                continue
            except OSError as e:
                self.events.once(("resolve", p, errname(e)), "cgroup_unavailable", cgroup=p, errno=errname(e))
                continue
            st = self.states.get(ref.id)
            if st is None or st.index != i or st.policy != tp:
                st = TargetState(ref, tp, i, Budget(tp.budget_per_cycle, tp.budget_per_hour), Backoff(tp.on_trip))
                self.events.debug("target_added", cgroup=p, id=ref.id)
            st.ref = ref
            st.tm = self.metrics.target(st.label, tp.label)
            states[ref.id] = st
        for old_id, old in self.states.items():
            if old_id not in states:
                self.events.info("target_removed", cgroup=old.ref.path, id=old_id)
                self.metrics.forget(old.label)
                self.backend.release(old.ref)
        self.states = states
        # per-cgroup caches hold only what is tracked now (cgroup churn must not grow them)
        live = set(states)
        for st in states.values():
            live.update(st.last_children)
        self._parsed &= live
        self._child_paths = {c: p for c, p in self._child_paths.items() if c in live}
        self.metrics.targets.set(len(states))
        return list(states.values())

    def detect(self) -> Capability:
        cap = detect(self.backend, [st.ref for st in self.states.values()][:8], write_probes=not self.dry_run)
        self.capability = cap
        for iface in Interface:
            self.metrics.interface.labels(iface.value).set(1 if iface is cap.interface else 0)
        self.events.info("capability", interface=cap.interface.value, probe_cgroup=cap.probe_cgroup,
                         detail=cap.detail, counter=cap.counter, summary=cap.describe())
        reclaimers = [tp for tp in self.policy.targets if self._action(tp) == "reclaim"]
        if reclaimers:
            ref = self._probe_ref(cap)
            key, detail = probe_swappiness(self.backend, ref, write_probes=not self.dry_run)
            cap = self.capability = replace(cap, reclaim_key=key)
            self.events.info("reclaim_capability", probe_cgroup=ref.path, key=key or None, detail=detail)
        if cap.interface is Interface.NONE:
            if reclaimers:
                self.events.warning("no_writeback_interface", reason=cap.detail,
                                    message="the kernel has no proactive zswap writeback interface: PSI-paced "
                                            "memory.reclaim moves cold anon memory into zswap; twice-cold "
                                            "memory (what writeback would take) is reported")
            else:
                self.events.warning("observe_only", reason=cap.detail,
                                    message="the kernel has no proactive zswap writeback interface; observing only")
        ages = [tp.age for tp in self.policy.targets if tp.age is not None]
        if ages and not cap.interface.supports_age:
            self.events.once(("age",), "age_unsupported", interface=cap.interface.value,
                             message="age threshold ignored: only memory.zswap.proactive_writeback (v1) takes one")
        return cap

    def _probe_ref(self, cap: Capability) -> CgroupRef:
        for st in self.states.values():
            if st.ref.path == cap.probe_cgroup:
                return st.ref
        refs = [st.ref for st in self.states.values()]
        return refs[0] if refs else self.backend.resolve("/")

    def _action(self, tp: TargetPolicy) -> str:
        """What the agent does to a target: "writeback", "reclaim" or "observe" ("auto" resolved against the
        detected interface; before detection, "auto" counts as both writeback and reclaim)."""
        if tp.action != "auto":
            return tp.action
        cap = self.capability
        if cap is None:
            return "reclaim"
        return "writeback" if cap.interface.writes else "reclaim"

    def start(self) -> Capability:
        self.discover()
        return self.detect()

    # ------------------------------------------------------------------ sampling
    def _read_psi(self, st: TargetState, cg: CgroupHandle) -> Pressure | None:
        try:
            text = cg.read("memory.pressure")
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
            return None  # kernel without PSI (reported as a missing guardrail input)
        return parse_pressure(text)

    def _sample(self, st: TargetState, ref: CgroupRef, cg: CgroupHandle | None = None, psi: bool = True) -> Sample:
        """Read ``memory.stat`` (and ``memory.pressure`` if a PSI guardrail is set and ``psi``)."""
        if cg is None:
            with self.backend.open(ref) as h:
                return self._sample(st, ref, h, psi)
        stat_text = cg.read("memory.stat")
        g = st.policy.guardrails
        wants_psi = g.psi_some_avg10 is not None or g.psi_some_avg60 is not None or st.paced
        pressure = self._read_psi(st, cg) if wants_psi and psi else None
        # the first sample of a cgroup is parsed in full (to report malformed lines once); later ones only
        # extract the keys the agent uses
        full = ref.id not in self._parsed
        self._parsed.add(ref.id)
        if full:
            ms = parse_memory_stat(stat_text)
        else:
            ms = parse_memory_stat(stat_text, self._stat_keys(st), st.stat_hints if ref.id == st.ref.id else None,
                                   g.refault_keys if g.refault_rate is not None else ())
        if ms.bad_lines:
            self.events.once(("badstat", ref.id), "memory_stat_unparsed_lines", cgroup=ref.path,
                             lines=ms.bad_lines[:3])
        return Sample(self.backend.now(), ms.values, pressure, wants_psi and not psi)

    def _stat_keys(self, st: TargetState) -> frozenset[str]:
        """The memory.stat keys the agent uses for this target (parsing only those is the hot path), but for
        the refault counters (see :meth:`_sample`)."""
        if st.stat_keys is not None:
            return st.stat_keys
        cap = self.capability
        g = st.policy.guardrails
        keys = {"zswap", "zswapped", "zswpin", "zswpwb"}  # twice-cold estimate
        if self._action(st.policy) == "reclaim":
            keys.add("pswpin")  # the pacer's refaults: zswpin + pswpin
        if g.zswpin_rate is not None:
            keys.add("zswpin")
        if g.zswpwb_rate is not None:
            keys.add("zswpwb")
        # the refault counters (g.refault_keys) are alternatives: parse_memory_stat(first_of=...) extracts the
        # first one present, the one guardrails.refault_key() picks
        if cap is None:
            keys.update(k for k, _ in PROACTIVE_COUNTERS)
            return frozenset(keys)  # not cached until the interface is known
        if cap.counter:
            keys.add(cap.counter)
        st.stat_keys = frozenset(keys)
        return st.stat_keys

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
        trips = ev.trips  # a fresh list of this evaluation
        for what in ev.unavailable:
            self.events.once(("unavail", st.ref.id, what), "guardrail_input_missing", cgroup=st.ref.path,
                             input=what, message="PSI missing or garbled: the guardrail trips (fails closed)"
                             if what == PSI_INPUT else "this guardrail cannot trip for this cgroup")
        if st.policy.guard_scope == "children":
            for cid, csample in children.items():
                cev = evaluate(g, st.last_children.get(cid), csample, self._child_paths.get(cid, str(cid)))
                trips += cev.trips
        return trips

    def _sample_children(self, st: TargetState, cg: CgroupHandle) -> dict[int, Sample]:
        if st.policy.guard_scope != "children":
            return {}
        out: dict[int, Sample] = {}
        try:
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
        st.tm.two("errors", name)
        if e.errno in (errno.ENOENT, errno.ENODEV):  # kernfs answers ENODEV on an fd of a removed cgroup
            if e.errno == errno.ENOENT and what != "open" and self.backend.same(st.ref):
                # the cgroup is there, the file is not: e.g. the memory controller is not enabled for it
                res.outcome = "missing_file"
                self.events.once(("nofile", st.ref.id, what), "file_missing", cgroup=st.ref.path, during=what,
                                 error=str(e), hint="is +memory in the parent's cgroup.subtree_control?")
                return
            st.gone = True
            res.outcome = "gone"
            self.events.once(("gone", st.ref.id), "cgroup_gone", cgroup=st.ref.path, id=st.ref.id, during=what)
            return
        res.outcome = f"error:{name}"
        hint = {
            errno.EINVAL: "request refused (is memory.zswap.writeback 0 for this cgroup or an ancestor?)",
            errno.EBUSY: "kernel busy; retried next cycle",
            errno.EPERM: "operation not permitted; the agent needs write permission on the cgroup's files "
                         "(owner or mode of memory.reclaim; no capability is needed)",
            errno.EACCES: "permission denied; the agent needs write permission on the cgroup's files "
                          "(owner or mode of memory.reclaim; no capability is needed)",
        }.get(e.errno or 0, "unexpected error; retried next cycle")
        self.events.once(("err", st.ref.id, what, name), "request_failed" if request else "read_failed",
                         cgroup=st.ref.path, id=st.ref.id, errno=name, during=what, request=request, hint=hint)

    def _target_cycle(self, st: TargetState) -> Wait:
        res = TargetResult(st.ref.path, st.ref.id)
        t0 = self.backend.now()
        if not st.backoff.may_run(t0):
            res.outcome = "backoff"
            st.tm.backoff = max(0.0, st.backoff.until - t0)
            st.backoff_gauge = True
            return res
        if st.backoff_gauge:
            st.tm.backoff = 0.0
            st.backoff_gauge = False
        st.budget.start_cycle()
        cap = self.capability or Capability(Interface.NONE, "/", "not detected")
        st.paced = self._action(st.policy) == "reclaim"
        try:
            h = self.backend.open(st.ref, keep=True)  # one directory descriptor for the whole target cycle
        except OSError as e:
            self._on_error(st, res, e, "open")
            return res
        except UnsafePath as e:
            st.gone = True  # the path now leads somewhere the agent refuses to go; rediscovered later
            self.events.once(("unsafe", st.ref.id), "path_refused", cgroup=st.ref.path, reason=str(e))
            res.outcome = "refused"
            return res
        try:
            return (yield from self._target_steps(st, res, h, cap, t0))
        finally:
            h.__exit__(None, None, None)

    def _target_steps(self, st: TargetState, res: TargetResult, h: CgroupHandle, cap: Capability,
                      t0: float) -> Wait:
        tp = st.policy
        try:
            cur = self._sample(st, st.ref, h)
            kids = self._sample_children(st, h) if tp.guard_scope == "children" else {}
        except OSError as e:
            self._on_error(st, res, e, "sample")
            return res
        trips = self._guard(st, st.last, cur, kids)
        if st.last is not None and cur.t - st.last.t > 0:
            tc = twice_cold_bytes(st.last.stat, cur.stat)
            if tc is not None:
                res.twice_cold = tc
                st.tm.twice_cold = tc
        st.last, st.last_children = cur, kids
        tripped = bool(trips)
        zsw = cur.stat.get("zswap")
        action = self._action(tp)
        if not tripped:
            res.outcome = gate(action=action, writes=cap.interface.writes, zswap=zsw, min_zswap=tp.min_zswap)
            if zsw is None and tp.min_zswap and action == "writeback":
                self.events.once(("nozswap", st.ref.id), "zswap_size_unknown", cgroup=st.ref.path,
                                 message="memory.stat has no 'zswap' key; min_zswap not enforced")
        if not tripped and res.outcome == "done" and action == "reclaim":
            yield from self._paced_reclaim(st, res, h, cap, cur)
            if res.outcome == "tripped_in_reclaim":
                tripped, trips = True, res.trips
        elif not tripped and res.outcome == "done":
            if tp.reclaim_step and not self.dry_run:
                yield from self._reclaim(st, res, h)
            zero_progress = 0
            step_cap = max_steps(tp.budget_per_cycle, tp.step, tp.eagain_retries)
            while res.outcome == "done" and not tripped:
                if self.stopping():
                    res.outcome = Outcome.STOPPED
                    break
                now = self.backend.now()
                allow = st.budget.allowance(now)
                req = plan(allowance=allow, exhausted_by=st.budget.exhausted_by(now) if allow <= 0 else None,
                           step=tp.step, page_granular=cap.interface.page_granular,
                           steps=res.steps, step_cap=step_cap)
                if isinstance(req, Outcome):
                    res.outcome = req
                    if req is Outcome.STEP_CAP:
                        self.events.once(("stepcap", st.ref.id), "step_cap_reached", cgroup=st.ref.path,
                                         steps=res.steps, message="too many steps without using the budget")
                    else:
                        st.budget.qt_exceeds += 1
                        st.tm.two("quota", req.removeprefix("quota_"))
                    break
                fname, text = cap.interface.request(req, tp.age)
                res.steps += 1
                res.requested += req
                st.tm.requested += req
                if self.dry_run:
                    self.events.info("would_write", cgroup=st.ref.path, file=fname, text=text)
                    st.budget.charge(now, req, -1)
                    st.tm.two("steps", "dry_run")
                    continue
                err: OSError | None = None
                abandoned = False
                try:
                    h.write(fname, text)
                except StepAbandoned:
                    abandoned = True
                except UnsafePath as e:
                    self.events.once(("unsafe", st.ref.id), "write_refused", cgroup=st.ref.path, reason=str(e))
                    res.outcome = "refused"
                    break
                except OSError as e:
                    err = e
                if (err is None or err.errno == errno.EAGAIN) and not abandoned and tp.step_interval > 0:
                    yield tp.step_interval  # also after a partial (EAGAIN) step: let its effects show
                try:
                    after = self._sample(st, st.ref, h, psi=False)
                    kids = self._sample_children(st, h) if tp.guard_scope == "children" else {}
                except OSError as e:
                    self._on_error(st, res, e, "sample")
                    break
                except StepAbandoned:
                    abandoned = True
                    after = cur
                written = self._written(cur, after, st)
                st.budget.charge(after.t, req, written)
                if after.psi_skipped and st.budget.allowance(after.t) >= PAGE_SIZE and not abandoned:
                    # PSI only matters if another step may follow in this cycle; otherwise the next cycle's
                    # first sample checks it (saves a read per target per cycle)
                    try:
                        after = after._replace(psi=self._read_psi(st, h), psi_skipped=False)
                    except OSError as e:
                        self._on_error(st, res, e, "sample")
                        break
                if written > 0:
                    res.written += written
                    st.bytes_written += written
                    st.tm.written += written
                st.bytes_requested += req
                trips = self._guard(st, cur, after, kids)
                st.last, st.last_children, cur = after, kids, after
                eagain = err is not None and err.errno == errno.EAGAIN
                outcome, zero_progress, res.outcome = judge(
                    abandoned=abandoned, eagain=eagain, error=err is not None and not eagain, written=written,
                    zero_progress=zero_progress, retries=tp.eagain_retries)
                if outcome is Step.ABANDONED:
                    self.events.info("step_abandoned", cgroup=st.ref.path, request=text,
                                     written=max(written, 0))
                elif outcome is Step.EAGAIN:
                    res.eagain += 1
                elif outcome is Step.ERROR and err is not None:
                    self._on_error(st, res, err, "write", text)
                st.tm.two("steps", outcome)
                if self.events.log.isEnabledFor(logging.DEBUG):
                    self.events.debug("step", cgroup=st.ref.path, request=text, outcome=outcome,
                                      written=written)
                if trips:
                    tripped = True
                if res.outcome == "done" and not tripped:
                    res.outcome = gate(action=action, writes=True, zswap=after.stat.get("zswap"),
                                       min_zswap=tp.min_zswap)
        if tripped:
            res.trips = trips
            res.outcome = "tripped"
            delay = st.backoff.on_trip(self.backend.now())
            for t in trips:
                st.tm.two("trips", t.reason)
            self.events.info("guardrail_trip", cgroup=st.ref.path, action=tp.on_trip.action,
                             backoff_s=round(delay, 3), written=res.written,
                             trips=[{"reason": t.reason, "where": t.where, "value": round(t.value, 3),
                                     "threshold": t.threshold} for t in trips])
        elif res.outcome not in ("gone", "stopped", "abandoned") and not res.outcome.startswith("error"):
            st.backoff.on_clean_cycle()
        res.duration = self.backend.now() - t0
        st.tm.cycle_seconds = res.duration
        return res

    def _paced_reclaim(self, st: TargetState, res: TargetResult, h: CgroupHandle, cap: Capability,
                       cur: Sample) -> Wait:
        """PSI-paced, refault-gated proactive reclaim (kernels without the series): ``memory.reclaim`` of what
        :class:`~zswaplab.agent.pacing.ReclaimPacer` plans this cycle, spread over the cycle in writes of at
        most ``step``; the cycle's reclaim ends early when what it reclaims refaults."""
        tp = st.policy
        if cur.psi is None:  # a pacing input that cannot be read: nothing is reclaimed (fails closed)
            self.events.once(("unavail", st.ref.id, PSI_INPUT), "guardrail_input_missing", cgroup=st.ref.path,
                             input=PSI_INPUT, message="PSI missing or garbled: no reclaim (pacing needs it)")
            res.outcome = "psi_unavailable"
            return
        mark, st.psi_mark = st.psi_mark, (cur.t, cur.psi.some_total)
        refault_mark, st.refault_mark = st.refault_mark, refault_pages(cur.stat)
        reclaimed, st.reclaimed_pages = st.reclaimed_pages, 0
        p = None if mark is None else psi_percent(mark[1], cur.psi.some_total, cur.t - mark[0])
        if p is None:
            res.outcome = "pacing_warmup"  # the first cycle only measures
            return
        res.psi_pct = p
        if st.pacer is None:
            st.pacer = ReclaimPacer(pacer_config(tp))
        pacer = st.pacer
        refaulted = 0 if refault_mark is None or st.refault_mark is None else max(0, st.refault_mark - refault_mark)
        planned, why = pacer.plan(p, refaulted, reclaimed, st.budget.allowance(cur.t))
        if planned < PAGE_SIZE:
            res.outcome = why
            return
        key = cap.reclaim_key if tp.reclaim.swappiness == "max" else f"swappiness={tp.reclaim.swappiness}"
        # spread over the cycle: one write per step_interval, so refaults can end the cycle early
        slots = max(1, int(self.policy.agent.interval // tp.step_interval)) if tp.step_interval > 0 else 1
        chunk = min(tp.step, max(PAGE_SIZE, -(-planned // slots)))
        chunk = max(PAGE_SIZE, chunk - chunk % PAGE_SIZE)  # whole pages, at least one: every write makes progress
        left, done = planned, 0
        while left >= PAGE_SIZE and res.outcome == "done":
            if self.stopping():
                res.outcome = "stopped"
                break
            req = min(chunk, left)
            req -= req % PAGE_SIZE
            text = f"{format_size(req)} {key}".rstrip()
            left -= req
            res.steps += 1
            res.requested += req
            st.tm.requested += req
            now = self.backend.now()
            if self.dry_run:
                self.events.info("would_write", cgroup=st.ref.path, file=MEMORY_RECLAIM, text=text)
                st.budget.charge(now, req, -1)
                st.tm.two("steps", "dry_run")
                continue
            outcome = "ok"
            try:
                h.write(MEMORY_RECLAIM, text)
            except StepAbandoned:
                res.outcome = "abandoned"
                break
            except UnsafePath as e:
                self.events.once(("unsafe", st.ref.id), "write_refused", cgroup=st.ref.path, reason=str(e))
                res.outcome = "refused"
                break
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    self._on_error(st, res, e, "write", text)
                    st.tm.two("steps", "error")
                    break
                outcome = "eagain"  # reclaimed less than asked: nothing colder is left for now
                left = 0
            st.budget.charge(now, req, -1)
            st.reclaimed_pages += req // PAGE_SIZE
            done += req if outcome == "ok" else 0
            st.tm.two("steps", outcome)
            if tp.step_interval > 0:
                yield tp.step_interval
            try:
                after = self._sample(st, st.ref, h, psi=False)
            except OSError as e:
                self._on_error(st, res, e, "sample")
                break
            trips = self._guard(st, cur, after, {})
            st.last = cur = after
            if trips:
                res.trips = trips
                res.outcome = "tripped_in_reclaim"
                break
            now_refaults = refault_pages(after.stat)
            if (left >= PAGE_SIZE and now_refaults is not None and st.refault_mark is not None
                    and pacer.in_cycle_congested(now_refaults - st.refault_mark, st.reclaimed_pages)):
                res.outcome = "refaulting"  # what this cycle reclaims comes back: stop here
                break
        if not self.dry_run:
            pacer.cycle_done(done, planned)
        if res.outcome == "done":
            res.outcome = "reclaimed"

    def _reclaim(self, st: TargetState, res: TargetResult, h: CgroupHandle) -> Wait:
        """The compress phase: plain proactive reclaim of ``reclaim_step`` bytes (cold anon -> zswap)."""
        text = format_size(st.policy.reclaim_step)
        try:
            h.write(MEMORY_RECLAIM, text)
        except StepAbandoned:
            return
        except OSError as e:
            if e.errno != errno.EAGAIN:
                self.events.once(("reclaim", st.ref.id, errname(e)), "reclaim_failed", cgroup=st.ref.path,
                                 errno=errname(e))
        yield st.policy.step_interval
        try:
            st.last = self._sample(st, st.ref, h)
        except OSError as e:
            self._on_error(st, res, e, "sample")

    # ------------------------------------------------------------------ scheduling
    def _lane(self, states: list[TargetState]) -> Wait:
        out = []
        for st in states:
            if self.stopping():
                break
            try:
                out.append((yield from self._target_cycle(st)))
            except Exception as e:  # a bug must not take the agent (and every other target) down
                self.events.once(("internal", st.ref.id, type(e).__name__), "internal_error", cgroup=st.ref.path,
                                 error=f"{type(e).__name__}: {e}")
                self.events.log.debug("internal_error", exc_info=True)
                out.append(TargetResult(st.ref.path, st.ref.id, outcome="internal_error"))
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
                self._wait(max(waits))
        return results

    def _drive(self, lane: list[TargetState]) -> list[TargetResult]:
        g = self._lane(lane)
        try:
            while True:
                self._wait(next(g))
        except StopIteration as s:
            return s.value

    def run_cycle(self) -> CycleReport:
        if self.capability is None:
            self.start()
        else:
            self.discover()
        t0, c0 = self.backend.now(), time.process_time()
        lanes = self._lanes()
        self.backend.begin_cycle()
        try:
            if self.backend.threaded and self.policy.agent.workers > 1 and len(lanes) > 1:
                with ThreadPoolExecutor(self.policy.agent.workers, thread_name_prefix="zswaplab-agent") as ex:
                    results = [r for rs in ex.map(self._drive, lanes) for r in rs]
            else:
                results = self._run_cooperative(lanes)
        finally:
            self.backend.end_cycle()
        results.sort(key=lambda r: r.path)
        rep = CycleReport(self.cycles, t0, self.backend.now(), time.process_time() - c0, results)
        self.cycles += 1
        self.metrics.cycle.observe(rep.t_end - rep.t_start)
        self.metrics.last_cycle.set(time.time())
        self.metrics.cycle_cpu.observe(rep.cpu_seconds)
        outcomes: dict[str, int] = {}
        for r in results:
            outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        cpu = {} if self.backend.name == "sim" else {"cpu_ms": round(rep.cpu_seconds * 1000, 3)}  # sim: determinism
        self.events.info("cycle", cycle=rep.index, targets=len(results), requested=rep.requested,
                         written=rep.written, duration_s=round(rep.t_end - rep.t_start, 3), outcomes=outcomes, **cpu)
        return rep

    def _wait(self, seconds: float) -> None:
        """Wait on the backend's clock, in pieces short enough to keep the systemd watchdog fed."""
        wd = self.notifier.watchdog_s
        if wd is None or self.backend.name == "sim":
            self.backend.sleep(seconds, self.stop)
            return
        left = seconds
        while True:
            self.notifier.watchdog()
            piece = min(left, wd / 2)
            self.backend.sleep(piece, self.stop)
            left -= piece
            if left <= 0 or self.stopping():
                return

    def stopping(self) -> bool:
        """Stop requested (the stop event, or a signal whose handler could only set a flag)."""
        w = self.watcher
        if w is not None and w.pending:
            self._log_signals()
        return self.stop.is_set() or (w is not None and w.stop_requested)

    @property
    def signals(self) -> int:
        return self.watcher.count if self.watcher is not None else 0

    def _log_signals(self) -> None:
        w = self.watcher
        while w is not None and w.pending:
            try:
                signum, writing = w.pending.pop(0)
            except IndexError:  # another lane drained it
                return
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                self.events.info("signal", signal=name, action="reload the policy before the next cycle")
            else:
                self.events.info("signal", signal=name,
                                 action="abandon the write in progress" if writing else "finish the current step")

    def reload(self) -> bool:
        """Apply a SIGHUP: load the policy again; on error keep the running one. True if it changed.

        Targets whose [[target]] entry is unchanged keep their budget and backoff; the others start afresh.
        ``[agent]`` keys that need a restart (``mount``, ``metrics_addr``, ``metrics_port``) are not applied."""
        if self.reloader is None:
            self.events.warning("reload_ignored", message="SIGHUP: no policy file to reload")
            return False
        try:
            new = self.reloader()
        except PolicyError as e:
            self.events.warning("reload_failed", error=str(e), message="keeping the running policy")
            return False
        old = self.policy
        keep = {"mount": old.agent.mount, "metrics_addr": old.agent.metrics_addr,
                "metrics_port": old.agent.metrics_port}
        ignored = [k for k, v in keep.items() if getattr(new.agent, k) != v]
        self.policy = new.model_copy(update={"agent": new.agent.model_copy(update=keep)})
        for st in self.states.values():
            st.stat_keys = None
        self.events.info("reloaded", targets=[t.path for t in new.targets], restart_needed_for=ignored)
        return True

    def run(self, once: bool = False, max_cycles: int | None = None, keep: int = 64,
            on_cycle: Callable[[CycleReport], None] | None = None) -> list[CycleReport]:
        """Cycle until stopped (or once / ``max_cycles`` times); sleeps ``agent.interval`` between cycles.

        Returns the last ``keep`` reports only (memory stays bounded however long the agent runs);
        ``on_cycle`` sees every report as it is made."""
        reports: deque[CycleReport] = deque(maxlen=max(0, keep))
        n = 0
        self.notifier.ready(f"{len(self.policy.targets)} target entries")
        while not self.stopping():
            w = self.watcher
            if w is not None and w.reload_requested:
                w.reload_requested = False
                self._log_signals()
                self.reload()
            rep = self.run_cycle()
            n += 1
            self.last_report = rep
            reports.append(rep)
            if on_cycle is not None:
                on_cycle(rep)
            self.notifier.watchdog()
            if once or (max_cycles is not None and n >= max_cycles) or self.stopping():
                break
            self._wait(self.policy.agent.interval)
        self.stopping()  # logs pending signals
        self.notifier.stopping()
        self.events.info("stopped", cycles=n, signals=self.signals)
        return list(reports)

    # ------------------------------------------------------------------ signals
    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: stop after the current step (a write in progress in the main thread is abandoned);
        SIGHUP: reload the policy. The handlers take no lock (see :mod:`~zswaplab.agent.signals`)."""
        if self.watcher is None:
            self.watcher = SignalWatcher(self.stop, lambda: bool(getattr(self.backend.in_write, "active", False)))
            self.watcher.install()

    def close_signal_handlers(self, ignore: bool = True) -> None:
        """Teardown: with ``ignore`` a second SIGTERM/SIGINT during teardown is ignored (exit status stays 0)."""
        if self.watcher is not None:
            self.watcher.close(ignore=ignore)
