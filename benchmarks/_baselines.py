"""Plain compiled loops the benchmarks compare against: what the simplest code doing the same memory work costs.

* :func:`clock_dense` — a 1-bit Clock (second chance) cache over dense object ids: one slot array, one
  reference-bit array, one hand; the floor for "replay a page-access trace through a bounded cache".
* :func:`fill_plain` — writes 17 bytes per entry (an 8-byte handle, an 8-byte link, a 1-byte state) into
  preallocated arrays: the floor for "fill a pool of N entries of this size".
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def clock_dense(objs: np.ndarray, nobj: int, capacity: int) -> int:  # pragma: no cover - compiled
    """Misses of a 1-bit Clock of ``capacity`` slots on ``objs`` (dense ids < ``nobj``)."""
    where = np.full(nobj, -1, np.int64)  # object -> slot
    slot_obj = np.full(capacity, -1, np.int64)
    ref = np.zeros(capacity, np.uint8)
    hand = 0
    used = 0
    misses = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = where[o]
        if s >= 0:
            ref[s] = 1
            continue
        misses += 1
        if used < capacity:
            s = used
            used += 1
        else:
            while ref[hand]:
                ref[hand] = 0
                hand = hand + 1 if hand + 1 < capacity else 0
            s = hand
            where[slot_obj[s]] = -1
            hand = hand + 1 if hand + 1 < capacity else 0
        slot_obj[s] = o
        where[o] = s
        ref[s] = 0
    return misses


@numba.njit(cache=True, nogil=True)
def fill_plain(handle: np.ndarray, link: np.ndarray, state: np.ndarray) -> int:  # pragma: no cover - compiled
    """Fill every entry: 8 + 8 + 1 bytes written per entry."""
    n = handle.shape[0]
    for i in range(n):
        handle[i] = i * 2654435761
        link[i] = i + 1
        state[i] = 1
    return n


def warm() -> None:
    """Compile (or load) both loops."""
    clock_dense(np.zeros(4, np.int64), 1, 1)
    fill_plain(np.zeros(2, np.uint64), np.zeros(2, np.int64), np.zeros(2, np.uint8))
