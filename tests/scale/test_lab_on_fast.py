"""The lab's shipped scenarios (reduced size) give identical metrics and call records on ``FastKernel``.

The lab builds ``zswaplab.kernel.Kernel`` itself; until it has a kernel-factory hook, the test swaps the class
the lab imports (``monkeypatch``), which is exactly what such a hook would do.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import zswaplab.kernel as kernel_pkg
from zswaplab.lab.runner import run_variant
from zswaplab.lab.schema import load_scenario
from zswaplab.scale.fastkernel import FastKernel, UnsupportedConfig


class CountingFastKernel(FastKernel):
    built = 0

    def __init__(self, *a: object, **kw: object) -> None:
        super().__init__(*a, **kw)  # type: ignore[arg-type]
        CountingFastKernel.built += 1


SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))


def _dump(x: object) -> str:
    return json.dumps(x, sort_keys=True, default=lambda o: dataclasses.asdict(o) if dataclasses.is_dataclass(o)
                      else str(o))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_lab_scenario_identical_on_fast_core(path, monkeypatch):
    sf = load_scenario(path)
    variants = sf.variants(reduced=True)[:2]
    for v in variants:
        rec_o, met_o = run_variant(v, scenario_name=sf.name, snapshots=False)
        with monkeypatch.context() as mp:
            mp.setattr(kernel_pkg, "Kernel", CountingFastKernel)
            before = CountingFastKernel.built
            try:
                rec_f, met_f = run_variant(v, scenario_name=sf.name, snapshots=False)
            except UnsupportedConfig as e:
                pytest.skip(f"{path.stem}/{v.name}: outside the fast core's subset: {e}")
            assert CountingFastKernel.built > before  # the lab really ran on the fast core
        assert _dump(met_o) == _dump(met_f), v.name
        assert _dump(rec_o.calls) == _dump(rec_f.calls), v.name
        assert _dump(rec_o.writebacks) == _dump(rec_f.writebacks), v.name
        assert rec_o.counters == rec_f.counters, v.name
