"""Cgroup path globs of the policy: ``*``/``?``/``[...]`` within one component, ``**`` across components.

:func:`compile_glob` is the only translation to a regular expression; it refuses patterns that are not valid
globs (an unterminated or empty class, a reversed range like ``[z-a]``) with :class:`GlobError`, so the
policy loader reports them as config errors instead of a ``re.error`` from the first discovery.
"""

from __future__ import annotations

import re
from functools import lru_cache


class GlobError(ValueError):
    """A target path that is not a valid glob."""


def _class_re(body: str, pattern: str) -> str:
    """The regex of a ``[...]`` class body (``!`` or ``^`` first negates); ranges must be ascending."""
    neg = body[:1] in ("!", "^")
    if neg:
        body = body[1:]
    if not body:
        raise GlobError(f"empty character class in {pattern!r}")
    out, i = "", 0
    while i < len(body):
        c = body[i]
        if i + 2 < len(body) and body[i + 1] == "-":
            hi = body[i + 2]
            if ord(hi) < ord(c):
                raise GlobError(f"reversed range [{c}-{hi}] in {pattern!r}")
            out += re.escape(c) + "-" + re.escape(hi)
            i += 3
            continue
        out += re.escape(c)
        i += 1
    return "[" + ("^/" if neg else "") + out + "]"


def _component_re(p: str, pattern: str) -> str:
    out, i = "", 0
    while i < len(p):
        c = p[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            k = i + 1
            if p[k:k + 1] in ("!", "^"):
                k += 1
            if p[k:k + 1] == "]":  # a leading ']' is a member of the class
                k += 1
            j = p.find("]", k)
            if j < 0:
                raise GlobError(f"unterminated '[' in {pattern!r}")
            out += _class_re(p[i + 1:j], pattern)
            i = j
        elif c == "]":
            raise GlobError(f"unmatched ']' in {pattern!r}")
        else:
            out += re.escape(c)
        i += 1
    return out


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regex matching the cgroup paths of ``pattern`` (raises :class:`GlobError`)."""
    parts = [p for p in pattern.split("/") if p]
    if not parts:
        return re.compile("/")
    for p in parts:
        if "**" in p and p != "**":
            raise GlobError(f"'**' must be a whole path component in {pattern!r}")
    rx = "".join("(?:/[^/]+)*" if p == "**" else "/(?=[^/])" + _component_re(p, pattern) for p in parts)
    try:
        return re.compile(rx if parts != ["**"] else "/|" + rx)
    except re.error as e:  # defensive: every construct above is escaped
        raise GlobError(f"invalid glob {pattern!r}: {e}") from None


def norm_path(path: str) -> str:
    if path != "/" and (not path.startswith("/") or path.endswith("/") or "//" in path):
        return "/" + "/".join(p for p in path.split("/") if p)
    return path


def glob_match(pattern: str, path: str) -> bool:
    """Component-wise glob: ``*``/``?``/``[...]`` stay within one component, ``**`` spans any depth."""
    return compile_glob(pattern).fullmatch(norm_path(path)) is not None


def walk_scope(pattern: str, descendants: bool) -> tuple[str, int | None]:
    """Where to walk for a target pattern: its literal prefix, and how deep (None = whole subtree)."""
    parts = [p for p in pattern.split("/") if p]
    lit = 0
    while lit < len(parts) and not any(c in parts[lit] for c in "*?["):
        lit += 1
    start = "/" + "/".join(parts[:lit])
    if descendants or "**" in parts:
        return start, None
    return start, len(parts) - lit
