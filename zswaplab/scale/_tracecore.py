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
