"""``zswaplab warmup``: after it, the demo and the benchmarks' code paths compile nothing more."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from zswaplab.scale import warmup

ROOT = Path(__file__).resolve().parents[2]

_AFTER = """
from rich.console import Console
from zswaplab.scale import warmup
from zswaplab.scale.cli import demo
{warm}
base = warmup.compiled_in_process()
demo(Console(file=open(__import__('os').devnull, 'w')))
import numpy as np
from zswaplab.kernel import KernelConfig
from zswaplab.scale.fastkernel import FastKernel
from zswaplab.scale.traces import first_access_codes
k = FastKernel(KernelConfig(profile="mainline", totalram_pages=1 << 16, swap_pages=1 << 16), seed=0, keep_log=False)
k.fs.mkdir("/w")
k.fs.write("/w", "memory.max", str(400 * 4096))
import tempfile
from zswaplab.scale.traces import Trace, read_oracle_general, write_oracle_general
ids = np.random.default_rng(0).integers(0, 500, 5000).astype(np.uint64)
with tempfile.TemporaryDirectory() as d:
    write_oracle_general(Trace(np.arange(5000, dtype=np.uint32), ids, np.full(5000, 1000, np.uint16)), d + "/t.bin")
    codes, clens = read_oracle_general(d + "/t.bin").dense()
codes, n = first_access_codes(ids)
k.replay("/w", codes, np.full(n, 1000, np.int64))
print("COMPILED", warmup.compiled_in_process() - base)
"""


def _run(warm: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _AFTER.format(warm=warm)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=600, check=True).stdout
    return int(out.split("COMPILED")[1])


def test_nothing_compiles_after_warm():
    assert _run("warmup.warm(lambda m: None)") == 0


def test_warmup_command_reports_progress():
    res = CliRunner().invoke(warmup.warmup_cmd)
    assert res.exit_code == 0, res.output
    assert "[1/" in res.output and "done in" in res.output and "cache:" in res.output


def test_ensure_compiled_announces_once(monkeypatch):
    monkeypatch.setattr(warmup, "_done", False)
    said: list[str] = []
    warmup.ensure_compiled(said.append)
    assert said and said[0].startswith("compiling/loading")
    n = len(said)
    assert warmup.ensure_compiled(said.append) == 0.0 and len(said) == n
