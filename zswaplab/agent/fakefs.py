"""A fake cgroup v2 mount for tests, the benchmark and the demo: real files plus a fake kernel.

:class:`FakeKernel` lays out real directories and files (``memory.stat`` and ``memory.pressure`` in the
kernel's text format, ``memory.zswap.current``, ``memory.zswap.writeback``, an empty ``memory.reclaim``, and
``memory.zswap.proactive_writeback`` on v1) and acts as the :class:`~zswaplab.agent.cgroupfs.Opener` of the
cgroupfs backend: it answers each ``write()`` the way the chosen kernel profile would (parsing rules and
errnos of spec §1.14, §2.1-§2.5, §4.2) and rewrites the stat files.

:class:`ModelKernel` is the exact alternative: it mirrors a zswaplab :class:`~zswaplab.kernel.Kernel` into real
files and forwards each write to the model, so the cgroupfs backend runs against every profile's exact
semantics (``tests/agent/test_sim.py`` checks that both backends then reach the same state).

What is approximate in :class:`FakeKernel`: writeback itself. Each cgroup holds a number of zswap entries of one compressed size;
a proactive request drains entries in pre-order over the target's subtree (no LRU, no second chance — that
is what the simulator backend is for). Return codes follow each version: v1/v2 succeed if anything was
written; v3-v5 return ``EAGAIN`` unless the whole budget was written.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..kernel.constants import PAGE_SIZE
from .interface import MEMORY_RECLAIM, PROACTIVE_FILE

PROFILES = ("mainline", "6.12", "v1", "v2", "v3", "v4", "v5")

# the other memory.stat keys of a 2026 kernel (values 0), so parsing cost and unknown keys are realistic
_OTHER_KEYS = (
    "file", "kernel", "kernel_stack", "pagetables", "sec_pagetables", "percpu", "sock", "vmalloc", "shmem",
    "file_mapped", "file_dirty", "file_writeback", "swapcached", "anon_thp", "file_thp", "shmem_thp",
    "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable", "slab_reclaimable",
    "slab_unreclaimable", "slab", "workingset_refault_file", "workingset_activate_anon",
    "workingset_activate_file", "workingset_restore_anon", "workingset_restore_file",
    "workingset_nodereclaim", "pgdemote_kswapd", "pgdemote_direct", "pgdemote_khugepaged", "pgscan",
    "pgsteal", "pgscan_kswapd", "pgscan_direct", "pgscan_khugepaged", "pgsteal_kswapd", "pgsteal_direct",
    "pgsteal_khugepaged", "pgfault", "pgmajfault", "pgrefill", "pgactivate", "pgdeactivate", "pglazyfree",
    "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc", "thp_swpout", "thp_swpout_fallback",
)
_COUNTERS = ("zswpin", "zswpout", "zswpwb", "pswpin", "pswpout", "workingset_refault_anon",
             "zswpwb_proactive", "zswpwb_proactive_b")


def memparse(text: str) -> int | None:
    """The kernel's memparse on a whole token (None if no number)."""
    i = 0
    while i < len(text) and text[i].isdigit():
        i += 1
    if i == 0:
        return None
    n = int(text[:i])
    rest = text[i:]
    shifts = {"": 0, "k": 10, "K": 10, "m": 20, "M": 20, "g": 30, "G": 30, "t": 40, "T": 40}
    if rest not in shifts:
        return None
    return n << shifts[rest]


@dataclass
class FakeCgroup:
    path: str
    entries: int = 0  # zswap entries charged locally
    entry_size: int = 1024  # compressed bytes per entry
    anon: int = 0  # resident anon bytes (what plain memory.reclaim compresses)
    writeback: bool = True  # memory.zswap.writeback
    psi_some_avg10: float = 0.0
    psi_some_avg60: float = 0.0
    refault_fraction: float = 0.0  # share of written-back entries that fault back from disk at once
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTERS, 0))


class FakeKernel:
    """Directory tree + write hook standing in for a kernel of ``profile``."""

    def __init__(self, root: str | Path, profile: str = "v5", *, drop_keys: tuple[str, ...] = (),
                 extra_keys: dict[str, int] | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        self.root = Path(root)
        self.profile = profile
        self.drop_keys = set(drop_keys)
        self.extra_keys = extra_keys or {}
        self.extra_lines = ""  # appended verbatim to every memory.stat (malformed-input tests)
        self.cgroups: dict[str, FakeCgroup] = {}
        self._kids: dict[str, set[str]] = {}
        self.writes: list[tuple[str, str, str, str]] = []  # (path, file, text, result)
        self.faults: dict[tuple[str, str], list[int]] = {}  # (path, file) -> errnos to raise, in order
        self.on_write: Callable[[str, str, str], None] | None = None
        # False keeps ancestors' stat files stale after a write (the benchmark's 1,000 siblings)
        self.render_ancestors_on_write = True
        self.root.mkdir(parents=True, exist_ok=True)
        self.mkdir("/")

    # ---------------------------------------------------------------- tree
    def _dir(self, path: str) -> Path:
        return self.root / path.strip("/") if path != "/" else self.root

    def mkdir(self, path: str, **attrs: object) -> FakeCgroup:
        cg = FakeCgroup(path)
        for k, v in attrs.items():
            setattr(cg, k, v)
        self.cgroups[path] = cg
        if path != "/":
            self._kids.setdefault(path.rsplit("/", 1)[0] or "/", set()).add(path)
        d = self._dir(path)
        d.mkdir(parents=True, exist_ok=True)
        (d / MEMORY_RECLAIM).touch()
        if self.profile == "v1" and path != "/":
            (d / PROACTIVE_FILE).touch()
        self.render(path)
        return cg

    def rmdir(self, path: str) -> None:
        for cg in self.subtree(path):
            del self.cgroups[cg.path]
            self._kids.pop(cg.path, None)
        self._kids.get(path.rsplit("/", 1)[0] or "/", set()).discard(path)
        shutil.rmtree(self._dir(path))
        self.render_ancestors(path)

    def subtree(self, path: str) -> list[FakeCgroup]:
        """``path`` and its descendants, pre-order (children in name order)."""
        out: list[FakeCgroup] = []
        stack = [path]
        while stack:
            p = stack.pop()
            if p in self.cgroups:
                out.append(self.cgroups[p])
                stack.extend(sorted(self._kids.get(p, ()), reverse=True))
        return out

    def ancestors(self, path: str) -> list[str]:
        parts = [p for p in path.split("/") if p]
        return ["/" + "/".join(parts[:i]) for i in range(len(parts), -1, -1)]

    def writeback_enabled(self, path: str) -> bool:
        return all(self.cgroups[a].writeback for a in self.ancestors(path) if a in self.cgroups)

    # ---------------------------------------------------------------- files
    def stat_text(self, path: str) -> str:
        sub = self.subtree(path)
        v: dict[str, int] = {"anon": sum(c.anon for c in sub)}
        v.update(dict.fromkeys(_OTHER_KEYS, 0))
        v["zswap"] = sum(c.entries * c.entry_size for c in sub)
        v["zswapped"] = sum(c.entries for c in sub) * PAGE_SIZE
        for k in _COUNTERS:
            v[k] = sum(c.counters[k] for c in sub)
        if self.profile in ("mainline", "6.12", "v5", "v4"):
            v.pop("zswpwb_proactive")
        if self.profile in ("mainline", "6.12", "v1", "v2", "v3"):
            v.pop("zswpwb_proactive_b")
        v.update(self.extra_keys)
        return "".join(f"{k} {n}\n" for k, n in v.items() if k not in self.drop_keys) + self.extra_lines

    def render(self, path: str) -> None:
        cg = self.cgroups[path]
        d = self._dir(path)
        (d / "memory.stat").write_text(self.stat_text(path))
        (d / "memory.pressure").write_text(
            f"some avg10={cg.psi_some_avg10:.2f} avg60={cg.psi_some_avg60:.2f} avg300=0.00 total=0\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
        zsw = sum(c.entries * c.entry_size for c in self.subtree(path))
        (d / "memory.zswap.current").write_text(f"{zsw}\n")
        (d / "memory.zswap.writeback").write_text("1\n" if cg.writeback else "0\n")

    def render_ancestors(self, path: str) -> None:
        for a in self.ancestors(path):
            if a in self.cgroups:
                self.render(a)

    def render_all(self) -> None:
        for p in self.cgroups:
            self.render(p)

    # ---------------------------------------------------------------- the kernel's answers
    def write(self, fd: int, data: bytes, *, path: str, fname: str) -> int:
        text = data.decode()
        q = self.faults.get((path, fname))
        if q:
            e = q.pop(0)
            self.writes.append((path, fname, text, errno.errorcode[e]))
            raise OSError(e, os.strerror(e))
        if self.on_write is not None:
            self.on_write(path, fname, text)
        try:
            if fname == MEMORY_RECLAIM:
                self._memory_reclaim(path, text)
            elif fname == PROACTIVE_FILE and self.profile == "v1":
                self._proactive_file(path, text)
            else:
                raise OSError(errno.EINVAL, "fake kernel: unexpected file")
        except OSError as e:
            self.writes.append((path, fname, text, errno.errorcode[e.errno or 0]))
            raise
        finally:
            if path in self.cgroups:
                for cg in self.subtree(path):
                    self.render(cg.path)
                if self.render_ancestors_on_write:
                    self.render_ancestors(path)
        self.writes.append((path, fname, text, "ok"))
        return len(data)

    def _einval(self, why: str) -> OSError:
        return OSError(errno.EINVAL, f"Invalid argument ({why})")

    def _memory_reclaim(self, path: str, text: str) -> None:
        """``user_proactive_reclaim`` (mainline) plus the series' key of this profile."""
        toks = text.split()
        size = memparse(toks[0]) if toks else None
        if size is None:
            raise self._einval("no size")
        swappiness = None
        wb_only = False
        for t in toks[1:]:
            if t.startswith("swappiness="):
                val = t.split("=", 1)[1]
                if val == "max" and self.profile != "6.12":
                    swappiness = 201
                elif val.isdigit() and int(val) <= 200:
                    swappiness = int(val)
                else:
                    raise self._einval("swappiness")
            elif t == "zswap_writeback_only" and self.profile in ("v2", "v3", "v4"):
                wb_only = True
            elif t.startswith("source=") and self.profile == "v5":
                if t != "source=zswap":
                    raise self._einval("source")
                wb_only = True
            else:
                raise self._einval(f"unknown token {t}")
        if not wb_only:
            self._reclaim(path, size)
            return
        if swappiness is not None:
            raise self._einval("proactive writeback with swappiness")
        if self.profile in ("v4", "v5") and not self.writeback_enabled(path):
            raise self._einval("memory.zswap.writeback is 0")
        if self.profile == "v5":
            if size == 0:
                return
            written = self._writeback(path, max_bytes=size)
            if written < size:
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return
        pages = size // PAGE_SIZE
        if self.profile == "v4":
            if pages == 0:
                return
            if self._writeback(path, max_bytes=pages * PAGE_SIZE) < pages * PAGE_SIZE - (PAGE_SIZE - 1):
                raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
            return
        n = self._writeback(path, max_entries=pages, count_bytes=False)
        if (self.profile == "v2" and n == 0) or (self.profile == "v3" and n < pages):
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    def _proactive_file(self, path: str, text: str) -> None:
        """v1 ``memory.zswap.proactive_writeback``: ``[max=<bytes>] <age_seconds>``."""
        if not self.writeback_enabled(path):
            raise self._einval("memory.zswap.writeback is 0")
        max_pages = None
        age = None
        for t in text.split():
            if t.startswith("max="):
                b = memparse(t[4:])
                if b is None:
                    raise self._einval("max")
                max_pages = b >> 12
            elif t.isdigit() and age is None:
                age = int(t)
            else:
                raise self._einval(f"token {t}")
        if not age or max_pages == 0:
            raise self._einval("age missing/zero or max=0")
        n = self._writeback(path, max_entries=max_pages if max_pages is not None else 1 << 62, count_bytes=False)
        if n == 0:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    def _reclaim(self, path: str, size: int) -> None:
        cg = self.cgroups[path]
        want = size // PAGE_SIZE
        got = min(want, cg.anon // PAGE_SIZE)
        cg.anon -= got * PAGE_SIZE
        cg.entries += got
        cg.counters["zswpout"] += got
        if got < want:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    def _writeback(self, path: str, *, max_bytes: int | None = None, max_entries: int | None = None,
                   count_bytes: bool = True) -> int:
        """Drain entries in pre-order; returns bytes (v4/v5) or entries (v1-v3) written."""
        done_b = done_n = 0
        for cg in self.subtree(path):
            if not self.writeback_enabled(cg.path):
                continue
            while cg.entries and (max_bytes is None or done_b < max_bytes) and (
                    max_entries is None or done_n < max_entries):
                if max_bytes is not None:
                    n = min(cg.entries, max(1, -(-(max_bytes - done_b) // cg.entry_size)))
                else:
                    n = min(cg.entries, (max_entries or 0) - done_n)
                cg.entries -= n
                done_n += n
                done_b += n * cg.entry_size
                cg.counters["zswpwb"] += n
                cg.counters["pswpout"] += n
                if count_bytes:
                    cg.counters["zswpwb_proactive_b"] += n * cg.entry_size
                else:
                    cg.counters["zswpwb_proactive"] += n
                back = int(n * cg.refault_fraction)
                cg.counters["pswpin"] += back
                cg.counters["workingset_refault_anon"] += back
                cg.anon += back * PAGE_SIZE
            if (max_bytes is not None and done_b >= max_bytes) or (max_entries is not None and done_n >= max_entries):
                break
        return done_b if count_bytes else done_n


class ModelKernel:
    """A fake kernel backed by the zswaplab model: mirrors a :class:`~zswaplab.kernel.Kernel`'s cgroup tree
    into real files and forwards each ``write()`` to the model's cgroupfs facade (``k.fs.write``), so the
    cgroupfs backend can run end to end against every kernel profile's exact semantics."""

    def __init__(self, kernel: object, root: str | Path) -> None:
        self.k = kernel
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.writes: list[tuple[str, str, str, str]] = []
        self.sync()

    def sync(self) -> None:
        """Re-render every online cgroup's files; remove directories of removed cgroups."""
        fs = self.k.fs  # type: ignore[attr-defined]
        live = set()
        for m in self.k.tree.root.subtree():  # type: ignore[attr-defined]
            if not m.online():
                continue
            d = self.root / m.path.strip("/") if m.path != "/" else self.root
            live.add(d)
            d.mkdir(exist_ok=True)
            for f in fs.listdir(m.path):
                if not f.startswith(("memory.", "cgroup.")):
                    continue
                try:
                    text = fs.read(m.path, f)
                except OSError:
                    text = ""  # write-only files (memory.reclaim, ...)
                p = d / f
                if not p.exists() or p.read_text() != text:
                    p.write_text(text)
        for d in sorted((p for p in self.root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if d not in live and d.exists():
                shutil.rmtree(d)

    def write(self, fd: int, data: bytes, *, path: str, fname: str) -> int:
        text = data.decode()
        try:
            self.k.fs.write(path, fname, text)  # type: ignore[attr-defined]
        except OSError as e:
            self.writes.append((path, fname, text, errno.errorcode.get(e.errno or 0, "?")))
            raise
        finally:
            self.sync()
        self.writes.append((path, fname, text, "ok"))
        return len(data)
