"""Run output files: memory.stat snapshots (JSON Lines and CSV), per-call records and the metrics summary.

Layout of ``--out DIR``::

    DIR/summary.json                 all variants: axes + metrics (+ agent runs, checks)
    DIR/report.html                  the self-contained report (zswaplab.lab.report)
    DIR/<variant>/stats.jsonl        {"step", "clock_ns", "action", "memcg", "stat": {...}} per memcg per step
    DIR/<variant>/stats.csv          the same, one column per memory.stat key
    DIR/<variant>/calls.jsonl        one line per proactive call (per-child pages/bytes, errno)
    DIR/<variant>/summary.json       this variant's metrics

Output is deterministic: same inputs → byte-identical files (no wall-clock values except ``wall_seconds``
in summary.json, which :func:`write_run` leaves out unless asked).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from .records import RunRecord, to_json


def variant_dirname(variant: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", variant.replace(",", "__")) or "default"


def run_summary(run: RunRecord, metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "scenario": run.scenario,
        "variant": run.variant,
        "axes": run.axes,
        "profile": run.profile,
        "strategy": run.strategy,
        "seed": run.seed,
        "parent": run.parent,
        "metrics": metrics,
        "agents": to_json(run.agents),
        "checks": to_json(run.checks),
        "expects": to_json(run.expects),
        "counters": run.counters,
        "placement_after_setup": run.placement,
    }


def write_run(out: Path, run: RunRecord, metrics: dict[str, Any]) -> Path:
    d = out / variant_dirname(run.variant)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "stats.jsonl", "w") as f:
        for snap in run.snapshots:
            f.write(json.dumps(snap, sort_keys=True) + "\n")
    keys: list[str] = []
    seen: set[str] = set()
    for snap in run.snapshots:
        for k in snap["stat"]:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    with open(d / "stats.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "clock_ns", "action", "memcg", *keys])
        for snap in run.snapshots:
            w.writerow([snap["step"], snap["clock_ns"], snap["action"], snap["memcg"],
                        *(snap["stat"].get(k, "") for k in keys)])
    with open(d / "calls.jsonl", "w") as f:
        for c in run.calls:
            f.write(json.dumps(to_json(c), sort_keys=True) + "\n")
    with open(d / "summary.json", "w") as f:
        json.dump(run_summary(run, metrics), f, indent=1, sort_keys=True)
        f.write("\n")
    return d


def write_summary(out: Path, scenario: str, runs: list[tuple[RunRecord, dict[str, Any]]]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    p = out / "summary.json"
    with open(p, "w") as f:
        json.dump({"scenario": scenario, "variants": [run_summary(r, m) for r, m in runs]}, f, indent=1,
                  sort_keys=True)
        f.write("\n")
    return p
