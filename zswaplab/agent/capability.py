"""Capability detection: which proactive writeback interface the kernel has, found by harmless probes.

Every probe asks for **zero** bytes, so no kernel version can do work in answer (spec §2.1-§2.5, §4.2):

1. ``"0 source=zswap"`` to ``memory.reclaim``. v5 parses the key and returns 0 at once
   (``zswap_proactive_writeback``: ``if (!bytes) return 0``); every other kernel rejects the unknown token
   ``source=zswap`` with ``EINVAL`` while parsing, before any reclaim.
2. ``"0 zswap_writeback_only"``. v3 (loop ``while written < 0`` never runs, ``return 0``) and v4 (``0`` bytes
   -> ``return 0``) answer 0; v2 answers ``EAGAIN`` (it returns ``-EAGAIN`` when nothing was written, and
   nothing is asked); mainline, v1 and v5 reject the unknown token with ``EINVAL``.
3. v1 adds the file ``memory.zswap.proactive_writeback`` (not on the root cgroup): its presence is the test;
   nothing is written to it.
4. Otherwise: none — the agent runs observe-only.

v4/v5 also answer ``EINVAL`` when zswap writeback is disabled for the cgroup (``memory.zswap.writeback`` = 0
on it or an ancestor), so the probe is made on a cgroup whose effective writeback is enabled (checked by
reading the files up to the mount root; when every candidate is disabled, the result says so).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from .backend import Backend, CgroupRef, StepAbandoned, UnsafePath, errname
from .interface import MEMORY_RECLAIM, PROACTIVE_COUNTERS, PROACTIVE_FILE, Interface
from .stats import parse_memory_stat


@dataclass(frozen=True)
class Capability:
    interface: Interface
    probe_cgroup: str
    detail: str
    counter: str | None = None  # memory.stat key for bytes/pages written proactively
    counter_is_pages: bool = False
    reclaim_key: str = ""  # swappiness key of proactive reclaim requests (probe_swappiness)

    def describe(self) -> str:
        if self.interface is Interface.NONE:
            return f"no proactive zswap writeback interface: observe-only ({self.detail})"
        unit = "pages" if self.counter_is_pages else "bytes"
        ctr = f"{self.counter} ({unit})" if self.counter else "none (written bytes not measurable)"
        return f"proactive writeback via {self.interface.value} ({self.detail}); written counter: {ctr}"


def effective_writeback(backend: Backend, path: str) -> bool | None:
    """Hierarchical ``memory.zswap.writeback`` of ``path`` (None if the kernel has no such file)."""
    parts = [p for p in path.split("/") if p]
    seen = False
    for i in range(len(parts) + 1):
        p = "/" + "/".join(parts[:i])
        try:
            with backend.open(backend.resolve(p)) as cg:
                if not cg.exists("memory.zswap.writeback"):
                    continue
                seen = True
                if cg.read("memory.zswap.writeback").strip() == "0":
                    return False
        except (OSError, UnsafePath):
            continue
    return True if seen else None


def has_memory_stat(backend: Backend, ref: CgroupRef) -> bool:
    try:
        with backend.open(ref) as cg:
            return cg.exists("memory.stat")
    except (OSError, UnsafePath):
        return False


NO_MEMORY_STAT = ("no memory.stat: the cgroup v2 memory controller is not enabled here (is 'memory' in "
                  "cgroup.controllers and in the parent's cgroup.subtree_control?)")


def probe_swappiness(backend: Backend, ref: CgroupRef, write_probes: bool = True) -> tuple[str, str]:
    """The ``swappiness=`` key for proactive reclaim requests, found by zero-byte probes of ``memory.reclaim``:
    ``swappiness=max`` (anon only; taken by Linux 7.x, refused with ``EINVAL`` by 6.12), else
    ``swappiness=200`` (6.12+: ``user_proactive_reclaim``), else none. Returns (key, detail)."""
    if not write_probes:
        return "swappiness=max", "dry-run: swappiness=max assumed (no probe written)"
    notes = []
    for key in ("swappiness=max", "swappiness=200"):
        e = _try(backend, ref, f"0 {key}")
        if e is None:
            return key, f"'0 {key}' accepted" + (f" ({'; '.join(notes)})" if notes else "")
        notes.append(f"'0 {key}' -> {errname(e)}")
    return "", "; ".join(notes) + ": plain memory.reclaim"


def _counter(backend: Backend, ref: CgroupRef, prefer: str | None = None) -> tuple[str | None, bool]:
    """The proactive-writeback counter in ``ref``'s memory.stat and whether it counts pages: ``prefer`` when
    present (a kernel may show both lines, e.g. one build carrying v3 and v5; each counts its own interface)."""
    try:
        with backend.open(ref) as cg:
            st = parse_memory_stat(cg.read("memory.stat")).values
    except (OSError, UnsafePath):
        return None, False
    ordered = sorted(PROACTIVE_COUNTERS, key=lambda kc: kc[0] != prefer)
    for key, mult in ordered:
        if key in st:
            return key, mult is None
    return None, False


def _try(backend: Backend, ref: CgroupRef, text: str) -> OSError | None:
    try:
        with backend.open(ref) as cg:
            cg.write(MEMORY_RECLAIM, text)
    except OSError as e:
        return e
    except StepAbandoned:  # SIGTERM/SIGINT during the probe: the agent is stopping anyway
        return OSError(errno.EINTR, "interrupted by a signal")
    return None


def infer_without_writing(backend: Backend, candidates: list[CgroupRef]) -> Capability:
    """``--dry-run`` detection: nothing is written, so infer from files and ``memory.stat`` keys only.

    ``memory.zswap.proactive_writeback`` -> v1; ``zswpwb_proactive_b`` -> v4 or v5 (assumed v5,
    ``source=zswap``); ``zswpwb_proactive`` -> v2/v3. A guess, reported as such.
    """
    refs = [*candidates]
    try:
        refs.append(backend.resolve("/"))
    except (OSError, UnsafePath):
        pass
    for c in refs:
        try:
            with backend.open(c) as cg:
                if c.path != "/" and cg.exists(PROACTIVE_FILE):
                    ctr, pages = _counter(backend, c)
                    return Capability(Interface.PROACTIVE_FILE, c.path, "dry-run guess: v1 file present", ctr, pages)
        except (OSError, UnsafePath):
            continue
        ctr, pages = _counter(backend, c)
        if ctr == "zswpwb_proactive_b":
            return Capability(Interface.SOURCE_ZSWAP, c.path, "dry-run guess from memory.stat "
                              "zswpwb_proactive_b: v4 or v5, assuming v5 (no probe written)", ctr, pages)
        if ctr == "zswpwb_proactive":
            return Capability(Interface.WRITEBACK_ONLY, c.path, "dry-run guess from memory.stat "
                              "zswpwb_proactive: v2/v3 (no probe written)", ctr, pages)
    where = refs[0].path if refs else "/"
    if refs and not any(has_memory_stat(backend, c) for c in refs):
        return Capability(Interface.NONE, where, f"dry-run: {NO_MEMORY_STAT}")
    return Capability(Interface.NONE, where, "dry-run: no proactive counter in memory.stat")


def detect(backend: Backend, candidates: list[CgroupRef], write_probes: bool = True) -> Capability:
    """Probe the kernel through ``backend``; ``candidates`` are target cgroups (the root is tried last)."""
    if not write_probes:
        return infer_without_writing(backend, candidates)
    pool = [c for c in candidates if effective_writeback(backend, c.path) is not False]
    all_disabled = bool(candidates) and not pool
    try:
        root = backend.resolve("/")
    except (OSError, UnsafePath) as e:
        return Capability(Interface.NONE, "/", f"cannot open the cgroup mount: {e}")
    if effective_writeback(backend, "/") is not False and root not in pool:
        pool.append(root)
    if not pool:
        return Capability(Interface.NONE, "/", "memory.zswap.writeback is 0 for every target and the root")
    ref = pool[0]
    notes = []
    e = _try(backend, ref, "0 source=zswap")
    if e is None:
        ctr, pages = _counter(backend, ref, prefer="zswpwb_proactive_b")
        return Capability(Interface.SOURCE_ZSWAP, ref.path, "'0 source=zswap' accepted: v5 semantics", ctr, pages)
    if e.errno in (errno.EPERM, errno.EACCES):
        return Capability(Interface.NONE, ref.path, f"cannot probe memory.reclaim: {errname(e)} ({e.strerror})")
    notes.append(f"'0 source=zswap' -> {errname(e)}")
    e = _try(backend, ref, "0 zswap_writeback_only")
    if e is None or e.errno == errno.EAGAIN:
        # v2/v3 count zswpwb_proactive (pages); v4 has only zswpwb_proactive_b (bytes)
        ctr, pages = _counter(backend, ref, prefer="zswpwb_proactive")
        flavour = "v2 (EAGAIN on zero)" if e is not None else ("v4" if ctr == "zswpwb_proactive_b" else "v3")
        return Capability(Interface.WRITEBACK_ONLY, ref.path,
                          f"'0 zswap_writeback_only' -> {errname(e) if e else 'ok'}: {flavour} semantics",
                          ctr, pages)
    notes.append(f"'0 zswap_writeback_only' -> {errname(e)}")
    for c in [*pool, *candidates]:
        if c.path == "/":
            continue
        try:
            with backend.open(c) as cg:
                has = cg.exists(PROACTIVE_FILE)
        except (OSError, UnsafePath):
            continue
        if has:
            ctr, pages = _counter(backend, c)
            return Capability(Interface.PROACTIVE_FILE, c.path, f"{PROACTIVE_FILE} present: v1 semantics "
                              f"({'; '.join(notes)})", ctr, pages)
    if all_disabled:
        notes.append("memory.zswap.writeback is 0 for every target")
    if not has_memory_stat(backend, ref):
        notes.append(NO_MEMORY_STAT)
    elif any("ENOENT" in n for n in notes):
        notes.append("memory.reclaim is missing: is the memory controller enabled on this cgroup v2 mount?")
    return Capability(Interface.NONE, ref.path, "; ".join(notes) or "no interface found")
