"""Prometheus metrics of the agent (``prometheus_client``), in a registry of their own.

Per target (labels ``target`` = cgroup path, ``name`` = the [[target]] entry's ``name``, else its path
pattern): bytes requested, bytes written (from ``zswpwb_proactive_b`` deltas; ``zswpwb_proactive`` pages *
PAGE_SIZE on v1-v3), steps by outcome (``eagain`` among them), errors by errno, guardrail trips by reason,
quota exceedances, cycle duration; plus the detected interface, the wall-clock time of the last finished
cycle (alert on a stuck agent) and the standard ``process_*`` series (RSS against ``MemoryMax=``, CPU, open
descriptors). The endpoint binds to 127.0.0.1 unless configured otherwise.

The per-target series are updated on the agent's hot path (several times per target per cycle), so they are
plain numbers in a :class:`TargetMetrics` that a custom collector turns into metric families when the
registry is scraped (the ``prometheus_client`` pattern for values kept elsewhere); a labelled child's
``inc()`` would cost a lock and checks each time.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, Histogram, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

P = "zswaplab_agent_"

# per-target counters: attribute of TargetMetrics -> (metric name, help)
_ONE = {
    "requested": ("bytes_requested", "Bytes asked of the kernel"),
    "written": ("bytes_written", "Bytes written back, from zswpwb_proactive(_b) deltas"),
}
# per-target counters with a second label: name of TargetMetrics.two()'s metric -> (metric name, label, help)
_TWO = {
    "steps": ("steps", "outcome", "Writeback steps by outcome"),
    "errors": ("errors", "errno", "Failed requests or reads by errno"),
    "trips": ("guardrail_trips", "reason", "Guardrail trips by reason"),
    "quota": ("quota_exceeded", "quota", "Cycles stopped by a budget"),
}
# per-target gauges: attribute -> (metric name, help)
_GAUGES = {
    "cycle_seconds": ("target_cycle_duration_seconds", "Duration of the target's last cycle (backend clock)"),
    "backoff": ("backoff_remaining_seconds", "Backoff left for the target"),
    "twice_cold": ("twice_cold_bytes", "Compressed bytes in zswap since the previous cycle: what proactive "
                   "writeback of twice-cold entries would write back (estimate from memory.stat)"),
}


class TargetMetrics:
    """The per-target values of one target, updated in place (``tm.requested += n``, ``tm.two("steps",
    "ok")``); each target is updated by one lane at a time, scrapes only read."""

    __slots__ = ("target", "name", "requested", "written", "cycle_seconds", "backoff", "twice_cold", "by_value")

    def __init__(self, target: str, name: str = "") -> None:
        self.target = target
        self.name = name or target
        self.requested = 0.0
        self.written = 0.0
        self.cycle_seconds = 0.0
        self.backoff = 0.0
        self.twice_cold = 0.0
        self.by_value: dict[tuple[str, str], float] = {}

    def two(self, metric: str, value: str, amount: float = 1.0) -> None:
        """Count ``amount`` in the two-label counter ``metric`` (steps/errors/trips/quota) for ``value``."""
        key = (metric, value)
        self.by_value[key] = self.by_value.get(key, 0.0) + amount


class _TargetCollector(Collector):
    def __init__(self, m: Metrics) -> None:
        self.m = m

    def collect(self) -> Iterator[Metric]:
        targets = list(self.m._targets.values())
        for attr, (name, doc) in _ONE.items():
            fam = CounterMetricFamily(P + name, doc, labels=["target", "name"])
            for tm in targets:
                fam.add_metric([tm.target, tm.name], getattr(tm, attr))
            yield fam
        for metric, (name, label, doc) in _TWO.items():
            fam = CounterMetricFamily(P + name, doc, labels=["target", "name", label])
            for tm in targets:
                for (mt, value), v in list(tm.by_value.items()):
                    if mt == metric:
                        fam.add_metric([tm.target, tm.name, value], v)
            yield fam
        for attr, (name, doc) in _GAUGES.items():
            gfam = GaugeMetricFamily(P + name, doc, labels=["target", "name"])
            for tm in targets:
                gfam.add_metric([tm.target, tm.name], getattr(tm, attr))
            yield gfam

    def describe(self) -> Iterator[Metric]:
        for name, doc in _ONE.values():
            yield CounterMetricFamily(P + name, doc, labels=["target", "name"])
        for name, label, doc in _TWO.values():
            yield CounterMetricFamily(P + name, doc, labels=["target", "name", label])
        for name, doc in _GAUGES.values():
            yield GaugeMetricFamily(P + name, doc, labels=["target", "name"])


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, process: bool = True) -> None:
        self.registry = registry or CollectorRegistry()
        self._targets: dict[str, TargetMetrics] = {}
        r = self.registry
        r.register(_TargetCollector(self))
        self.cycle = Histogram(P + "cycle_duration_seconds", "Duration of whole agent cycles (backend clock)",
                               registry=r, buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900))
        self.cycle_cpu = Histogram(P + "cycle_cpu_seconds", "CPU time of the agent per cycle", registry=r,
                                   buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1))
        self.targets = Gauge(P + "targets", "Tracked target cgroups", registry=r)
        self.last_cycle = Gauge(P + "last_cycle_timestamp_seconds",
                                "Wall-clock time (Unix seconds) at which the last agent cycle ended", registry=r)
        if process:
            ProcessCollector(registry=r)  # process_resident_memory_bytes, process_cpu_seconds_total, ...
        self.interface = Gauge(P + "interface_info", "Detected proactive writeback interface (1 = in use)",
                               ["interface"], registry=r)

    def target(self, label: str, name: str = "") -> TargetMetrics:
        tm = self._targets.get(label)
        if tm is None or tm.name != (name or label):
            tm = self._targets[label] = TargetMetrics(label, name)
        return tm

    def forget(self, target: str) -> None:
        """Drop the series of a target whose cgroup disappeared."""
        self._targets.pop(target, None)

    def serve(self, port: int, addr: str = "127.0.0.1") -> tuple[object, object]:
        """Start the HTTP endpoint; returns (server, thread). ``port=0`` picks an ephemeral port."""
        return start_http_server(port, addr=addr, registry=self.registry)  # type: ignore[return-value]
