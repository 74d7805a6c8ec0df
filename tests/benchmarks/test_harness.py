"""The benchmark harness: its CLI, its statistics and the plain baseline loops (not the timings)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import _baselines
from benchmarks.__main__ import main
from benchmarks._measure import Stats, interleaved


def test_help_and_list_exit_zero(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "usage: python -m benchmarks" in capsys.readouterr().out
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "throughput" in out and "scaling" in out and "bench_" not in out


def test_unknown_name_is_an_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["nope"])
    assert e.value.code == 2 and "unknown benchmark(s): nope" in capsys.readouterr().err


def test_stats_and_interleaving():
    s = Stats((3.0, 1.0, 2.0))
    assert (s.min, s.median, s.spread) == (1.0, 2.0, 1.0)
    assert s.rate(10) == (10.0, 5.0)
    order: list[str] = []
    st, last = interleaved({"a": lambda: order.append("a") or 1, "b": lambda: order.append("b") or 2}, 3)
    assert order == ["a", "b"] * 3 and last == {"a": 1, "b": 2} and len(st["a"].samples) == 3


def _clock_reference(objs: list[int], capacity: int) -> int:
    slots: list[int] = []
    ref: list[int] = []
    where: dict[int, int] = {}
    hand = misses = 0
    for o in objs:
        if o in where:
            ref[where[o]] = 1
            continue
        misses += 1
        if len(slots) < capacity:
            where[o] = len(slots)
            slots.append(o)
            ref.append(0)
            continue
        while ref[hand]:
            ref[hand] = 0
            hand = (hand + 1) % capacity
        del where[slots[hand]]
        slots[hand], ref[hand], where[o] = o, 0, hand
        hand = (hand + 1) % capacity
    return misses


@pytest.mark.parametrize("capacity", [1, 3, 17])
def test_plain_clock_matches_a_reference(capacity):
    objs = np.random.default_rng(capacity).zipf(1.3, 3000) % 50
    assert _baselines.clock_dense(objs.astype(np.int64), 50, capacity) == _clock_reference(objs.tolist(), capacity)


def test_plain_clock_agrees_with_libcachesim(tmp_path):
    """Same trace, same capacity: the plain Clock and libCacheSim's Clock miss equally often."""
    import libcachesim as lcs

    from zswaplab.scale.traces import Trace, write_oracle_general

    ids = (np.random.default_rng(1).zipf(1.2, 20000) % 400).astype(np.uint64)
    write_oracle_general(Trace(np.arange(20000, dtype=np.uint32), ids, np.ones(20000, np.uint16)), tmp_path / "t.bin")
    cache = lcs.Clock(cache_size=64 * 4096, hashpower=10)
    miss_ratio, _ = cache.process_trace(lcs.TraceReader(str(tmp_path / "t.bin"), lcs.TraceType.ORACLE_GENERAL_TRACE))
    from zswaplab.scale.traces import first_access_codes

    codes, n = first_access_codes(ids)
    assert _baselines.clock_dense(codes, n, 64) == round(miss_ratio * 20000)
