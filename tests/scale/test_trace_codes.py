"""First-access numbering of trace objects: the direct-table path and the hash fallback agree with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
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
    assert np.array_equal(got.time, tr.time) and np.array_equal(got.obj_id, ids)
    assert got.time.flags.c_contiguous and got.obj_id.flags.c_contiguous  # copies, not views of the records
    codes, clens = got.dense()
    # the same numbers through the generic path (per-event lengths scattered back to objects)
    plain = Trace(got.time, got.obj_id, got.clen)
    codes2, clens2 = plain.dense()
    assert np.array_equal(codes, codes2) and np.array_equal(clens, clens2)
    assert np.array_equal(clens[codes], got.clen.astype(np.int64))


@pytest.mark.parametrize("bad", [0, 2, 4])
def test_oracle_general_zero_size_names_the_record(tmp_path, bad):
    tr = Trace(np.arange(5, dtype=np.uint32), np.arange(5, dtype=np.uint64), np.full(5, 1024, np.uint16))
    write_oracle_general(tr, tmp_path / "t.oracleGeneral")
    rec = np.fromfile(tmp_path / "t.oracleGeneral", traces.ORACLE_GENERAL)
    rec["size"][bad] = 0
    rec.tofile(tmp_path / "t.oracleGeneral")
    with pytest.raises(traces.TraceError, match=rf"t.oracleGeneral:{bad + 1}: field 'obj_size': zero object size"):
        read_oracle_general(tmp_path / "t.oracleGeneral")


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
