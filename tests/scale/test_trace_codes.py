"""First-access numbering of trace objects: the direct-table path and the hash fallback agree with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zswaplab.scale import traces
from zswaplab.scale.traces import Trace, first_access_codes, read_oracle_general, write_oracle_general


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=200), st.sampled_from([0, 1 << 40, (1 << 64) - 400]))
def test_first_access_codes_match_pandas(ids, base):
    arr = np.array(ids, np.uint64) + np.uint64(base)  # base > 0: sparse ids, the hash fallback
    codes, n = first_access_codes(arr)
    want, uniq = pd.factorize(arr, sort=False)
    assert codes.dtype == np.int64 and n == len(uniq)
    assert np.array_equal(codes, want)


def test_oracle_general_read_keeps_per_object_lengths(tmp_path):
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 500, 4000).astype(np.uint64)
    tr = Trace(np.arange(4000, dtype=np.uint32), ids, np.full(4000, 1024, np.uint16))
    write_oracle_general(tr, tmp_path / "t.oracleGeneral")
    got = read_oracle_general(tmp_path / "t.oracleGeneral", clen_seed=3)
    codes, clens = got.dense()
    # the same numbers through the generic path (per-event lengths scattered back to objects)
    plain = Trace(got.time, got.obj_id, got.clen)
    codes2, clens2 = plain.dense()
    assert np.array_equal(codes, codes2) and np.array_equal(clens, clens2)
    assert np.array_equal(clens[codes], got.clen.astype(np.int64))


def test_direct_table_is_bounded(monkeypatch):
    """Ids far above the event count must not allocate a table of max-id slots."""
    calls = []
    monkeypatch.setattr(traces, "_DIRECT_TABLE_FLOOR", 0)
    import zswaplab.scale._tracecore as core

    real = core.factorize_dense
    monkeypatch.setattr(core, "factorize_dense", lambda a, top: calls.append(top) or real(a, top))
    first_access_codes(np.array([5, 3, 5], np.uint64))
    first_access_codes(np.array([10**9, 3], np.uint64))
    assert calls == [5]
