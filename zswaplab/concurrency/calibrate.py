"""Measure the contention model's CPU costs on this machine: a small C microbenchmark (``csrc/atomics_bench.c``)
of an uncontended atomic, an uncontended spinlock pair, a cache-line transfer and a spinlock hand-off between
two CPUs, built with the system C compiler and run once. Used by ``zswaplab contention --calibrate`` and the
contention benchmark; the results replace the corresponding :class:`~.timed.Costs` defaults and are labelled
"measured" in every report."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("csrc") / "atomics_bench.c"


class CalibrationUnavailable(RuntimeError):
    """No C compiler, or the machine has a single CPU (no hand-off to measure)."""


@dataclass(frozen=True)
class Calibration:
    cpus: int
    atomic_ns: float
    lock_ns: float
    pingpong_ns: float
    handoff_ns: float

    def overrides(self) -> list[str]:
        """``Costs.override`` assignments: atomics, lock pair, lock hand-off; a refcount op on a shared
        line (tryget/put of a css in atomic mode) costs one atomic."""
        return [f"atomic_ns={self.atomic_ns:.2f}", f"lock_ns={self.lock_ns:.2f}",
                f"handoff_ns={self.handoff_ns:.2f}"]

    def describe(self) -> str:
        return (f"measured on this machine ({self.cpus} CPUs, csrc/atomics_bench.c): xchg {self.atomic_ns:.1f} ns, "
                f"spin_lock+unlock {self.lock_ns:.1f} ns, cache-line transfer {self.pingpong_ns:.1f} ns, "
                f"lock hand-off {self.handoff_ns:.1f} ns")


def parse(text: str) -> Calibration:
    vals: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            vals[parts[0]] = float(parts[1])
    missing = {"cpus", "atomic_ns", "lock_ns", "pingpong_ns", "handoff_ns"} - set(vals)
    if missing:
        raise CalibrationUnavailable(f"atomics_bench output lacks {sorted(missing)}: {text!r}")
    return Calibration(int(vals["cpus"]), vals["atomic_ns"], vals["lock_ns"], vals["pingpong_ns"],
                       vals["handoff_ns"])


def calibrate(iterations: int = 200_000) -> Calibration:
    """Build and run the microbenchmark (a few seconds; longer on a loaded machine)."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise CalibrationUnavailable("no C compiler (gcc/cc) to build the calibration microbenchmark")
    with tempfile.TemporaryDirectory(prefix="zswaplab-calib-") as d:
        exe = Path(d) / "atomics_bench"
        p = subprocess.run([cc, "-O2", "-pthread", "-o", str(exe), str(SOURCE)], capture_output=True, text=True)
        if p.returncode != 0:
            raise CalibrationUnavailable(f"building {SOURCE.name} failed:\n{p.stderr}")
        out = subprocess.run([str(exe), str(iterations)], capture_output=True, text=True, timeout=600, check=True)
    cal = parse(out.stdout)
    if cal.cpus < 2:
        raise CalibrationUnavailable("one CPU: no cache-line transfer or lock hand-off to measure")
    return cal
