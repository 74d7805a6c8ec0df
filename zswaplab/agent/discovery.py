"""Discovery: which cgroups the policy's ``[[target]]`` entries name, from a walk of the tree.

:func:`walk_paths` walks only the literal prefix of each pattern (to its depth); :func:`assign` is pure: it
matches every pattern against the walked paths (``descendants`` entries take the leaves of each matched
subtree), gives each cgroup to the first entry that matches it, and reports what matched nothing and what was
matched twice. The engine then reconciles the result with the cgroups it already tracks (by id).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .globs import compile_glob, norm_path, walk_scope
from .policy import TargetPolicy


@dataclass
class Assignment:
    wanted: list[tuple[str, int]] = field(default_factory=list)  # (cgroup path, [[target]] index)
    unmatched: list[int] = field(default_factory=list)  # entries that matched nothing
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # (path, used entry, ignored entry)


def walk_paths(targets: Sequence[TargetPolicy], walk: Callable[[str, int | None], list[str]],
               on_error: Callable[[OSError], None]) -> list[str]:
    """Every cgroup path below the targets' literal prefixes, each once, in walk order."""
    seen: set[str] = set()
    out: list[str] = []
    for tp in targets:
        start, depth = walk_scope(tp.path, tp.descendants)
        try:
            found = walk(start, depth)
        except OSError as e:
            on_error(e)
            continue
        for p in found:
            if p not in seen:
                seen.add(p)
                out.append(p)
    return out


def assign(targets: Sequence[TargetPolicy], paths: list[str]) -> Assignment:
    """Match ``targets`` against ``paths`` (pure)."""
    out = Assignment()
    has_children: set[str] = set()  # only needed by `descendants` targets
    if any(tp.descendants for tp in targets):
        for p in paths:
            if p != "/":
                has_children.add(p.rsplit("/", 1)[0] or "/")
    claimed: dict[str, int] = {}
    for i, tp in enumerate(targets):
        rx = compile_glob(tp.path)
        matched = [p for p in paths if rx.fullmatch(norm_path(p)) is not None]
        if tp.descendants:
            leaves = []
            for m in matched:
                prefix = m.rstrip("/") + "/"
                leaves += [p for p in paths if (p == m or p.startswith(prefix)) and p not in has_children]
            matched = leaves
        if not matched:
            out.unmatched.append(i)
        for p in matched:
            if p in claimed:
                if claimed[p] != i:
                    out.duplicates.append((p, claimed[p], i))
                continue
            claimed[p] = i
            out.wanted.append((p, i))
    return out
