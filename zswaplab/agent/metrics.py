"""Prometheus metrics of the agent (``prometheus_client``), in a registry of their own.

Per target (label ``target`` = cgroup path): bytes requested, bytes written (from ``zswpwb_proactive_b``
deltas; ``zswpwb_proactive`` pages * PAGE_SIZE on v1-v3), EAGAIN answers, other errors by errno, guardrail
trips by reason, quota exceedances, cycle duration; plus the detected interface. The endpoint binds to
127.0.0.1 unless configured otherwise.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class TargetMetrics:
    """The label children of one target, bound once (``labels()`` costs microseconds per call)."""

    def __init__(self, m: Metrics, target: str) -> None:
        self.target = target
        self.requested = m.bytes_requested.labels(target)
        self.written = m.bytes_written.labels(target)
        self.eagain = m.eagain.labels(target)
        self.cycle_seconds = m.cycle_seconds.labels(target)
        self.backoff = m.backoff.labels(target)
        self._m = m
        self._two: dict[tuple[str, str], object] = {}

    def two(self, metric: str, value: str):  # noqa: ANN201 - a prometheus child
        key = (metric, value)
        child = self._two.get(key)
        if child is None:
            child = self._two[key] = getattr(self._m, metric).labels(self.target, value)
        return child


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._targets: dict[str, TargetMetrics] = {}
        r = self.registry
        p = "zswaplab_agent_"
        self.bytes_requested = Counter(p + "bytes_requested", "Bytes asked of the kernel", ["target"], registry=r)
        self.bytes_written = Counter(p + "bytes_written", "Bytes written back, from zswpwb_proactive(_b) deltas",
                                     ["target"], registry=r)
        self.steps = Counter(p + "steps", "Writeback steps by outcome", ["target", "outcome"], registry=r)
        self.eagain = Counter(p + "eagain", "EAGAIN answers (partial writeback)", ["target"], registry=r)
        self.errors = Counter(p + "errors", "Failed requests or reads by errno", ["target", "errno"], registry=r)
        self.trips = Counter(p + "guardrail_trips", "Guardrail trips by reason", ["target", "reason"], registry=r)
        self.quota = Counter(p + "quota_exceeded", "Cycles stopped by a budget", ["target", "quota"], registry=r)
        self.cycle_seconds = Gauge(p + "target_cycle_duration_seconds", "Duration of the target's last cycle "
                                   "(backend clock)", ["target"], registry=r)
        self.backoff = Gauge(p + "backoff_remaining_seconds", "Backoff left for the target", ["target"],
                             registry=r)
        self.cycle = Histogram(p + "cycle_duration_seconds", "Duration of whole agent cycles (backend clock)",
                               registry=r, buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900))
        self.cycle_cpu = Histogram(p + "cycle_cpu_seconds", "CPU time of the agent per cycle", registry=r,
                                   buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1))
        self.targets = Gauge(p + "targets", "Tracked target cgroups", registry=r)
        self.interface = Gauge(p + "interface_info", "Detected proactive writeback interface (1 = in use)",
                               ["interface"], registry=r)

    def target(self, label: str) -> TargetMetrics:
        tm = self._targets.get(label)
        if tm is None:
            tm = self._targets[label] = TargetMetrics(self, label)
        return tm

    def forget(self, target: str) -> None:
        """Drop the series of a target whose cgroup disappeared."""
        self._targets.pop(target, None)
        for m in (self.bytes_requested, self.bytes_written, self.eagain, self.cycle_seconds, self.backoff):
            try:
                m.remove(target)
            except KeyError:
                pass

    def serve(self, port: int, addr: str = "127.0.0.1") -> tuple[object, object]:
        """Start the HTTP endpoint; returns (server, thread). ``port=0`` picks an ephemeral port."""
        return start_http_server(port, addr=addr, registry=self.registry)
