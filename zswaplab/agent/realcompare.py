"""The agent against the Senpai baseline on the running kernel (run as root in the VM: stock Linux 7.2).

``python -m zswaplab.agent.realcompare --out runs.jsonl [--mb 256] [--duration 600] [--shapes ...]``

For each workload shape (:func:`~zswaplab.agent.compare.hot_indices`, the schedule of the model runs) and each
controller, a cgroup ``/sys/fs/cgroup/zswaplab-cmp/<shape>-<controller>`` is created with the memory
controller enabled and ``memory.zswap.max`` a quarter of the workload's compressed size, a worker process is
moved into it, maps ``mb`` MiB of anonymous memory filled with
compressible data (~4:1) and touches its hot set once per second. The controller runs meanwhile:

* ``senpai``: :class:`~zswaplab.agent.pacing.Senpai` ticked every second on the cgroup's real
  ``memory.pressure`` and ``memory.current``, probes written to ``memory.reclaim`` (no swappiness key);
* ``agent``: :class:`~zswaplab.agent.engine.Agent` on the cgroupfs backend with the model runs' policy
  (``compare.AGENT_POLICY``: ``action = "reclaim"``, 3 s reclaim spread in 1 s steps + a 3 s pause,
  ``budget_per_cycle`` = 1/16 of the workload, ``psi_target`` = Senpai's 10 ms / 6 s).

One JSON line per run: ``memory.stat`` deltas (``zswpout``; ``zswpwb`` + ``pswpout`` to disk; ``zswpin``,
``pswpin``), PSI ``some`` total, mean non-resident MiB of the workload's own mapping (``mb`` minus its pages
present in ``/proc/PID/pagemap``, sampled each second: the cgroup's counters also hold the worker's
interpreter).
``--table FILE`` prints the Markdown table of a JSONL file. Needs: root, cgroup v2 with ``memory``, zswap
enabled, a swap device.
"""

from __future__ import annotations

import argparse
import array
import ctypes
import io
import json
import mmap
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..kernel.constants import PAGE_SIZE
from . import logs
from .cgroupfs import CgroupFSBackend
from .compare import AGENT_POLICY, PSI_TARGET_PCT, SHAPES, hot_indices, seeded_order
from .engine import Agent
from .metrics import Metrics
from .pacing import Senpai, SenpaiConfig, Step
from .policy import loads
from .stats import parse_memory_stat, parse_pressure

MOUNT = Path("/sys/fs/cgroup")
TOP = "zswaplab-cmp"


def worker(mb: int, shape: str, duration_s: float, seed: int) -> None:
    """The workload (runs in the cgroup): fill, report ready on stdout, then touch the hot set each second
    (``duration_s`` is the schedule's length; it runs until killed)."""
    n = mb * (1 << 20) // PAGE_SIZE
    mem = mmap.mmap(-1, n * PAGE_SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    # base pages, as in the model: with transparent huge pages a hot set of random 4K pages makes every 2M
    # folio hot, and reclaim finds nothing cold in the mapping (the first VM runs: 0 MiB offloaded from it)
    mem.madvise(mmap.MADV_NOHUGEPAGE)
    chunk = (os.urandom(PAGE_SIZE // 4) * 4)[:PAGE_SIZE]  # ~4:1 compressible
    for i in range(n):
        mem[i * PAGE_SIZE:(i + 1) * PAGE_SIZE] = chunk
    order = seeded_order(n, seed)
    # the parent measures this mapping's own residency in /proc/PID/pagemap (not the cgroup's: that also holds
    # this interpreter's memory, which reclaim may take too)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    print(f"ready {addr:x}", flush=True)
    t0 = time.monotonic()
    while True:
        t = time.monotonic() - t0
        for i in hot_indices(shape, order, t, duration_s):
            mem[i * PAGE_SIZE] = (mem[i * PAGE_SIZE] + 1) & 0xFF
        time.sleep(max(0.0, 1.0 - ((time.monotonic() - t0) - t)))


def _read(cg: Path, f: str) -> str:
    return (cg / f).read_text()


PM_PRESENT = 1 << 63  # /proc/PID/pagemap: the page is in RAM (Documentation/admin-guide/mm/pagemap.rst)


def resident_pages(pagemap: bytes) -> int:
    """Pages present in RAM among the 64-bit ``/proc/PID/pagemap`` entries in ``pagemap``."""
    entries = array.array("Q", pagemap)
    if sys.byteorder != "little":
        entries.byteswap()
    return sum(1 for e in entries if e & PM_PRESENT)


def mapping_resident_kib(pid: int, addr: int, size: int) -> int:
    """KiB of ``[addr, addr + size)`` of process ``pid`` resident in RAM, page by page from its pagemap (exact
    for that range only: an ``smaps`` line may cover a merged neighbour mapping too)."""
    n = size // PAGE_SIZE
    fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    try:
        data = os.pread(fd, n * 8, addr // PAGE_SIZE * 8)
    finally:
        os.close(fd)
    return resident_pages(data) * (PAGE_SIZE // 1024)


def run_one(shape: str, controller: str, mb: int, duration_s: int, seed: int) -> dict[str, object]:
    (MOUNT / "cgroup.subtree_control").write_text("+memory")
    top = MOUNT / TOP
    top.mkdir(exist_ok=True)
    (top / "cgroup.subtree_control").write_text("+memory")
    cg = top / f"{shape}-{controller}"
    cg.mkdir()
    # as on the model: zswap may hold a quarter of the workload's compressed size (~4:1), then it writes back
    (cg / "memory.zswap.max").write_text(str(mb * (1 << 20) // 16))
    proc = subprocess.Popen([sys.executable, "-m", "zswaplab.agent.realcompare", "--worker", shape, "--mb", str(mb),
                             "--duration", str(duration_s), "--seed", str(seed)],
                            stdout=subprocess.PIPE, text=True)
    try:
        (cg / "cgroup.procs").write_text(str(proc.pid))
        assert proc.stdout is not None
        word, _, hexaddr = proc.stdout.readline().strip().partition(" ")
        assert word == "ready", word
        addr = int(hexaddr, 16)
        before = parse_memory_stat(_read(cg, "memory.stat")).values
        p0 = parse_pressure(_read(cg, "memory.pressure"))
        resident: list[int] = []  # KiB of the workload's mapping resident, each second
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(1.0):
                resident.append(mapping_resident_kib(proc.pid, addr, mb << 20))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        if controller == "senpai":
            s = Senpai(SenpaiConfig(), p0.some_total if p0 else 0)
            end = time.monotonic() + duration_s
            while time.monotonic() < end:
                time.sleep(1.0)
                p = parse_pressure(_read(cg, "memory.pressure"))
                step, n = s.tick(p.some_total if p else 0, int(_read(cg, "memory.current")))
                if step is Step.PROBE:
                    try:
                        (cg / "memory.reclaim").write_text(str(n))
                    except OSError:
                        pass  # EAGAIN: reclaimed less than asked
        else:
            budget = mb * (1 << 20) // 16
            pol = loads(AGENT_POLICY.format(cg=f"/{TOP}/{cg.name}", step=budget, budget=budget,
                                            target=PSI_TARGET_PCT))
            logs.setup(io.StringIO(), "warning")
            be = CgroupFSBackend(str(MOUNT))
            end = time.monotonic() + duration_s
            try:
                ag = Agent(pol, be, metrics=Metrics(process=False))

                def until_the_end(_rep: object) -> None:
                    if time.monotonic() + pol.agent.interval >= end:
                        ag.stop.set()

                ag.run(keep=0, on_cycle=until_the_end)
            finally:
                be.close()
        stop.set()
        sampler.join()
        after = parse_memory_stat(_read(cg, "memory.stat")).values
        p1 = parse_pressure(_read(cg, "memory.pressure"))
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.5)
    cg.rmdir()
    mib = PAGE_SIZE / (1 << 20)

    def d(k: str) -> int | None:
        return after[k] - before[k] if k in after and k in before else None

    return {"shape": shape, "controller": controller, "mb": mb, "duration_s": duration_s, "seed": seed,
            "kernel": os.uname().release,
            "to_zswap_mib": (d("zswpout") or 0) * mib, "to_disk_mib": ((d("zswpwb") or 0) + (d("pswpout") or 0)) * mib,
            "offloaded_mean_mib": mb - (sum(resident) / len(resident) / 1024 if resident else float(mb)),
            "psi_some_s": ((p1.some_total - p0.some_total) / 1e6) if p0 and p1 else None,
            "refaults_zswap": d("zswpin"), "refaults_disk": d("pswpin")}


def table(path: str) -> str:
    rows = ["| workload | controller | to zswap MiB | to disk MiB | offloaded (mean) MiB | PSI some ms | "
            "refaults zswap / disk |", "|---|---|---|---|---|---|---|"]
    for line in Path(path).read_text().splitlines():
        r = json.loads(line)
        psi = "n/a" if r["psi_some_s"] is None else f"{1e3 * r['psi_some_s']:.2f}"
        rows.append(f"| {r['shape']} | {r['controller']} | {r['to_zswap_mib']:.1f} | {r['to_disk_mib']:.1f} | "
                    f"{r['offloaded_mean_mib']:.2f} | {psi} | {r['refaults_zswap']} / {r['refaults_disk']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zswaplab.agent.realcompare", description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="JSONL file to append one line per run to")
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--duration", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shapes", nargs="*", default=list(SHAPES))
    ap.add_argument("--table", help="print the Markdown table of this JSONL file and exit")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.mb, a.worker, a.duration, a.seed)
        return 0
    if a.table:
        print(table(a.table))
        return 0
    if not a.out:
        ap.error("--out is required")
    for shape in a.shapes:
        for controller in ("senpai", "agent"):
            rec = run_one(shape, controller, a.mb, a.duration, a.seed)
            with open(a.out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
