"""Scenarios for Linux 7.2.13 with the project's patch series (``kernel/patches/7.2``), run in the VM and on
the model with the same steps.

The patched kernel selects the series at run time through zswap module parameters (all default to unpatched
7.2; ``docs/series-on-real-kernel.md``). A scenario's ``params`` are written by the guest driver before the
first step; :func:`model_setup` maps the same parameters onto the model's profile and config, so one scenario
dict drives both sides.

Scenarios (the review's questions, scaled to a 1 GiB single-vCPU VM):

* ``series_selftest_v2`` / ``_v3`` / ``_v5`` — each version's ``test_zswap_proactive_writeback``;
* ``series_v5_fresh_entries`` — v5, one call sized to a memcg's zswap usage with >= 1024 freshly stored entries
  (and a control memcg with fewer than 1024): EAGAIN with nothing written?
* ``series_fairness_{cursor,restart}_b{32,128}`` — Hao Jia's fairness experiment: a parent with 10 children,
  everything pushed into zswap, repeated small ``zswap_writeback_only`` budgets on the parent, second chance
  bypassed; the per-child ``zswpwb_proactive`` split with and without the per-memcg cursor;
* ``series_batch_writeback_b{1,64}`` — the Jul-14 measurement: pool limit 1 %, acceptance threshold 50 %,
  incompressible pages, then a trickle of allocate-and-reclaim; shrink_worker wakeups and shrink_memcg calls.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from zswaplab.vm.scenarios import PAGE_SIZE, mb

# the kernel's name in records and under zswaplab/vm/data/ (uname -r of the patched build)
KERNEL_NAME = "linux-7.2.13-zswaplab"
REPO = Path(__file__).resolve().parents[2]
MAX_RECLAIM_RETRIES = 16
V5_BATCH = 64  # NR_ZSWAP_WB_BATCH

_CURSOR_STRATEGY = {"0": "restart", "1": "per-memcg", "2": "per-memcg-global-lock"}
_PROFILE = {"0": "mainline", "2": "v2", "3": "v3", "5": "v5"}
_YES = ("1", "Y", "y")


def model_setup(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model profile and config overrides that match the patched kernel's zswap parameters ``params``.

    ``proactive`` 0/2/3/5 → profile mainline/v2/v3/v5; ``batch_writeback`` → the batched ``shrink_memcg``
    form with a store-path budget of 1 (Jul-14); ``second_chance=N`` → ``bypass_second_chance``;
    ``proactive_cursor`` 0/1/2 → strategy restart/per-memcg/per-memcg-global-lock; ``proactive_batch`` (v2/v3)
    or ``wb_batch`` (v5) → ``wb_batch``; ``max_pool_percent``/``accept_threshold_percent`` as they are.
    """
    p = {k: str(v) for k, v in params.items()}
    version = p.get("proactive", "0")
    if version not in _PROFILE:
        raise ValueError(f"zswap.proactive={version!r}: the patched kernel accepts 0, 2, 3 or 5")
    cfg: dict[str, Any] = {}
    if p.get("batch_writeback", "N") in _YES:
        cfg.update(shrink_memcg_form="batched", store_shrink_nr=1)
    if p.get("second_chance", "Y") not in _YES:
        cfg["bypass_second_chance"] = True
    if version in ("2", "3"):
        cfg["strategy"] = _CURSOR_STRATEGY[p.get("proactive_cursor", "1")]
        if "proactive_batch" in p:
            cfg["wb_batch"] = int(p["proactive_batch"])
    elif "wb_batch" in p:
        cfg["wb_batch"] = int(p["wb_batch"])
    for key in ("max_pool_percent", "accept_threshold_percent"):
        if key in p:
            cfg[key] = int(p[key])
    return _PROFILE[version], cfg


def _mkdirs(*paths: str) -> list[dict[str, Any]]:
    return [{"op": "mkdir", "cgroup": p} for p in paths]


def _invalid_inputs(cg: str, key: str) -> list[dict[str, Any]]:
    """The selftest's five inputs that must fail with EINVAL (no size; the key combined with swappiness)."""
    values = [key, f"1M {key} swappiness=60", f"1M swappiness=60 {key}", f"1M {key} swappiness=max",
              f"1M swappiness=max {key}"]
    return [{"op": "reclaim", "cgroup": cg, "value": v, "expect": "EINVAL"} for v in values]


def _push(cg: str, proc: str, pages: int, pattern: str = "half", seed: int = 1) -> list[dict[str, Any]]:
    return [
        {"op": "spawn", "proc": proc, "cgroup": cg},
        {"op": "alloc", "proc": proc, "region": "m", "pages": pages, "pattern": pattern, "seed": seed},
        {"op": "reclaim", "cgroup": cg, "value": str(pages * PAGE_SIZE)},
        {"op": "read", "cgroup": cg, "file": "memory.zswap.current", "var": f"usage_{proc}"},
    ]


def series_selftest(version: int) -> dict[str, Any]:
    """The series' ``test_zswap_proactive_writeback`` (v2: must return 0; v3: 0 or EAGAIN with a page budget of
    1024 pages; v5: 0 or EAGAIN with a budget of the memcg's zswap usage in bytes), preceded by its EINVAL
    checks; v2 also probes a sub-page budget (``if (!nr_to_writeback) return 0``)."""
    cg = "/zswap_proactive_test"
    key = "source=zswap" if version == 5 else "zswap_writeback_only"
    steps = _mkdirs(cg) + _invalid_inputs(cg, key) + _push(cg, "p", 1024)
    if version == 5:
        steps.append({"op": "reclaim", "cgroup": cg, "value_from": {"var": "usage_p", "suffix": f" {key}"},
                      "selftest": True})
    else:
        steps.append({"op": "reclaim", "cgroup": cg, "value": f"{1024 * PAGE_SIZE} {key}", "selftest": True})
    if version == 2:
        steps.append({"op": "reclaim", "cgroup": cg, "value": f"1000 {key}", "expect": "0"})
    steps += [{"op": "touch", "proc": "p", "region": "m"}, {"op": "kill", "proc": "p"}]
    return {"name": f"series_selftest_v{version}", "description": series_selftest.__doc__,
            "params": {"proactive": str(version)}, "steps": steps}


def series_v5_fresh_entries() -> dict[str, Any]:
    """v5, one ``"<zswap usage> source=zswap"`` call on a memcg holding >= 1024 freshly stored (referenced)
    entries, then the same call again; a control memcg holds 960 (< 16 x 64) entries."""
    big, small = "/v5_fresh", "/v5_control"
    steps = _mkdirs(big, small) + _push(big, "big", 2048, seed=41) + _push(small, "small", 960, seed=42)
    for cg, proc in ((big, "big"), (small, "small")):
        steps += [
            {"op": "reclaim", "cgroup": cg, "value_from": {"var": f"usage_{proc}", "suffix": " source=zswap"},
             "call": 1},
            {"op": "reclaim", "cgroup": cg, "value_from": {"var": f"usage_{proc}", "suffix": " source=zswap"},
             "call": 2},
        ]
    steps += [{"op": "touch", "proc": "big", "region": "m"}, {"op": "touch", "proc": "small", "region": "m"}]
    return {"name": "series_v5_fresh_entries", "description": series_v5_fresh_entries.__doc__,
            "params": {"proactive": "5"}, "steps": steps}


FAIR_PARENT = "/fair"
FAIR_CHILDREN = 10
FAIR_CHILD_PAGES = 2048  # no child is drained by the requests below, so the split does not depend on its size
FAIR_BUDGET_PAGES = 96  # below both batch sizes' multiples of 10 children: the case the cursor was made for
FAIR_CALLS = 12


def fair_children() -> list[str]:
    return [f"{FAIR_PARENT}/c{i}" for i in range(FAIR_CHILDREN)]


def series_fairness(cursor: bool, batch: int, global_lock: bool = False) -> dict[str, Any]:
    """Hao Jia's fairness experiment (v3 review), scaled: 10 children x 8 MB pushed into zswap, then 12
    requests of 96 pages ("384K zswap_writeback_only") on the parent with the second chance bypassed; the
    per-child zswpwb_proactive split with the per-memcg cursor (v3 as posted; or under the global lock) or
    restarting at the parent."""
    children = fair_children()
    steps = _mkdirs(FAIR_PARENT, *children)
    for i, c in enumerate(children):
        steps += [{"op": "spawn", "proc": f"p{i}", "cgroup": c},
                  {"op": "alloc", "proc": f"p{i}", "region": "m", "pages": FAIR_CHILD_PAGES, "pattern": "half",
                   "seed": 100 + i}]
    steps.append({"op": "reclaim", "cgroup": FAIR_PARENT,
                  "value": str(FAIR_CHILDREN * FAIR_CHILD_PAGES * PAGE_SIZE)})
    steps += [{"op": "reclaim", "cgroup": FAIR_PARENT, "value": f"{FAIR_BUDGET_PAGES * PAGE_SIZE} zswap_writeback_only",
               "fair_call": n} for n in range(FAIR_CALLS)]
    kind, knob = ("globallock", "2") if global_lock else ("cursor", "1") if cursor else ("restart", "0")
    name = f"series_fairness_{kind}_b{batch}"
    return {"name": name, "description": series_fairness.__doc__,
            "params": {"proactive": "3", "second_chance": "N", "proactive_cursor": knob,
                       "proactive_batch": str(batch)},
            "snapshot_cgroups": [FAIR_PARENT, *children], "steps": steps}


BW_CGROUP = "/bw"
BW_TRICKLE = 60  # memeater keeps at most 64 regions


def series_batch_writeback(batch: bool) -> dict[str, Any]:
    """The Jul-14 batch-writeback measurement, scaled: max_pool_percent=1, accept_threshold_percent=50, 16 MB of
    incompressible pages pushed into zswap (the pool hits its limit), then 60 x (allocate one page, reclaim
    4K); debugfs shrink_worker_wakeups / shrink_memcg_calls / written_back_pages, batch 1 (7.2) vs 64."""
    steps = _mkdirs(BW_CGROUP) + [
        {"op": "spawn", "proc": "p", "cgroup": BW_CGROUP},
        {"op": "alloc", "proc": "p", "region": "m", "pages": mb(16), "pattern": "random", "seed": 51},
        {"op": "reclaim", "cgroup": BW_CGROUP, "value": "16M"},
        {"op": "sleep", "seconds": 0.5},
    ]
    for i in range(BW_TRICKLE):
        steps += [{"op": "alloc", "proc": "p", "region": f"t{i}", "pages": 1, "pattern": "byte", "seed": i},
                  {"op": "reclaim", "cgroup": BW_CGROUP, "value": "4K"}]
    steps += [{"op": "sleep", "seconds": 0.5}]
    return {"name": f"series_batch_writeback_b{64 if batch else 1}", "description": series_batch_writeback.__doc__,
            "params": {"max_pool_percent": "1", "accept_threshold_percent": "50",
                       "batch_writeback": "Y" if batch else "N"},
            "steps": steps}


def series_knobs() -> dict[str, Any]:
    """The knobs at their defaults behave as 7.2 (both proactive keys are unknown: EINVAL) and refuse values
    the patch does not define (EINVAL); the debugfs counters exist. Kernel only (the model has no such knobs)."""
    cg = "/knobs"
    bad = [("proactive", "4"), ("proactive", "1"), ("proactive_cursor", "3"), ("wb_batch", "0"),
           ("proactive_batch", "0")]
    return {"name": "series_knobs", "description": series_knobs.__doc__, "params": {},
            "steps": _mkdirs(cg) + [
                {"op": "reclaim", "cgroup": cg, "value": "1M zswap_writeback_only", "expect": "EINVAL"},
                {"op": "reclaim", "cgroup": cg, "value": "1M source=zswap", "expect": "EINVAL"},
                *[{"op": "param", "name": n, "value": v, "expect": "EINVAL"} for n, v in bad],
                {"op": "param", "name": "proactive", "value": "5", "expect": "0"},
                {"op": "reclaim", "cgroup": cg, "value": "1M zswap_writeback_only", "expect": "EINVAL"},
                {"op": "reclaim", "cgroup": cg, "value": "1M source=foo", "expect": "EINVAL"},
                # an empty memcg: 16 passes without a candidate -> EAGAIN (v5 4/6)
                {"op": "reclaim", "cgroup": cg, "value": "1M source=zswap", "expect": "EAGAIN"},
                {"op": "param", "name": "proactive", "value": "3", "expect": "0"},
                {"op": "reclaim", "cgroup": cg, "value": "1M source=zswap", "expect": "EINVAL"},
                {"op": "reclaim", "cgroup": cg, "value": "0 zswap_writeback_only", "expect": "0"},
                {"op": "param", "name": "proactive", "value": "0", "expect": "0"},
            ]}


AGENT_PARENT = "/parent"
AGENT_CHILDREN = ("/parent/c1", "/parent/c2")
AGENT_HALF_PAGES = 256  # mb_per_child = 2 in the sim's premature-abort scenario: 1 MB inactive + 1 MB active
# the agent's policy in the guest; the sim run it is held to uses the same text (zswaplab.agent.cli.premature_abort)
AGENT_POLICY = """
[agent]
interval = "30s"
[[target]]
path = "/parent"
step = "32K"
step_interval = "3s"
guard_scope = "children"
[target.guardrails]
refault_rate = "16K/s"
"""


def series_agent_premature_abort(version: int) -> dict[str, Any]:
    """The agent's premature-abort scenario (Hao Jia's case for the cursor) on the real series: ``zswaplab agent
    --backend cgroupfs`` writes back from /parent in 32K steps; each child has 1 MB stored first (inactive)
    and 1 MB stored after it (active). As in the sim's scenario, a child's active pages are touched soon after
    they are written back: as soon as c1's zswpwb passes the entries c1 had before its active region, the guest
    reclaims 1M of c1 (the written-back folios are still in the swap cache until memory pressure frees them)
    and touches c1's active region; the refaults from disk trip the agent's refault guardrail and it backs off. v3's per-memcg
    cursor alternates the children, so c2's inactive megabyte is written back before the trip; v5 restarts at
    c1 every request and never reaches c2."""
    steps = _mkdirs(AGENT_PARENT, *AGENT_CHILDREN)
    for i, c in enumerate(AGENT_CHILDREN):
        proc = f"p{i + 1}"
        steps += [
            {"op": "spawn", "proc": proc, "cgroup": c},
            {"op": "alloc", "proc": proc, "region": "i", "pages": AGENT_HALF_PAGES, "pattern": "ratio3",
             "seed": 90 + i},
            {"op": "reclaim", "cgroup": c, "value": "2M"},  # the process's own pages and the inactive half
            {"op": "read", "cgroup": c, "file": "memory.stat", "key": "zswpout", "var": f"inactive_{proc}"},
            {"op": "alloc", "proc": proc, "region": "a", "pages": AGENT_HALF_PAGES, "pattern": "ratio3",
             "seed": 95 + i},
            {"op": "reclaim", "cgroup": c, "value": "2M"},
        ]
    agent = ["{python}", "-m", "zswaplab.cli", "agent", "--config", "{tmp}/agent.toml", "--backend", "cgroupfs",
             "--cycles", "1", "--log-level", "debug"]
    steps += [
        {"op": "write_file", "path": "{tmp}/agent.toml", "text": AGENT_POLICY},
        {"op": "exec", "background": "agent", "argv": agent},
        {"op": "wait_for", "cgroup": AGENT_CHILDREN[0], "key": "zswpwb", "above": "inactive_p1", "timeout": 400},
        # memory pressure frees the written-back folios, which stay in the swap cache until reclaimed; without it
        # the touch finds them there (a minor fault: no pswpin, nothing for the refault guardrail to see)
        {"op": "reclaim", "cgroup": AGENT_CHILDREN[0], "value": "1M"},
        {"op": "touch", "proc": "p1", "region": "a"},
        {"op": "wait_exec", "name": "agent", "timeout": 400},
        {"op": "kill", "proc": "p1"},
        {"op": "kill", "proc": "p2"},
    ]
    params = {"proactive": str(version)}
    if version == 3:
        params.update(proactive_cursor="1", proactive_batch="128")
    return {"name": f"series_agent_premature_abort_v{version}", "description": series_agent_premature_abort.__doc__,
            "params": params, "snapshot_cgroups": [AGENT_PARENT, *AGENT_CHILDREN], "steps": steps}


MODEL_EXCLUDED = frozenset({"series_knobs", "series_agent_premature_abort_v3",
                            "series_agent_premature_abort_v5"})

SERIES_SCENARIOS: dict[str, dict[str, Any]] = {
    s["name"]: s for s in (
        series_selftest(2), series_selftest(3), series_selftest(5), series_v5_fresh_entries(),
        series_fairness(True, 128), series_fairness(False, 128), series_fairness(True, 32),
        series_fairness(False, 32), series_fairness(True, 32, global_lock=True), series_batch_writeback(False),
        series_batch_writeback(True), series_knobs(), series_agent_premature_abort(3),
        series_agent_premature_abort(5),
    )
}


def get(name: str) -> dict[str, Any]:
    """A deep copy of the named series scenario (KeyError lists the known names)."""
    if name not in SERIES_SCENARIOS:
        raise KeyError(f"unknown series scenario {name!r}; known: {', '.join(SERIES_SCENARIOS)}")
    return copy.deepcopy(SERIES_SCENARIOS[name])


# ------------------------------------------------------------------------------------------- result extraction
def steps_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("type") == "step"]


def _stat(rec: dict[str, Any], cg: str, key: str) -> int:
    return int(rec["cgroups"].get(cg, {}).get("memory.stat", {}).get(key, 0))


def reclaim_results(records: list[dict[str, Any]], marker: str, value: Any = None) -> list[dict[str, Any]]:
    """The result (rc, errno) of every reclaim step whose action carries ``marker`` (equal to ``value`` if given)."""
    return [r["result"] for r in steps_of(records) if r["action"].get("op") == "reclaim" and marker in r["action"]
            and (value is None or r["action"][marker] == value)]


def selftest_outcome(records: list[dict[str, Any]], version: int) -> dict[str, Any]:
    """The selftest's verdict inputs: EINVAL checks, the request's rc and the counter deltas around it."""
    steps = steps_of(records)
    cg = "/zswap_proactive_test"
    i = next(n for n, r in enumerate(steps) if r["action"].get("selftest"))
    before, after = steps[i - 1], steps[i]
    stat = "zswpwb_proactive_b" if version == 5 else "zswpwb_proactive"
    out = {
        "einval": [r["errno"] for r in reclaim_results(records, "expect", "EINVAL")],
        "rc": after["result"]["rc"], "errno": after["result"]["errno"],
        "pwb_delta": _stat(after, cg, stat) - _stat(before, cg, stat),
        "wb_delta": _stat(after, cg, "zswpwb") - _stat(before, cg, "zswpwb"),
        "entries_before": _stat(before, cg, "zswapped") // PAGE_SIZE,
    }
    if version == 2:
        out["subpage_rc"] = reclaim_results(records, "expect", "0")[0]["rc"]
    return out


def selftest_passes(outcome: dict[str, Any], version: int) -> bool:
    """The assertions of the series' test_zswap_proactive_writeback (v2: rc 0; v3/v5: rc 0 or EAGAIN)."""
    if outcome["einval"] != ["EINVAL"] * 5:
        return False
    ok_rc = (0,) if version == 2 else (0, -11)
    if outcome["rc"] not in ok_rc or outcome["pwb_delta"] <= 0 or outcome["wb_delta"] <= 0:
        return False
    if version in (2, 3) and outcome["pwb_delta"] > outcome["wb_delta"]:
        return False
    return True


def fairness_split(records: list[dict[str, Any]]) -> list[int]:
    """Pages each child wrote back proactively over the repeated requests (zswpwb_proactive deltas)."""
    steps = steps_of(records)
    first = next(n for n, r in enumerate(steps) if "fair_call" in r["action"])
    before, after = steps[first - 1], steps[-1]
    return [_stat(after, c, "zswpwb_proactive") - _stat(before, c, "zswpwb_proactive") for c in fair_children()]


def fresh_entries_outcome(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per v5 call of ``series_v5_fresh_entries``: cgroup, entries before, rc, bytes and pages written."""
    steps = steps_of(records)
    out = []
    for n, r in enumerate(steps):
        if "call" not in r["action"]:
            continue
        cg, before = r["action"]["cgroup"], steps[n - 1]
        out.append({"cgroup": cg, "call": r["action"]["call"], "rc": r["result"]["rc"],
                    "errno": r["result"]["errno"], "entries_before": _stat(before, cg, "zswapped") // PAGE_SIZE,
                    "bytes_written": _stat(r, cg, "zswpwb_proactive_b") - _stat(before, cg, "zswpwb_proactive_b"),
                    "pages_written": _stat(r, cg, "zswpwb") - _stat(before, cg, "zswpwb")})
    return out


BW_COUNTERS = ("shrink_worker_wakeups", "shrink_memcg_calls", "written_back_pages", "pool_limit_hit")


def batch_counters(records: list[dict[str, Any]]) -> dict[str, int]:
    """debugfs counters at the end of a batch-writeback run."""
    last = steps_of(records)[-1]["debugfs"]
    return {k: int(last.get(k, 0)) for k in BW_COUNTERS}


# the patched kernel's extra debugfs counters, which the model keeps in Kernel.counters
MODEL_COUNTERS = ("shrink_worker_wakeups", "shrink_memcg_calls")


def run_on_model(scenario: dict[str, Any], *, totalram_pages: int, swap_pages: int,
                 seed: int = 0) -> list[dict[str, Any]]:
    """Run a series scenario on the model configured by :func:`model_setup` from the scenario's params; the
    model's ``shrink_worker_wakeups``/``shrink_memcg_calls`` counters appear in ``debugfs`` as on the kernel."""
    from zswaplab.vm.model import ModelDriver

    profile, cfg = model_setup(scenario.get("params", {}))

    class _Driver(ModelDriver):
        def snapshot(self) -> dict[str, Any]:
            snap = super().snapshot()
            snap["debugfs"].update({k: int(self.k.counters.get(k, 0)) for k in MODEL_COUNTERS})
            return snap

    return _Driver(scenario, totalram_pages=totalram_pages, swap_pages=swap_pages, profile=profile, seed=seed,
                   **cfg).run()


def align_to_kernel(scenario: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """``scenario`` with each pushed region sized to the entries the kernel actually had in zswap after the push.

    ``memory.reclaim`` of N pages on the kernel also takes the workload process's own pages (binary, page
    cache) and leaves some of the region resident (e.g. 969 of 1024 'half' pages in zswap), while the model
    has no other pages and stores exactly N. The proactive questions depend on the number of entries on the
    LRU (16 x 64 = 1024 is v5's threshold), so the model starts from the kernel's count: the region of every
    process whose push is followed by a ``read`` of ``usage_<proc>`` gets that many pages.
    """
    sc = copy.deepcopy(scenario)
    kernel_steps = {r["step"]: r for r in steps_of(records)}
    for i, step in enumerate(sc["steps"]):
        var = step.get("var", "")
        if step["op"] != "read" or not var.startswith("usage_") or i not in kernel_steps:
            continue
        proc = var.removeprefix("usage_")
        entries = _stat(kernel_steps[i], step["cgroup"], "zswapped") // PAGE_SIZE
        for alloc in sc["steps"][:i]:
            if alloc["op"] == "alloc" and alloc["proc"] == proc and alloc["region"] == "m":
                alloc["pages"] = entries
    return sc


def model_for(records: list[dict[str, Any]], scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's records for ``scenario`` (aligned to the kernel's entry counts, :func:`align_to_kernel`) on
    the machine size the kernel's header reports."""
    h = records[0]
    return run_on_model(align_to_kernel(scenario, records), totalram_pages=int(h["totalram_pages"]),
                        swap_pages=int(h["swap"]["swap_pages"]))


# --------------------------------------------------------------------------------------------- running in the VM
def build_kernel_path(build: bool = False) -> Path:
    """The patched bzImage from ``scripts/build-kernel.sh`` (built when ``build``; else it must be cached)."""
    cmd = ["bash", str(REPO / "scripts" / "build-kernel.sh")] + ([] if build else ["--path"])
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise FileNotFoundError(f"the patched kernel is not built (run scripts/build-kernel.sh): {p.stderr[-2000:]}")
    return Path(p.stdout.strip().splitlines()[-1])


def _find_vng() -> Path:
    from zswaplab.vm.harness import cache_dir

    for cand in (os.environ.get("ZSWAPLAB_VNG"), cache_dir() / "vng-venv" / "bin" / "vng",
                 Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zswaplab" / "vng-venv" / "bin" / "vng",
                 shutil.which("vng")):
        if cand and Path(cand).exists():
            return Path(cand)
    raise FileNotFoundError("virtme-ng (vng) not found: run `make vm-test` or set ZSWAPLAB_VNG")


def patched_assets(bzimage: Path) -> Any:
    """Harness assets that boot ``bzimage`` (the patched 7.2 build) instead of the harness's default kernel."""
    from zswaplab.vm.harness import Assets, build_memeater

    meta = json.loads((bzimage.parent / "meta.json").read_text()) if (bzimage.parent / "meta.json").exists() else {}
    return Assets(vmlinuz=bzimage, kernel_release=meta.get("release", KERNEL_NAME.removeprefix("linux-")),
                  kernel_package=f"build-kernel.sh {meta.get('key', bzimage.parent.name)}",
                  kernel_name=KERNEL_NAME, vng=_find_vng(),
                  memeater=build_memeater(), python=sys.executable)


def run_in_vm(name: str, bzimage: Path, *, timeout: float = 900) -> list[dict[str, Any]]:
    """Boot the patched kernel, run series scenario ``name``, return its records (header names the build)."""
    from zswaplab.vm.harness import run_scenario

    assets = patched_assets(bzimage)
    run = run_scenario(get(name), timeout=timeout, assets=assets)
    header = run.records[0]
    header["kernel_build"] = assets.kernel_package
    return run.records


DATA_DIR = Path(__file__).resolve().with_name("data") / KERNEL_NAME


def main(argv: list[str] | None = None) -> int:
    """``python -m zswaplab.vm.series record [NAME...]`` boots the patched kernel per scenario and writes
    ``zswaplab/vm/data/linux-7.2.13-zswaplab/NAME.jsonl``; ``report`` prints kernel vs model per question."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m zswaplab.vm.series", description=main.__doc__)
    ap.add_argument("command", choices=("record", "report", "list"))
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    names = args.names or list(SERIES_SCENARIOS)
    if args.command == "list":
        print("\n".join(SERIES_SCENARIOS))
        return 0
    if args.command == "record":
        bz = build_kernel_path()
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        for name in names:
            t0 = time.monotonic()
            recs = run_in_vm(name, bz)
            (DATA_DIR / f"{name}.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in recs))
            print(f"{name}: {len(recs)} records in {time.monotonic() - t0:.0f}s", flush=True)
        return 0
    print(report(names))
    return 0


def load_recorded(name: str) -> list[dict[str, Any]]:
    path = DATA_DIR / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def outcome(name: str, records: list[dict[str, Any]]) -> Any:
    """The question-specific result of one run (kernel or model)."""
    if name.startswith("series_selftest_v"):
        v = int(name.removeprefix("series_selftest_v"))
        o = selftest_outcome(records, v)
        return {**o, "passes": selftest_passes(o, v)}
    if name.startswith("series_fairness"):
        return fairness_split(records)
    if name == "series_knobs":
        return [(r["action"].get("name") or r["action"]["value"], r["result"]["errno"] or "0")
                for r in steps_of(records) if "expect" in r["action"]]
    if name == "series_v5_fresh_entries":
        return fresh_entries_outcome(records)
    if name.startswith("series_agent_premature_abort"):
        o = agent_outcome(records)
        return {"steps": o["steps"], "tripped_on": o["tripped_on"], "zswpwb": o["zswpwb"]}
    return batch_counters(records)


def agent_events(log_text: str) -> list[dict[str, Any]]:
    """The agent's JSON log events (one per line; other lines are skipped)."""
    out = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def agent_run_summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What one agent cycle did, from its events: the interface and counter detected, each step's outcome,
    and where the refault guardrail tripped (kernel and sim runs alike)."""
    cap = next((e for e in events if e["event"] == "capability"), {})
    trip = next((e for e in events if e["event"] == "guardrail_trip"), None)
    return {"interface": cap.get("interface"), "counter": cap.get("counter"),
            "steps": [e["outcome"] for e in events if e["event"] == "step"],
            "tripped_on": sorted(t["where"] for t in trip["trips"]) if trip else []}


def agent_outcome(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The premature-abort run on the kernel: :func:`agent_run_summary` of the agent's log, each child's zswpwb
    when the agent finished, and the entries each child had before its active region (``inactive_<proc>``)."""
    steps = steps_of(records)
    done = next(r for r in steps if r["action"]["op"] == "wait_exec")
    inactive = {r["action"]["cgroup"]: int(r["result"]["value"]) for r in steps
                if r["action"]["op"] == "read" and r["action"].get("var", "").startswith("inactive_")}
    return {**agent_run_summary(agent_events(done["result"]["stderr"])), "rc": done["result"]["rc"],
            "zswpwb": {c: _stat(done, c, "zswpwb") for c in AGENT_CHILDREN}, "inactive": inactive}


def report(names: list[str]) -> str:
    lines = ["| scenario | kernel | model | same |", "|---|---|---|---|"]
    for name in names:
        path = DATA_DIR / f"{name}.jsonl"
        if not path.exists():
            lines.append(f"| {name} | (not recorded) | | |")
            continue
        krec = load_recorded(name)
        k = outcome(name, krec)
        if name in MODEL_EXCLUDED:
            lines.append(f"| {name} | `{json.dumps(k)}` | (kernel only) | |")
            continue
        m = outcome(name, model_for(krec, get(name)))
        lines.append(f"| {name} | `{json.dumps(k)}` | `{json.dumps(m)}` | {k == m} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
