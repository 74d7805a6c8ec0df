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

from .records import AgentRun, AgentStep, CallRecord, CheckResult, ExpectResult, RunRecord, to_json


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
        "zswap_bytes_after_setup": run.zswap_bytes,
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


def summary_doc(scenario: str, runs: list[tuple[RunRecord, dict[str, Any]]], *, question: str = "",
                description: str = "", answers: list[str] | None = None) -> dict[str, Any]:
    """The whole run as one JSON document (summary.json, and ``--json`` on the terminal)."""
    return {"scenario": scenario, "question": question, "description": description, "answers": answers or [],
            "variants": [run_summary(r, m) for r, m in runs]}


def write_summary(out: Path, scenario: str, runs: list[tuple[RunRecord, dict[str, Any]]], **meta: Any) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    p = out / "summary.json"
    with open(p, "w") as f:
        json.dump(summary_doc(scenario, runs, **meta), f, indent=1, sort_keys=True)
        f.write("\n")
    return p


class OutputError(ValueError):
    """A run directory cannot be read back (names the file)."""


def load_runs(out: Path) -> tuple[dict[str, Any], list[tuple[RunRecord, dict[str, Any]]]]:
    """Read a ``--out`` directory back: the summary document and the records the report needs (calls, agent
    runs, checks, counters; not the writeback log). Re-rendering needs no re-run."""
    p = out / "summary.json"
    try:
        doc = json.loads(p.read_text())
    except OSError as e:
        raise OutputError(f"{p}: cannot read: {e.strerror} (is {out} a `zswaplab run --out` directory?)") from None
    except json.JSONDecodeError as e:
        raise OutputError(f"{p}:{e.lineno}: not JSON: {e.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("variants"), list):
        raise OutputError(f"{p}: not a run's summary (no 'variants'); give the directory `zswaplab run --out` "
                          "wrote, not one variant's")
    runs = []
    for v in doc["variants"]:
        m = v["metrics"]
        cpath = out / variant_dirname(v["variant"]) / "calls.jsonl"
        try:
            calls = [CallRecord(**json.loads(line)) for line in cpath.read_text().splitlines() if line]
        except OSError as e:
            raise OutputError(f"{cpath}: cannot read: {e.strerror}") from None
        order = [kv.split("=", 1)[0] for kv in v["variant"].split(",")]  # summary.json sorts keys; names do not
        axes = {k: v["axes"][k] for k in sorted(v["axes"], key=lambda k: order.index(k) if k in order else len(order))}
        rec = RunRecord(
            scenario=v["scenario"], variant=v["variant"], axes=axes, profile=v["profile"],
            strategy=v["strategy"], seed=v["seed"], parent=v["parent"], children=list(m.get("children", [])),
            eligible=dict(m.get("eligible_bytes", {})), calls=calls,
            agents=[AgentRun(**{**a, "steps": [AgentStep(**s) for s in a["steps"]]}) for a in v.get("agents", [])],
            checks=[CheckResult(**c) for c in v.get("checks", [])],
            expects=[ExpectResult(**e) for e in v.get("expects", [])],
            counters=v.get("counters", {}), placement=v.get("placement_after_setup", {}),
            zswap_bytes=v.get("zswap_bytes_after_setup", {}),
        )
        runs.append((rec, m))
    return doc, runs


def stats_series(path: Path, key: str, memcgs: tuple[str, ...] = ()) -> dict[str, list[float]]:
    """``key`` of every memcg (or of ``memcgs``) over the steps of a ``stats.csv``."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise OutputError(f"{path}: cannot read: {e.strerror}") from None
    if rows and key not in rows[0]:
        known = [k for k in rows[0] if k not in ("step", "clock_ns", "action", "memcg")]
        from .schema import did_you_mean

        raise OutputError(f"{path}: no column {key!r}{did_you_mean(key, known)} (keys: {', '.join(known)})")
    out: dict[str, list[float]] = {}
    for r in rows:
        if (memcgs and r["memcg"] not in memcgs) or (not memcgs and r["memcg"] == "/"):
            continue
        out.setdefault(r["memcg"], []).append(float(r[key] or 0))
    if memcgs and not out:
        raise OutputError(f"{path}: no rows for memcg {', '.join(memcgs)}")
    return out
