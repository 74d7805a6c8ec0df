"""Capability detection: which proactive writeback interface the kernel has, found by harmless probes.

The interpretation is table-driven from the kernel profiles (``zswaplab.kernel.profiles``): each profile says
its interface, its memory.stat counter, whether it has v1's file, and what it answers to a zero-byte probe
(:meth:`~zswaplab.kernel.profiles.Profile.probe_answer`, checked against the model); detection keeps the
profiles whose answers match what the kernel answered and reports their interface. No version is named here,
so a new profile needs no edit. Every probe asks for **zero** bytes, so no kernel version can do work in answer
(kernel-semantics §2.1–§2.5, §4.2):

1. ``"0 <key>"`` to ``memory.reclaim`` for each key of the series, the newest profile's first
   (:func:`~zswaplab.kernel.profiles.reclaim_keys`: ``source=zswap``, then ``zswap_writeback_only``). A profile
   with that key answers 0 (every driver returns at once for a zero budget: v1–v3
   ``if (!nr_to_writeback) return 0``, v4 likewise, v5 ``if (!bytes) return 0``); every other kernel refuses
   the unknown token with ``EINVAL`` while parsing, before any reclaim. The memory.stat counter then narrows
   the profiles sharing a key (``zswpwb_proactive`` pages: v2/v3; ``zswpwb_proactive_b`` bytes: v4).
   An answer no profile gives (e.g. ``EAGAIN``) is reported and does not count as the interface.
2. The profiles with v1's file ``memory.zswap.proactive_writeback`` (not on the root cgroup): its presence is
   the test; nothing is written to it.
3. Otherwise: none — the agent runs observe-only (or PSI-paced reclaim).

v4/v5 also answer ``EINVAL`` when zswap writeback is disabled for the cgroup (``memory.zswap.writeback`` = 0
on it or an ancestor), so the probe is made on a cgroup whose effective writeback is enabled (checked by
reading the files up to the mount root; when every candidate is disabled, the result says so).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from ..kernel.profiles import PROACTIVE_FILE, PROFILES, Profile, reclaim_keys
from .backend import Backend, CgroupRef, StepAbandoned, UnsafePath, errname
from .interface import MEMORY_RECLAIM, PROACTIVE_COUNTERS, Interface
from .stats import parse_memory_stat


@dataclass(frozen=True)
class Capability:
    interface: Interface
    probe_cgroup: str
    detail: str
    counter: str | None = None  # memory.stat key for bytes/pages written proactively
    counter_is_pages: bool = False
    reclaim_key: str = ""  # swappiness key of proactive reclaim requests (probe_swappiness)
    profiles: tuple[str, ...] = ()  # the kernel profiles whose answers match what was observed

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


def matching_profiles(*, key: str | None = None, answer: int = 0, counter: str | None = None,
                      file: bool | None = None) -> list[Profile]:
    """The profiles whose interface is ``key`` (or v1's file when ``file``) and whose answer to ``"0 <key>"`` is
    ``answer``, narrowed by the memory.stat ``counter`` seen (ignored when none was seen or none matches)."""
    if file:
        found = [p for p in PROFILES.values() if p.has_proactive_file]
    else:
        found = [p for p in PROFILES.values() if p.interface == key and p.probe_answer(key) == answer]
    return [p for p in found if counter is None or p.counter == counter] or found


def _first_counter(profiles: list[Profile]) -> str | None:
    """The counter to read when memory.stat shows several (one build carrying several versions): the oldest
    matching profile's (v2/v3's ``zswpwb_proactive`` for ``zswap_writeback_only``, v5's for ``source=zswap``)."""
    return next((p.counter for p in profiles if p.counter), None)


def _names(profiles: list[Profile]) -> str:
    return "/".join(p.name for p in profiles)


def _capability(profiles: list[Profile], path: str, detail: str, ctr: str | None, pages: bool) -> Capability:
    return Capability(Interface.of_profile(profiles[-1].interface), path, detail, ctr, pages,
                      profiles=tuple(p.name for p in profiles))


def infer_without_writing(backend: Backend, candidates: list[CgroupRef]) -> Capability:
    """``--dry-run`` detection: nothing is written, so infer from files and ``memory.stat`` keys only.

    v1's file present -> the profiles with that file; else the profiles whose counter is the one in memory.stat
    (``zswpwb_proactive_b``: v4 or v5; ``zswpwb_proactive``: v2/v3), assuming the newest of them. A guess,
    reported as such.
    """
    refs = [*candidates]
    try:
        refs.append(backend.resolve("/"))
    except (OSError, UnsafePath):
        pass
    for c in refs:
        try:
            with backend.open(c) as cg:
                has_file = c.path != "/" and cg.exists(PROACTIVE_FILE)
        except (OSError, UnsafePath):
            continue
        ctr, pages = _counter(backend, c, prefer=_first_counter(matching_profiles(file=True)) if has_file else None)
        if has_file:
            found = matching_profiles(file=True, counter=ctr)
            return _capability(found, c.path, f"dry-run guess: {PROACTIVE_FILE} present ({_names(found)})",
                               ctr, pages)
        if ctr is None:
            continue
        # the file's absence rules out v1 except on the root, which never has it
        found = [p for p in PROFILES.values() if p.counter == ctr and (c.path == "/" or not p.has_proactive_file)]
        if found:
            return _capability(found, c.path, f"dry-run guess from memory.stat {ctr}: "
                               f"{' or '.join(p.name for p in found)}, assuming {found[-1].name} "
                               "(no probe written)", ctr, pages)
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
    for key in reclaim_keys():
        e = _try(backend, ref, f"0 {key}")
        if e is not None and e.errno in (errno.EPERM, errno.EACCES):
            return Capability(Interface.NONE, ref.path, f"cannot probe memory.reclaim: {errname(e)} ({e.strerror})")
        answer = 0 if e is None else (e.errno or 0)
        said = errname(e) if e else "ok"
        found = matching_profiles(key=key, answer=answer)
        if found:
            ctr, pages = _counter(backend, ref, prefer=_first_counter(found))
            found = matching_profiles(key=key, answer=answer, counter=ctr)
            return _capability(found, ref.path, f"'0 {key}' -> {said}: {_names(found)} semantics", ctr, pages)
        if e is not None and e.errno != errno.EINVAL and any(p.interface == key for p in PROFILES.values()):
            said += " (an answer no profile gives)"
        notes.append(f"'0 {key}' -> {said}")
    for c in [*pool, *candidates]:
        if c.path == "/":
            continue
        try:
            with backend.open(c) as cg:
                has = cg.exists(PROACTIVE_FILE)
        except (OSError, UnsafePath):
            continue
        if has:
            ctr, pages = _counter(backend, c, prefer=_first_counter(matching_profiles(file=True)))
            found = matching_profiles(file=True, counter=ctr)
            return _capability(found, c.path, f"{PROACTIVE_FILE} present: {_names(found)} semantics "
                               f"({'; '.join(notes)})", ctr, pages)
    if all_disabled:
        notes.append("memory.zswap.writeback is 0 for every target")
    if not has_memory_stat(backend, ref):
        notes.append(NO_MEMORY_STAT)
    elif any("ENOENT" in n for n in notes):
        notes.append("memory.reclaim is missing: is the memory controller enabled on this cgroup v2 mount?")
    return Capability(Interface.NONE, ref.path, "; ".join(notes) or "no interface found")
