"""Parsers for the cgroup v2 files the agent reads: ``memory.stat`` and ``memory.pressure``.

Both are tolerant: unknown keys are kept (and ignored by the policy), malformed lines are reported back to the
caller (which logs them once) instead of raising, so a kernel with a different set of stat keys never crashes
the agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple


@dataclass
class MemoryStat:
    values: dict[str, int] = field(default_factory=dict)
    bad_lines: list[str] = field(default_factory=list)

    def get(self, key: str) -> int | None:
        return self.values.get(key)


@lru_cache(maxsize=1024)
def _needles(keys: frozenset[str], first_of: tuple[str, ...]) -> tuple[tuple[str, str, int, bool], ...]:
    """(key, ``"\\n<key> "``, its length, is an alternative) for each wanted key, built once per key set;
    the alternatives come last, in their order."""
    return tuple([(k, f"\n{k} ", len(k) + 2, False) for k in sorted(keys)]
                 + [(k, f"\n{k} ", len(k) + 2, True) for k in first_of])


def parse_memory_stat(text: str, keys: frozenset[str] | None = None,
                      hints: dict[str, int] | None = None, first_of: tuple[str, ...] = ()) -> MemoryStat:
    """``memory.stat``: one ``key value`` pair per line (kernel ``memory_stat_format``).

    With ``keys``, only those keys are looked up (``str.find`` per key: the agent's hot path, ~10x faster
    than splitting ~70 lines); a malformed value of a wanted key is still reported in ``bad_lines``.
    ``hints`` (updated in place) remembers where each key was found in the previous text of the same file:
    the kernel prints the keys in a fixed order, so the next search starts a little before that place (the
    ``"\\n<key> "`` needle matches one line only, so a hit there is the hit; a miss searches the whole text).
    ``first_of`` (with ``keys``): alternatives of which only the first one present is extracted (e.g. the
    refault counters: ``pswpin``, else ``workingset_refault_anon``).
    """
    out = MemoryStat()
    if keys is not None:
        t = "\n" + text
        find = t.find
        values = out.values
        alt_found = False
        for k, needle, n, alt in _needles(keys, first_of):
            if alt and alt_found:
                break
            if hints is not None:
                h = hints.get(k, 0)
                i = find(needle, h - 64) if h > 64 else find(needle)
                if i < 0 and h > 64:
                    i = find(needle)
                hints[k] = i
            else:
                i = find(needle)
            if i < 0:
                continue
            j = i + n
            e = find("\n", j)
            v = t[j:] if e < 0 else t[j:e]
            try:
                values[k] = int(v)
            except ValueError:
                out.bad_lines.append(f"{k} {v}")
                continue
            alt_found = alt
        return out
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            out.bad_lines.append(line)
            continue
        try:
            out.values[parts[0]] = int(parts[1])
        except ValueError:
            out.bad_lines.append(line)
    return out


class Pressure(NamedTuple):
    """``memory.pressure`` (PSI): percentages for ``some``/``full`` over 10/60/300 s, totals in µs.

    Immutable (a named tuple: cheaper to build than a frozen dataclass on the agent's hot path)."""

    some_avg10: float
    some_avg60: float
    some_avg300: float
    some_total: int
    full_avg10: float = 0.0
    full_avg60: float = 0.0


_PSI_RE = re.compile(r"some avg10=(\d+\.\d+) avg60=(\d+\.\d+) avg300=(\d+\.\d+) total=(\d+)\n"
                     r"full avg10=(\d+\.\d+) avg60=(\d+\.\d+) ")


def _checked(p: Pressure) -> Pressure | None:
    """``p`` if every average is a percentage (finite, 0..100) and the total is not negative, else None:
    a ``nan`` or out-of-range value is garbled input, never a number a guardrail can compare with."""
    for v in (p.some_avg10, p.some_avg60, p.some_avg300, p.full_avg10, p.full_avg60):
        if not 0.0 <= v <= 100.0:  # False for nan
            return None
    return p if p.some_total >= 0 else None


def parse_pressure(text: str) -> Pressure | None:
    """Parse PSI text (``some avg10=0.00 avg60=0.00 avg300=0.00 total=0``); ``None`` if no ``some`` line or a
    value that is not a percentage (``nan``, ``inf``, negative, > 100)."""
    p = _parse_pressure(text)
    return None if p is None else _checked(p)


def _parse_pressure(text: str) -> Pressure | None:
    m = _PSI_RE.match(text)
    if m is not None:  # the kernel's exact layout, in one regex match
        a10, a60, a300, total, f10, f60 = m.groups()
        return Pressure(float(a10), float(a60), float(a300), int(total), float(f10), float(f60))
    first, _, rest = text.partition("\n")
    f = first.split()
    if len(f) == 5 and f[0] == "some" and f[1][:6] == "avg10=" and f[2][:6] == "avg60=" and f[3][:7] == "avg300=":
        try:  # the kernel's exact layout: the fast path
            some = (float(f[1][6:]), float(f[2][6:]), float(f[3][7:]), int(f[4].partition("=")[2]))
        except ValueError:
            return None
        full = rest.split()
        fa10 = fa60 = 0.0
        if len(full) >= 3 and full[0] == "full":
            try:
                fa10, fa60 = float(full[1].partition("=")[2]), float(full[2].partition("=")[2])
            except ValueError:
                pass
        return Pressure(*some, full_avg10=fa10, full_avg60=fa60)
    rows: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        rows[parts[0]] = kv
    some = rows.get("some")
    if some is None:
        return None
    try:
        full = rows.get("full", {})
        return Pressure(
            some_avg10=float(some["avg10"]),
            some_avg60=float(some["avg60"]),
            some_avg300=float(some.get("avg300", 0.0)),
            some_total=int(some.get("total", 0)),
            full_avg10=float(full.get("avg10", 0.0)),
            full_avg60=float(full.get("avg60", 0.0)),
        )
    except (KeyError, ValueError):
        return None
