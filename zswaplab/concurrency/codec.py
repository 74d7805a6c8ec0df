"""Compact frozen form of a checker state: one Python ``int`` per state.

A checker state is the shared :class:`~.state.State` (memcg statuses and references, shared variables, ghost
walk positions, per-thread held references and done flags) plus each thread's local state. Both parts take
few distinct values compared with their combinations (in ``xchg_fixed`` 3×4×2: 2,900 shared parts and 35,821
local-id tuples for 60,969 states), so each is interned to a small id — the thread locals by
:class:`~.checker.Programs`, the shared part here — and a state is the integer
``shared_id | local_id[0] << 24 | local_id[1] << 48 | …``: about 40 bytes for 4 threads instead of nested tuples
of Python objects (about 1 KB), hashed and compared as one number. This is the Python reference engine's
encoding (24-bit ids: more than 16 M distinct shared or thread states raise ``OverflowError``); the compiled
engine (:mod:`.compiled`) keeps its own rows of 32-bit ids.
"""

from __future__ import annotations

from .state import RELEASED, State

BITS = 24
MASK = (1 << BITS) - 1


class Codec:
    """Encodes (:class:`State`, local ids) to an ``int`` and back, for one run."""

    def __init__(self, nthreads: int) -> None:
        self.T = nthreads
        self._ids: dict[tuple, int] = {}
        self._shared: list[tuple] = []

    def encode(self, st: State, lids: list[int] | tuple[int, ...]) -> int:
        k = (tuple(st.status), tuple(st.extra), tuple(st.vars), tuple(st.ghost), tuple(st.held), tuple(st.done))
        sid = self._ids.get(k)
        if sid is None:
            sid = len(self._shared)
            if sid > MASK:
                raise OverflowError(f"more than {MASK + 1:,} distinct shared states: beyond the checker's encoding")
            self._ids[k] = sid
            self._shared.append(k + (sum(1 << i for i, x in enumerate(st.status) if x == RELEASED),))
        key = sid
        shift = BITS
        for lid in lids:
            if lid > MASK:
                raise OverflowError(f"more than {MASK + 1:,} distinct thread states: beyond the checker's encoding")
            key |= lid << shift
            shift += BITS
        return key

    def decode(self, key: int) -> State:
        status, extra, vars_, ghost, held, done, rmask = self._shared[key & MASK]
        st = State.__new__(State)
        st.status, st.extra, st.vars, st.ghost = list(status), list(extra), list(vars_), list(ghost)
        st.held, st.done, st.rmask = list(held), list(done), rmask
        return st

    def lids(self, key: int) -> tuple[int, ...]:
        return tuple(key >> (BITS * (t + 1)) & MASK for t in range(self.T))

    @property
    def shared_states(self) -> int:
        return len(self._shared)
