"""Compiled inner loop of trace reading (:mod:`zswaplab.scale.traces`); compiled ahead by ``zswaplab warmup``."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def factorize_dense(obj_id: np.ndarray, top: int) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled
    """Number objects in order of first access through a direct table of ``top + 1`` slots."""
    n = obj_id.shape[0]
    index = np.full(top + 1, -1, np.int64)
    codes = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        o = obj_id[i]
        r = index[o]
        if r < 0:
            r = k
            index[o] = k
            k += 1
        codes[i] = r
    return codes, k


@numba.njit(cache=True, nogil=True)
def split_records(rec_obj: np.ndarray, rec_size: np.ndarray, rec_time: np.ndarray, obj: np.ndarray,
                  tim: np.ndarray) -> tuple[int, int]:  # pragma: no cover - compiled
    """One pass over an oracleGeneral record array (its field views): copy ``obj_id`` and ``time`` into the
    contiguous ``obj`` and ``tim``, and return (largest id, index of the first record of size 0 or -1)."""
    top = 0
    for i in range(rec_obj.shape[0]):
        if rec_size[i] == 0:
            return top, i
        o = rec_obj[i]
        obj[i] = o
        tim[i] = rec_time[i]
        if o > top:
            top = o
    return top, -1
