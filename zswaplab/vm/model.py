"""Model-side scenario driver: runs the same scenario steps as :mod:`zswaplab.vm.guest` on
:class:`zswaplab.kernel.Kernel` and emits records of the same shape, so the two can be compared step by step.

Mapping of the workload onto the model (the model has no processes or page contents):

* ``spawn`` binds a process name to its cgroup; ``alloc`` = ``Kernel.alloc(cgroup, pages, clen)`` with the
  compressed length of the pattern measured on the real kernel (:data:`COMPRESSED_LEN`, lzo on 6.12, checked
  by the VM test ``test_calibration_matches_table``); ``touch`` = ``Kernel.touch`` and counts pages that are not
  lost (freed) as ``bad``; ``free``/``kill`` = ``Kernel.free``.
* knob writes and ``memory.reclaim`` go through ``Kernel.fs`` (``OSError`` → ``rc = -errno``); ``param``
  replaces the module parameter in ``Kernel.config``; ``sleep`` = ``Kernel.advance``; ``exec`` is not modelled.
"""

from __future__ import annotations

import errno
from dataclasses import fields
from typing import Any

from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.kernel.page import Page, PageState
from zswaplab.vm.guest import parse_kv, parse_number, parse_pressure

# Mean compressed length (bytes) of one page of each memeater pattern, measured on Linux 6.12.117 with lzo
# (scenario "calibration": memory.zswap.current / (memory.stat zswapped / 4096), 8128 pages each).
COMPRESSED_LEN: dict[str, int] = {
    "zero": 0,  # zero-filled: the swap core's zeromap takes it, zswap never sees it
    "byte": 45,  # 364337 / 8128
    "half": 307,  # 2498055 / 8128
    "ratio3": 1787,  # 14521612 / 8128
    "ratio2": 3096,  # 25168287 / 8128
    "random": 4096,  # incompressible: lzo output >= PAGE_SIZE -> 6.12 rejects (reject_compress_poor)
}

_PARAM_FIELDS = {"max_pool_percent": int, "accept_threshold_percent": int,
                 "shrinker_enabled": bool, "enabled": bool}


def _param_value(kind: type, text: str) -> int | bool:
    if kind is bool:
        t = text.strip().upper()
        if t not in ("Y", "N", "1", "0"):
            raise ValueError(f"bad boolean parameter {text!r}")
        return t in ("Y", "1")
    return int(text)


class ModelDriver:
    """Executes scenario steps on one :class:`Kernel` (profile ``6.12`` by default)."""

    def __init__(self, scenario: dict[str, Any], *, totalram_pages: int, swap_pages: int, profile: str = "6.12",
                 seed: int = 0, **config: Any) -> None:
        self.scenario = scenario
        self.k = Kernel(KernelConfig(profile=profile, totalram_pages=totalram_pages, swap_pages=swap_pages,
                                     **config), seed=seed)
        self.proc_cgroup: dict[str, str] = {}
        self.regions: dict[tuple[str, str], list[Page]] = {}
        self.cgroups: list[str] = list(scenario.get("snapshot_cgroups", []))
        self.vars: dict[str, Any] = {}

    def _value(self, step: dict[str, Any]) -> str:
        if "value" in step:
            return str(step["value"])
        src = step["value_from"]
        raw = self.vars[src["var"]] if "var" in src else parse_number(self.k.fs.read(src["cgroup"], src["file"]))
        return str(int(raw) // int(src.get("div", 1))) + str(src.get("suffix", ""))

    def _write(self, cgroup: str, file: str, value: str) -> dict[str, Any]:
        try:
            self.k.fs.write(cgroup, file, value.encode("latin-1"))  # as the guest sends it
        except OSError as e:
            return {"rc": -e.errno, "errno": errno.errorcode.get(e.errno, str(e.errno)), "value": value}
        return {"rc": 0, "errno": None, "value": value}

    def run_step(self, step: dict[str, Any]) -> dict[str, Any]:
        op = step["op"]
        k = self.k
        if op == "mkdir":
            k.fs.mkdir(step["cgroup"])
            if step["cgroup"] not in self.cgroups:
                self.cgroups.append(step["cgroup"])
            return {"rc": 0, "errno": None}
        if op == "write":
            return self._write(step["cgroup"], step["file"], self._value(step))
        if op == "reclaim":
            return self._write(step["cgroup"], "memory.reclaim", self._value(step))
        if op == "param":
            name = step["name"]
            if name not in _PARAM_FIELDS:
                return {"rc": -errno.ENOENT, "errno": "ENOENT"}
            field_name = "zswap_enabled" if name == "enabled" else name
            value = _param_value(_PARAM_FIELDS[name], str(step["value"]))
            k.config = k.config.with_(**{field_name: value})
            return {"rc": 0, "errno": None, "now": str(step["value"])}
        if op == "spawn":
            self.proc_cgroup[step["proc"]] = step["cgroup"]
            return {"rc": 0}
        if op == "alloc":
            pattern = step["pattern"]
            if pattern not in COMPRESSED_LEN:
                raise ValueError(f"pattern {pattern!r} has no calibrated compressed length")
            cg = self.proc_cgroup[step["proc"]]
            self.regions[(step["proc"], step["region"])] = k.alloc(cg, int(step["pages"]),
                                                                   clen=COMPRESSED_LEN[pattern])
            return {"rc": 0}
        if op == "touch":
            pages = self.regions[(step["proc"], step["region"])]
            first = int(step.get("first", 0))
            sel = pages[first:first + int(step.get("count", len(pages)))]
            k.touch(sel)
            # the model has no page contents: a page is "bad" if it was lost (freed behind the workload's back)
            return {"rc": 0, "checked": len(sel), "bad": sum(p.state is PageState.FREED for p in sel)}
        if op == "free":
            k.free(self.regions.pop((step["proc"], step["region"])))
            return {"rc": 0}
        if op == "move":  # charges stay with the old cgroup; later allocations go to the new one
            self.proc_cgroup[step["proc"]] = step["cgroup"]
            return {"rc": 0, "errno": None}
        if op == "rmdir":
            try:
                k.fs.rmdir(step["cgroup"])
            except OSError as e:
                return {"rc": -e.errno, "errno": errno.errorcode.get(e.errno, str(e.errno))}
            return {"rc": 0, "errno": None}
        if op == "kill":
            name = step["proc"]
            for key in [key for key in self.regions if key[0] == name]:
                k.free(self.regions.pop(key))
            self.proc_cgroup.pop(name, None)
            return {"rc": 0, "exit": 0}
        if op == "sleep":
            k.advance(float(step["seconds"]))
            return {"rc": 0}
        if op == "read":
            value = parse_number(k.fs.read(step["cgroup"], step["file"]))
            if "var" in step:
                self.vars[step["var"]] = value
            return {"rc": 0, "value": value}
        if op == "exec":
            return {"rc": None, "skipped": "exec is not modelled"}
        raise ValueError(f"unknown op {op!r}")

    def snapshot(self) -> dict[str, Any]:
        k = self.k
        cgroups: dict[str, Any] = {}
        for cg in self.cgroups:
            if not k.fs.exists(cg):
                continue
            snap: dict[str, Any] = {"memory.stat": parse_kv(k.fs.read(cg, "memory.stat"))}
            for f in ("memory.current", "memory.swap.current", "memory.swap.peak", "memory.zswap.current"):
                snap[f] = parse_number(k.fs.read(cg, f))
            snap["memory.pressure"] = parse_pressure(k.fs.read(cg, "memory.pressure"))
            cgroups[cg] = snap
        vmstat = {key: int(k.vm_events.get(key, 0)) for key in ("zswpout", "zswpin", "zswpwb", "pswpout", "pswpin")}
        return {"cgroups": cgroups, "debugfs": dict(k.debugfs()), "vmstat": vmstat}

    def header(self) -> dict[str, Any]:
        c = self.k.config
        return {"type": "header", "scenario": self.scenario.get("name"), "kernel": f"model:{c.profile}",
                "totalram_pages": c.totalram_pages, "swap": {"swap_pages": c.swap_pages},
                "zswap_params": {"max_pool_percent": str(c.max_pool_percent),
                                 "accept_threshold_percent": str(c.accept_threshold_percent),
                                 "shrinker_enabled": "Y" if c.shrinker_enabled else "N"},
                "config": {f.name: getattr(c, f.name) for f in fields(c) if f.name != "extra"},
                "seed": self.k.seed}

    def run(self) -> list[dict[str, Any]]:
        records = [self.header()]
        for i, step in enumerate(self.scenario["steps"]):
            result = self.run_step(step)
            rec: dict[str, Any] = {"type": "step", "step": i, "action": step, "cgroup": step.get("cgroup"),
                                   "result": result, "t": self.k.clock_ns / 1e9}
            rec.update(self.snapshot())
            records.append(rec)
        records.append({"type": "end", "ok": True, "error": None})
        return records


def run_model(scenario: dict[str, Any], *, totalram_pages: int, swap_pages: int, profile: str = "6.12",
              seed: int = 0, **config: Any) -> list[dict[str, Any]]:
    """Run ``scenario`` on the model and return its records (header, one per step, end)."""
    return ModelDriver(scenario, totalram_pages=totalram_pages, swap_pages=swap_pages, profile=profile, seed=seed,
                       **config).run()
