"""Line numbers for keys of a TOML document.

``tomllib`` reports positions only for syntax errors. Semantic errors (a field out of range, a wrong type)
must still name the file and line, so this module scans the source text once and maps every key path —
``("timeline", 3, "size")`` — to the 1-based line where it is written. Supported: ``[table]``,
``[[array.of.tables]]`` (indexes counted per array), dotted and quoted keys, inline tables and multi-line
arrays (their inner keys resolve to the line of the key that opens them). :func:`line_of` falls back to the
nearest ancestor path that has a known line.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_RE_ARRAY_TABLE = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_RE_TABLE = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_RE_KEYVAL = re.compile(rf"^\s*({_DOTTED})\s*=")
_RE_PART = re.compile(_KEY)


def _split_dotted(text: str) -> list[str]:
    parts = []
    for m in _RE_PART.finditer(text):
        p = m.group(0)
        if p[0] in "\"'":
            p = p[1:-1]
        parts.append(p)
    return parts


def _strip_strings(line: str) -> str:
    """The line with string contents removed (so brackets inside strings do not count)."""
    return re.sub(_QUOTED, '""', line)


def key_lines(source: str) -> dict[Path, int]:
    """Map each key path in ``source`` to its 1-based line number."""
    lines: dict[Path, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    # the concrete prefix of the current table, e.g. ("timeline", 3)
    prefix: Path = ()
    depth = 0  # bracket nesting from multi-line arrays / inline tables of a previous key
    for lineno, raw in enumerate(source.splitlines(), start=1):
        code = _strip_strings(raw).split("#", 1)[0]  # brackets/comments outside strings
        if depth > 0:
            depth = max(0, depth + _balance(code))
            continue
        m = _RE_ARRAY_TABLE.match(raw)
        if m:
            names = tuple(_split_dotted(m.group(1)))
            idx = array_counts.get(names, 0)
            array_counts[names] = idx + 1
            # arrays nested in the current element of a parent array of tables
            prefix = _concrete(names, array_counts) + (idx,)
            lines.setdefault(prefix[:-1], lineno)
            lines[prefix] = lineno
            continue
        m = _RE_TABLE.match(raw)
        if m:
            names = tuple(_split_dotted(m.group(1)))
            prefix = _concrete(names, array_counts)
            lines.setdefault(prefix, lineno)
            continue
        m = _RE_KEYVAL.match(raw)
        if m:
            path = prefix + tuple(_split_dotted(m.group(1)))
            for end in range(len(prefix) + 1, len(path) + 1):  # a dotted key also defines its tables
                lines.setdefault(path[:end], lineno)
            rest = _strip_strings(raw[m.end():]).split("#", 1)[0]
            depth = max(0, _balance(rest))
    return lines


def _balance(code: str) -> int:
    return code.count("[") + code.count("{") - code.count("]") - code.count("}")


def _concrete(names: tuple[str, ...], array_counts: dict[tuple[str, ...], int]) -> Path:
    """Insert the current element index after every prefix that names an array of tables."""
    out: list[str | int] = []
    for i, name in enumerate(names):
        out.append(name)
        head = names[: i + 1]
        if i < len(names) - 1 and head in array_counts:
            out.append(array_counts[head] - 1)
    return tuple(out)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path`` or of its nearest ancestor with a known line (None if none)."""
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return None


def format_path(path: Path) -> str:
    """``("timeline", 3, "size")`` → ``timeline[3].size``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
KeyPath = Path


class TomlInputError(ValueError):
    """A TOML file that cannot be read as TOML: ``line`` (1-based, or None) and what is wrong."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_utf8(path: Path | str) -> str:
    """The text of a TOML file; :class:`TomlInputError` with the line of the first byte that is not UTF-8
    (``OSError`` passes through for the caller to report)."""
    from pathlib import Path as _P

    data = _P(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TomlInputError(data[:e.start].count(b"\n") + 1,
                             f"not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); TOML files must be "
                             "UTF-8") from None


def parse_toml(text: str) -> dict:
    """``tomllib.loads`` whose syntax errors carry their line (the last line for "at end of document")."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = getattr(e, "lineno", None) or (int(m.group(1)) if m else None)
        if line is None and "end of document" in str(e):
            line = max(1, len(text.splitlines()))
        msg = re.sub(r"\s*\((?:at line \d+, column \d+|at end of document)\)", "",
                     getattr(e, "msg", None) or str(e))
        raise TomlInputError(line, f"TOML syntax error: {msg}") from None
