"""Run the SPIN model checker on the Promela models in ``models/`` (cross-check of the Python checker).

``spin -a`` generates the verifier, ``gcc -DSAFETY`` compiles it, ``./pan`` explores every interleaving.
``-DSAFETY`` (safety properties only) leaves SPIN's partial-order reduction **on**; ``reduce=False`` adds
``-DNOREDUCE`` to switch it off (what a state count compared with the Python checker without its reductions
needs). ``all_errors=True`` runs ``pan -c0``: the search goes on past errors and explores the whole reachable
space (the Python checker's ``stop_at_violation=False``). The flags used are returned with the result.

Each Promela model encodes one Python configuration (:data:`SPIN_CONFIG`) state for state: one ``d_step`` per
Python yield, the Python frames' locals as process locals (see ``models/memcg.pml``), so with reductions off
on both sides and the Python ghost walk positions off, the two count the same states
(``tests/concurrency/test_spin.py``).
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

# algorithm → its Promela model (models/ also holds memcg.pml, the shared library)
SPIN_MODELS = {
    "global_lock": "global_lock.pml",
    "xchg_sketch": "xchg_sketch.pml",
}
# the Python configuration every model encodes (ROUNDS is the model's parameter): 3 threads (shrink worker,
# one proactive caller on the root cursor, the offliner of the first leaf), 5 memcgs
SPIN_CONFIG = {"threads": 3, "memcgs": 5, "targets": "root"}


class SpinMissing(RuntimeError):
    """``spin`` or a C compiler is not installed."""


@dataclass
class SpinResult:
    model: str
    rounds: int
    errors: int
    states: int
    transitions: int
    seconds: float  # wall time of the whole pipeline (spin -a, gcc, pan)
    pan_seconds: float  # wall time of the exhaustive search alone (./pan)
    message: str
    cflags: tuple[str, ...] = ()  # how pan was compiled (-DSAFETY: POR on; -DNOREDUCE: POR off), + "pan -c0"
    memory_mb: float = 0.0  # pan's "total actual memory usage"
    pan_cpu: float = 0.0  # CPU seconds of ./pan (user + system)

    @property
    def reduced(self) -> bool:
        """SPIN's partial-order reduction was on."""
        return "-DNOREDUCE" not in self.cflags

    @property
    def ok(self) -> bool:
        return self.errors == 0


def require_tools() -> tuple[str, str]:
    spin = shutil.which("spin")
    cc = shutil.which("gcc") or shutil.which("cc")
    if spin is None:
        raise SpinMissing("spin is not installed: run `bash scripts/install-test-deps.sh` (Debian package spin)")
    if cc is None:
        raise SpinMissing("no C compiler (gcc/cc) to build SPIN's verifier")
    return spin, cc


def run_spin(algorithm: str, rounds: int = 3, *, max_depth: int = 1_000_000, reduce: bool = True,
             all_errors: bool = False, models_dir: Path = MODELS_DIR) -> SpinResult:
    """Verify ``models/<algorithm>.pml`` with ``ROUNDS=rounds``; return SPIN's verdict and statistics.

    ``reduce``: SPIN's partial-order reduction (on by default, as with plain ``-DSAFETY``). ``all_errors``:
    ``pan -c0``, go on past errors (the whole reachable space; ``errors`` counts them all).
    ``models_dir``: where the ``.pml`` files are (tests check a mutated copy)."""
    if algorithm not in SPIN_MODELS:
        raise KeyError(f"no Promela model for {algorithm!r}; have: {', '.join(SPIN_MODELS)}")
    spin, cc = require_tools()
    src = models_dir / SPIN_MODELS[algorithm]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zswaplab-spin-") as tmp:
        work = Path(tmp)
        for f in models_dir.glob("*.pml"):
            shutil.copy(f, work / f.name)
        _run([spin, "-a", f"-DROUNDS={rounds}", src.name], work)
        cflags = ("-O2", "-DSAFETY") + (() if reduce else ("-DNOREDUCE",))
        _run([cc, *cflags, "-o", "pan", "pan.c"], work)
        t1 = time.perf_counter()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = _run(["./pan", f"-m{max_depth}", *(("-c0",) if all_errors else ())], work, check=False)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        pan_s = time.perf_counter() - t1
    seconds = time.perf_counter() - t0
    errors = int(_grab(r"errors:\s*(\d+)", out))
    states = int(_grab(r"(\d+)\s+states, stored", out))
    transitions = int(_grab(r"(\d+)\s+transitions", out))
    msg = ""
    m = re.search(r"pan:\d+: (.*)", out)
    if m:
        msg = m.group(1)
    mem = re.search(r"([\d.]+)\s+total actual memory usage", out)
    flags = cflags + (("pan -c0",) if all_errors else ())
    return SpinResult(algorithm, rounds, errors, states, transitions, seconds, pan_s, msg, flags,
                      float(mem.group(1)) if mem else 0.0,
                      r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)


def _run(cmd: list[str], cwd: Path, check: bool = True) -> str:
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout + p.stderr


def _grab(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    if not m:
        raise RuntimeError(f"unexpected SPIN output (no {pattern!r}):\n{text[-2000:]}")
    return m.group(1)
