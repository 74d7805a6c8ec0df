"""The ``cgroupfs`` backend: a real cgroup v2 mount (``/sys/fs/cgroup`` by default, any directory in tests).

Safety rules, enforced here and nowhere else:

* every cgroup directory is opened component by component from a descriptor of the mount with
  ``O_DIRECTORY | O_NOFOLLOW``, so a symlink anywhere below the mount is refused (``ELOOP``/``ENOTDIR``) and
  ``..`` is rejected before any syscall: nothing outside the mount can be reached;
* a handle re-checks the directory's inode against the id it was resolved with (cgroups are tracked by id);
* only :data:`~zswaplab.agent.interface.OWNED_FILES` are ever opened for writing, without ``O_CREAT`` or
  ``O_TRUNC``, and each request is exactly one ``write()`` (like ``echo "10M source=zswap" > memory.reclaim``).

The final ``write()`` goes through an :class:`Opener` so tests can stand in for the kernel (answering with
``OSError(errno)`` as each kernel version would); production uses plain ``os.write``.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time

from .backend import Backend, CgroupRef, UnsafePath, enoent, split_path
from .interface import OWNED_FILES

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_READ_BUF = 1 << 16
_WRITE_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class Opener:
    """Performs the one ``write()`` of a request; tests substitute a fake kernel."""

    def write(self, fd: int, data: bytes, *, path: str, fname: str) -> int:
        return os.write(fd, data)


class CgroupFSHandle:
    def __init__(self, backend: CgroupFSBackend, ref: CgroupRef, fd: int) -> None:
        self.backend, self.ref, self.fd = backend, ref, fd

    def __enter__(self) -> CgroupFSHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def read(self, fname: str) -> str:
        if "/" in fname or fname in (".", ".."):
            raise UnsafePath(f"refusing file name {fname!r}")
        fd = os.open(fname, _READ_FLAGS, dir_fd=self.fd)
        try:
            # cgroup files are single-show seq_files: a short read is the whole file; read on only if the
            # buffer came back full
            data = os.read(fd, _READ_BUF)
            if len(data) == _READ_BUF:
                chunks = [data]
                while chunk := os.read(fd, _READ_BUF):
                    chunks.append(chunk)
                data = b"".join(chunks)
            return data.decode("ascii", "replace")
        finally:
            os.close(fd)

    def exists(self, fname: str) -> bool:
        try:
            st = os.stat(fname, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return stat.S_ISREG(st.st_mode)

    def children(self) -> list[str]:
        base = self.ref.path.rstrip("/")
        with os.scandir(self.fd) as it:
            return sorted(f"{base}/{e.name}" for e in it if e.is_dir(follow_symlinks=False))

    def write(self, fname: str, data: str) -> None:
        if fname not in OWNED_FILES:
            raise UnsafePath(f"refusing to write {fname!r}: the agent only writes {sorted(OWNED_FILES)}")
        fd = os.open(fname, _WRITE_FLAGS, dir_fd=self.fd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafePath(f"refusing to write {self.ref.path}/{fname}: not a regular file")
            payload = data.encode("ascii")
            local = self.backend.in_write
            local.active = True
            try:
                self.backend.opener.write(fd, payload, path=self.ref.path, fname=fname)
            finally:
                local.active = False
        finally:
            os.close(fd)


class CgroupFSBackend(Backend):
    name = "cgroupfs"
    threaded = True

    def __init__(self, mount: str = "/sys/fs/cgroup", opener: Opener | None = None) -> None:
        super().__init__()
        self.mount = os.path.abspath(mount)
        self.opener = opener or Opener()
        self._mount_fd = os.open(self.mount, _DIR_FLAGS)

    def close(self) -> None:
        if self._mount_fd >= 0:
            os.close(self._mount_fd)
            self._mount_fd = -1

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        if seconds > 0:
            stop.wait(seconds)

    def walk(self, start: str = "/", max_depth: int | None = None) -> list[str]:
        """``start`` and its descendant cgroups (at most ``max_depth`` levels down), parents first.

        Directories are opened relative to their parent's descriptor with ``O_NOFOLLOW``: symlinks are never
        followed, so the walk cannot leave the mount.
        """
        try:
            top = self._open_dir(start)
        except (OSError, UnsafePath):
            return []
        out: list[str] = []
        stack: list[tuple[str, int | None, int]] = [(start, top, 0)]
        while stack:
            cg, fd, depth = stack.pop()
            out.append(cg)
            if fd is None:  # a leaf of the walk: listed, not opened
                continue
            try:
                if max_depth is not None and depth >= max_depth:
                    continue
                with os.scandir(fd) as it:
                    names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
                base = cg.rstrip("/")
                deeper = max_depth is None or depth + 1 < max_depth
                subs: list[tuple[str, int | None, int]] = []
                for n in names:
                    if not deeper:
                        subs.append((f"{base}/{n}", None, depth + 1))
                        continue
                    try:
                        subs.append((f"{base}/{n}", os.open(n, _DIR_FLAGS, dir_fd=fd), depth + 1))
                    except OSError:
                        continue  # removed (or replaced by a symlink) while walking
                stack.extend(reversed(subs))
            except OSError:
                continue
            finally:
                os.close(fd)
        return out

    def _open_dir(self, path: str) -> int:
        fd = self._mount_fd
        try:
            for part in split_path(path) or ["."]:
                try:
                    nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink, or a file where a cgroup should be
                        raise UnsafePath(f"refusing {path!r}: {part!r} is a symlink or not a directory") from e
                    raise
                if fd != self._mount_fd:
                    os.close(fd)
                fd = nfd
        except BaseException:
            if fd != self._mount_fd:
                os.close(fd)
            raise
        return fd

    def fs_type(self) -> str | None:
        """Filesystem type of the mount (from /proc/self/mountinfo), None if unknown."""
        best: tuple[int, str] | None = None
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    left, _, right = line.partition(" - ")
                    fields = left.split()
                    if len(fields) < 5 or not right:
                        continue
                    mp = fields[4].replace("\\040", " ")
                    if (self.mount == mp or self.mount.startswith(mp.rstrip("/") + "/")) and (
                            best is None or len(mp) >= best[0]):
                        best = (len(mp), right.split()[0])
        except OSError:
            return None
        return best[1] if best else None

    def same(self, ref: CgroupRef) -> bool:
        """Cheap re-check (one ``fstatat`` without following the last component) that ``ref.path`` still
        names cgroup ``ref.id``; writes never rely on it (every :meth:`open` re-checks on the descriptor)."""
        rel = "/".join(split_path(ref.path)) or "."
        try:
            st = os.stat(rel, dir_fd=self._mount_fd, follow_symlinks=False)
        except OSError:
            return False
        return stat.S_ISDIR(st.st_mode) and st.st_ino == ref.id

    def resolve(self, path: str) -> CgroupRef:
        fd = self._open_dir(path)
        try:
            return CgroupRef(path, os.fstat(fd).st_ino)
        finally:
            os.close(fd)

    def open(self, ref: CgroupRef) -> CgroupFSHandle:
        fd = self._open_dir(ref.path)
        if os.fstat(fd).st_ino != ref.id:
            os.close(fd)
            raise enoent(ref.path, f"cgroup {ref.id} was replaced by another cgroup")
        return CgroupFSHandle(self, ref, fd)
