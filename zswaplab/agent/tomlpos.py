"""Line numbers of keys in a TOML source, for error messages that name file, line and field.

``tomllib`` gives positions only for syntax errors; validation errors are found later on the parsed data, so
this scans the text once and maps key paths such as ``("target", 2, "step")`` to the 1-based line where they
are written. Handles ``[table]``, ``[[array]]`` (indexes counted per array), dotted and quoted keys. Keys inside
inline tables or multi-line arrays resolve to the line of the key that opens them (via :func:`line_of`'s
fallback to the nearest known ancestor).
"""

from __future__ import annotations

import re

KeyPath = tuple[str | int, ...]

_KEY = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_ARRAY = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_KEYVAL = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART = re.compile(_KEY)
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(p[1:-1] if p[0] in "\"'" else p for p in _PART.findall(dotted))


def _expand(name: tuple[str, ...], counts: dict[tuple[str, ...], int], upto: int) -> KeyPath:
    """Insert the current index after every array-of-tables prefix among the first ``upto`` parts."""
    out: list[str | int] = []
    for i, part in enumerate(name):
        out.append(part)
        if i < upto and name[: i + 1] in counts:
            out.append(counts[name[: i + 1]] - 1)
    return tuple(out)


def key_lines(source: str) -> dict[KeyPath, int]:
    """Map every table and key path of ``source`` to its line (first occurrence wins)."""
    out: dict[KeyPath, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    prefix: KeyPath = ()
    depth = 0  # open brackets/braces carried over from a multi-line value
    for lineno, raw in enumerate(source.splitlines(), start=1):
        code = _STRING.sub('""', raw).split("#", 1)[0]
        if depth == 0:
            if m := _ARRAY.match(code):
                name = _parts(m.group(1))
                counts[name] = counts.get(name, 0) + 1
                prefix = _expand(name, counts, len(name))
                out.setdefault(prefix[:-1], lineno)
                out.setdefault(prefix, lineno)
            elif m := _TABLE.match(code):
                name = _parts(m.group(1))
                prefix = _expand(name, counts, len(name) - 1)
                out.setdefault(prefix, lineno)
            elif m := _KEYVAL.match(code):
                out.setdefault((*prefix, *_parts(m.group(1))), lineno)
        depth = max(0, depth + code.count("[") + code.count("{") - code.count("]") - code.count("}"))
    return out


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """Line of ``path`` or of its nearest ancestor that has one (``None`` if none has)."""
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return None
