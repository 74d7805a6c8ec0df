"""The kernel model as a directory tree: the ``cgroupfs`` backend run against the model's exact semantics.

:class:`ModelTree` mirrors a zswaplab :class:`~zswaplab.kernel.Kernel`'s cgroup tree into real directories and
files (every ``memory.*``/``cgroup.*`` file the model's cgroupfs facade ``k.fs`` lists, with the text it
renders) and is the :class:`~zswaplab.agent.cgroupfs.Opener` of a
:class:`~zswaplab.agent.cgroupfs.CgroupFSBackend` on that tree: each ``write()`` is forwarded to
``k.fs.write`` (same parsing, same errnos as the profile's kernel), then the tree is re-rendered. There is no
kernel logic here: the model answers.

For fault injection (tests, benchmarks) a write can be answered with an errno queued in ``faults`` before the
model sees it, and ``on_write`` runs first (to remove, rename or replace things mid-cycle).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from ..kernel import Kernel


class ModelTree:
    def __init__(self, kernel: Kernel, root: str | Path, *, sync_on_write: bool = True) -> None:
        self.k = kernel
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.writes: list[tuple[str, str, str, str]] = []  # (cgroup, file, text, "ok" or errno name)
        self.faults: dict[tuple[str, str], list[int]] = {}  # (cgroup, file) -> errnos answered, in order
        self.on_write: Callable[[str, str, str], None] | None = None
        self.after_write: Callable[[str, str, str], None] | None = None  # after the model answered
        # (cgroup, file) -> text rendered instead of the model's (a file-level fault: garbled PSI, ...)
        self.pinned: dict[tuple[str, str], str] = {}
        self.sync_on_write = sync_on_write
        self._mirrored: set[str] = set()  # cgroup paths this mirror created
        self.sync()

    def dir(self, path: str) -> Path:
        return self.root / path.strip("/") if path != "/" else self.root

    def sync(self, paths: list[str] | None = None) -> None:
        """Re-render the files of ``paths`` (default: every online cgroup; directories of removed cgroups are
        then removed too)."""
        fs = self.k.fs
        live: set[Path] = set()
        memcgs = [m for m in self.k.tree.root.subtree() if m.online()]
        if paths is not None:
            want = set(paths)
            memcgs = [m for m in memcgs if m.path in want]
        for m in memcgs:
            d = self.dir(m.path)
            live.add(d)
            self._mirrored.add(m.path)
            d.mkdir(exist_ok=True)
            for f in fs.listdir(m.path):
                if not f.startswith(("memory.", "cgroup.")):
                    continue
                pin = self.pinned.get((m.path, f))
                try:
                    text = pin if pin is not None else fs.read(m.path, f)
                except OSError:
                    text = ""  # write-only files (memory.reclaim, ...)
                p = d / f
                if p.is_symlink() or (p.exists() and (not p.is_file() or p.stat().st_nlink != 1)):
                    continue  # something a test planted (symlink, FIFO, directory, hard link): left alone
                try:
                    if p.read_text() == text:
                        continue
                except OSError:
                    pass
                if p.exists():
                    with open(p, "r+") as fh:  # in place: a reader's open descriptor sees the new text
                        fh.write(text)
                        fh.truncate()
                else:
                    p.write_text(text)
        if paths is None:
            for path in sorted(self._mirrored, key=lambda p: -p.count("/")):
                d = self.dir(path)
                if d not in live:  # the model removed that cgroup (what else is in the tree is left alone)
                    self._mirrored.discard(path)
                    if d.is_dir() and not d.is_symlink():
                        shutil.rmtree(d)

    # ------------------------------------------------------------------ the Opener
    def write(self, fd: int, data: bytes, *, path: str, fname: str) -> int:
        text = data.decode()
        if self.on_write is not None:
            self.on_write(path, fname, text)
        q = self.faults.get((path, fname))
        if q:
            e = q.pop(0)
            self.writes.append((path, fname, text, errno.errorcode[e]))
            raise OSError(e, os.strerror(e))
        try:
            self.k.fs.write(path, fname, text)
        except OSError as e:
            self.writes.append((path, fname, text, errno.errorcode.get(e.errno or 0, "?")))
            raise
        finally:
            if self.after_write is not None:
                self.after_write(path, fname, text)
            if self.sync_on_write:
                self.sync()
        self.writes.append((path, fname, text, "ok"))
        return len(data)
