"""Compact frozen form of a checker state: one ``bytes`` object per state.

A checker state is the shared :class:`~.state.State` plus each thread's local state, interned by
:class:`~.checker.Programs` to a small integer id. The frozen form is a flat byte string (one byte per memcg
status, extra-reference count, variable and held-reference count), so the visited set is a ``dict`` of short
``bytes`` (about 60 bytes for 4 threads × 6 memcgs) instead of nested tuples of Python objects, and equal states
have equal byte strings.

Layout (n memcgs, v shared variables, T threads)::

    status[n] extra[n] rmask[2] vars[v] ghost_last[v] ghost_mask[2v] held[T*n] done[T] local_id[3T]

``vars`` / ``ghost_last``: ``None`` / ``-1`` is 255. ``held`` counts the references each thread holds on each
memcg (the sorted tuples of :class:`State` are their multisets). ``rmask`` (released memcgs) is derived from
``status`` and kept so that decoding does not recompute it.
"""

from __future__ import annotations

from .state import State

NIL = 255


class Codec:
    """Encodes (:class:`State`, local ids) to ``bytes`` and back, for one run's sizes."""

    def __init__(self, n: int, nvars: int, nthreads: int) -> None:
        if n > 16:
            raise ValueError(f"memcgs={n}: the compact state encoding holds at most 16")
        self.n, self.v, self.T = n, nvars, nthreads
        self._o_rmask = 2 * n
        self._o_vars = self._o_rmask + 2
        self._o_glast = self._o_vars + nvars
        self._o_gmask = self._o_glast + nvars
        self._o_held = self._o_gmask + 2 * nvars
        self._o_done = self._o_held + nthreads * n
        self._o_lid = self._o_done + nthreads
        self.size = self._o_lid + 3 * nthreads
        self._held: dict[bytes, tuple[int, ...]] = {}

    def encode(self, st: State, lids: list[int] | tuple[int, ...]) -> bytes:
        n = self.n
        out = bytearray(st.status)
        out += bytes(st.extra)
        out += st.rmask.to_bytes(2, "little")
        for x in st.vars:
            if x is None:
                out.append(NIL)
            elif 0 <= x < NIL:
                out.append(x)
            else:
                raise ValueError(f"shared variable value {x} does not fit the compact state encoding (0..254)")
        for last, _ in st.ghost:
            out.append(NIL if last < 0 else last)
        for _, mask in st.ghost:
            out += mask.to_bytes(2, "little")
        for h in st.held:
            row = [0] * n
            for m in h:
                row[m] += 1
            out += bytes(row)
        out += bytes(st.done)
        for lid in lids:
            out += lid.to_bytes(3, "little")
        return bytes(out)

    def _held_tuple(self, row: bytes) -> tuple[int, ...]:
        hit = self._held.get(row)
        if hit is None:
            hit = tuple(m for m in range(self.n) for _ in range(row[m]))
            self._held[row] = hit
        return hit

    def decode(self, b: bytes) -> State:
        n, v = self.n, self.v
        st = State.__new__(State)
        st.status = list(b[:n])
        st.extra = list(b[n:2 * n])
        st.rmask = int.from_bytes(b[self._o_rmask:self._o_vars], "little")
        st.vars = [None if x == NIL else x for x in b[self._o_vars:self._o_glast]]
        gm = self._o_gmask
        st.ghost = [(-1 if b[self._o_glast + i] == NIL else b[self._o_glast + i],
                     b[gm + 2 * i] | b[gm + 2 * i + 1] << 8) for i in range(v)]
        h = self._o_held
        st.held = [self._held_tuple(b[h + t * n:h + (t + 1) * n]) for t in range(self.T)]
        st.done = [x == 1 for x in b[self._o_done:self._o_lid]]
        return st

    def lids(self, b: bytes) -> tuple[int, ...]:
        o = self._o_lid
        return tuple(b[o + 3 * t] | b[o + 3 * t + 1] << 8 | b[o + 3 * t + 2] << 16 for t in range(self.T))

