"""The ``cgroupfs`` backend: a real cgroup v2 mount (``/sys/fs/cgroup`` by default, any directory in tests).

Safety rules, enforced here and nowhere else:

* every cgroup directory is opened component by component from a descriptor of the mount with
  ``O_DIRECTORY | O_NOFOLLOW``, so a symlink anywhere below the mount is refused (``ELOOP``/``ENOTDIR``) and
  ``..`` is rejected before any syscall: nothing outside the mount can be reached;
* a handle re-checks the directory's inode against the id it was resolved with (cgroups are tracked by id);
* during an agent cycle (:meth:`CgroupFSBackend.begin_cycle` .. :meth:`~CgroupFSBackend.end_cycle`) the
  ancestors of the targets are opened once per cycle (component by component, ``O_NOFOLLOW``, as above) and
  shared by their targets, and each target's own directory descriptor is kept across cycles
  (``open(ref, keep=True)``); every cycle still re-checks that the path names that very directory: its entry
  in the parent's listing (one ``getdents`` pass per parent and cycle) must be a real directory with the
  tracked inode, and any disagreement is settled by ``fstatat(parent, name, AT_SYMLINK_NOFOLLOW)`` (symlink:
  refused; other inode: ``ENOENT``). All file access goes through the kept descriptor with ``openat``, so the
  files read and written are always those of the tracked cgroup, never of a namesake;
* only :data:`~zswaplab.agent.interface.OWNED_FILES` are ever opened for writing, without ``O_CREAT`` or
  ``O_TRUNC``, and each request is exactly one ``write()`` (like ``echo "10M source=zswap" > memory.reclaim``);
* the mount must be a cgroup2 filesystem (``fstatfs`` magic ``CGROUP2_SUPER_MAGIC``); a file is written only
  if it is a regular file on the mount's device (``st_dev``) with one link (kernfs files cannot be hard-linked:
  a second link means a file planted from elsewhere), and only while the cgroup's directory descriptor still
  resolves to the cgroup's path below the mount (``/proc/self/fd``: a directory renamed out of the mount
  mid-cycle gets no more writes through a kept descriptor).

The final ``write()`` goes through an :class:`Opener` so tests can stand in for the kernel (answering with
``OSError(errno)`` as each kernel version would); production uses plain ``os.write``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import stat
import threading
import time

from .backend import Backend, CgroupRef, UnsafePath, enoent, split_path
from .interface import OWNED_FILES

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_READ_BUF = 1 << 16
_WRITE_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
CGROUP2_SUPER_MAGIC = 0x63677270  # include/uapi/linux/magic.h
CGROUP_SUPER_MAGIC = 0x27E0EB  # cgroup v1


class NotCgroup2(ValueError):
    """The mount is not a cgroup2 filesystem: the agent refuses to start there."""


def fs_magic(fd: int) -> int | None:
    """``f_type`` of ``fstatfs(fd)`` (the filesystem's magic number), None if it cannot be called.

    ``struct statfs`` starts with ``f_type`` (a ``long``: ``__fsword_t``) on every Linux ABI; the buffer is
    larger than the structure on any of them."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    buf = ctypes.create_string_buffer(512)
    if libc.fstatfs(fd, buf) != 0:
        return None
    return ctypes.c_ulong.from_buffer(buf).value & 0xFFFFFFFF


def _fd_path(fd: int) -> str | None:
    """The path the kernel has for descriptor ``fd`` now (``/proc/self/fd``), None without ``/proc``."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


class Opener:
    """Performs the one ``write()`` of a request; tests substitute a fake kernel."""

    def write(self, fd: int, data: bytes, *, path: str, fname: str) -> int:
        return os.write(fd, data)


def _soft_nofile() -> int:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return 1 << 20 if soft == resource.RLIM_INFINITY else soft


class CgroupFSHandle:
    """File access below one cgroup directory descriptor. ``owned``: the handle closes the descriptor on exit
    (otherwise it is one the backend keeps across cycles)."""

    def __init__(self, backend: CgroupFSBackend, ref: CgroupRef, fd: int, owned: bool = True) -> None:
        self.backend, self.ref, self.fd, self.owned = backend, ref, fd, owned
        self.stale = False  # the kept descriptor answered ENOENT/ENODEV: drop it when the handle is done
        # files this handle has read, kept open until it exits and re-read from offset 0 (a cgroup file is
        # generated anew by every read from offset 0; see read())
        self._rfds: dict[str, int] = {}

    def __enter__(self) -> CgroupFSHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        rfds, self._rfds = self._rfds, {}
        for rfd in rfds.values():
            os.close(rfd)
        if self.owned:
            os.close(self.fd)
        elif self.stale:
            self.backend._drop_kept(self.ref.id, self.fd)

    def _failed(self, e: OSError) -> None:
        if e.errno in (errno.ENOENT, errno.ENODEV):
            self.stale = True

    def read(self, fname: str) -> str:
        """The text of file ``fname`` of this cgroup, read now.

        The first read of a file opens it (``openat`` on the cgroup's descriptor, ``O_NOFOLLOW``); later reads
        through the same handle (the second sample of a step) re-read the open file from offset 0, which makes
        the kernel generate it anew (``seq_read_iter`` restarts at position 0). A file that was removed
        meanwhile is never read stale: kernfs answers ``ENODEV``, and on other filesystems an unlinked file
        (``st_nlink == 0``) is closed and opened again by name.
        """
        fd = self._rfds.get(fname)
        if fd is not None:
            try:
                gone = os.fstat(fd).st_nlink == 0
            except OSError:
                gone = True
            if gone:
                del self._rfds[fname]
                os.close(fd)
                fd = None
        if fd is None:
            if "/" in fname or fname in (".", ".."):
                raise UnsafePath(f"refusing file name {fname!r}")
            try:
                fd = os.open(fname, _READ_FLAGS, dir_fd=self.fd)
            except OSError as e:
                self._failed(e)
                raise
            self._rfds[fname] = fd
        try:
            # cgroup files are single-show seq_files: a short read is the whole file; read on only if the
            # buffer came back full
            data = os.pread(fd, _READ_BUF, 0)
            if len(data) == _READ_BUF:
                chunks = [data]
                off = len(data)
                while chunk := os.pread(fd, _READ_BUF, off):
                    chunks.append(chunk)
                    off += len(chunk)
                data = b"".join(chunks)
            return data.decode("ascii", "replace")
        except OSError as e:
            self._failed(e)
            raise

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
        try:
            fd = os.open(fname, _WRITE_FLAGS, dir_fd=self.fd)
        except OSError as e:
            self._failed(e)
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafePath(f"refusing to write {self.ref.path}/{fname}: not a regular file")
            if st.st_dev != self.backend.dev:
                raise UnsafePath(f"refusing to write {self.ref.path}/{fname}: on another device than the mount")
            if st.st_nlink != 1:
                raise UnsafePath(f"refusing to write {self.ref.path}/{fname}: {st.st_nlink} hard links "
                                 "(a cgroup file has exactly one)")
            self.backend.check_still_below_mount(self.fd, self.ref)
            payload = data.encode("ascii")
            local = self.backend.in_write
            local.active = True
            try:
                self.backend.opener.write(fd, payload, path=self.ref.path, fname=fname)
            except OSError as e:
                self._failed(e)
                raise
            finally:
                local.active = False
        finally:
            os.close(fd)


class CgroupFSBackend(Backend):
    name = "cgroupfs"
    threaded = True

    def __init__(self, mount: str = "/sys/fs/cgroup", opener: Opener | None = None, *,
                 allow_any_fs: bool = False) -> None:
        """Open ``mount``; :class:`NotCgroup2` unless it is a cgroup2 filesystem. ``allow_any_fs`` is for
        tests on plain directory trees (every other safety rule still applies)."""
        super().__init__()
        self.mount = os.path.abspath(mount)
        self.opener = opener or Opener()
        self._mount_fd = os.open(self.mount, _DIR_FLAGS)
        magic = fs_magic(self._mount_fd)
        if not allow_any_fs and magic != CGROUP2_SUPER_MAGIC:
            os.close(self._mount_fd)
            what = ("a cgroup v1 hierarchy" if magic == CGROUP_SUPER_MAGIC else
                    "of unknown type" if magic is None else f"not cgroup2 (filesystem magic 0x{magic:x})")
            raise NotCgroup2(f"{self.mount} is {what}; the agent needs a cgroup v2 mount "
                             f"(e.g. /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts)")
        self.dev = os.fstat(self._mount_fd).st_dev
        self._mount_path = _fd_path(self._mount_fd)
        self._lock = threading.Lock()
        # cgroup id -> its directory descriptor, kept across cycles for open(ref, keep=True); bounded so that
        # a host with many targets and a low RLIMIT_NOFILE falls back to opening per cycle instead of EMFILE
        self._kept: dict[int, int] = {}
        self.max_kept = max(0, _soft_nofile() // 2 - 64)
        # during a cycle: relative path of an ancestor -> its descriptor (opened once per cycle), and -> its
        # subdirectories {name: inode} (listed once per cycle, at the first open() below it)
        self._cycle_dirs: dict[str, int] | None = None
        self._cycle_lists: dict[str, dict[str, int]] = {}
        # cgroup path -> (its components, parent's relative path, last component), checked by split_path
        self._split: dict[str, tuple[list[str], str, str]] = {}

    def check_still_below_mount(self, fd: int, ref: CgroupRef) -> None:
        """``ENOENT`` unless directory ``fd`` is still at ``ref.path`` below the mount (checked through
        ``/proc/self/fd``; without ``/proc``, by an ``fstatat`` of the path from the mount compared by inode)."""
        if self._mount_path is not None:
            now = _fd_path(fd)
            if now is not None:
                want = self._mount_path.rstrip("/") + ref.path if ref.path != "/" else self._mount_path
                if now != want:
                    raise enoent(ref.path, f"cgroup {ref.id} moved to {now!r}, outside its place below the mount")
                return
        rel = "/".join(split_path(ref.path)) or "."
        try:
            st = os.stat(rel, dir_fd=self._mount_fd, follow_symlinks=False)
        except OSError as e:
            raise enoent(ref.path, "cgroup no longer at its path") from e
        if st.st_ino != ref.id or st.st_dev != self.dev:
            raise enoent(ref.path, f"cgroup {ref.id} is no longer at its path")

    def close(self) -> None:
        self.end_cycle()
        with self._lock:
            kept, self._kept = self._kept, {}
        for fd in kept.values():
            os.close(fd)
        if self._mount_fd >= 0:
            os.close(self._mount_fd)
            self._mount_fd = -1

    def begin_cycle(self) -> None:
        with self._lock:
            if self._cycle_dirs is None:
                self._cycle_dirs = {}

    def end_cycle(self) -> None:
        with self._lock:
            dirs, self._cycle_dirs = self._cycle_dirs, None
            self._cycle_lists = {}
        for fd in (dirs or {}).values():
            os.close(fd)

    def release(self, ref: CgroupRef) -> None:
        """Close the descriptor kept for ``ref`` (the agent no longer tracks that cgroup)."""
        with self._lock:
            fd = self._kept.pop(ref.id, None)
        if fd is not None:
            os.close(fd)

    def _drop_kept(self, cid: int, fd: int) -> None:
        with self._lock:
            if self._kept.get(cid) == fd:
                del self._kept[cid]
            else:
                return
        os.close(fd)

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

    @staticmethod
    def _openat_dir(dfd: int, part: str, path: str) -> int:
        try:
            return os.open(part, _DIR_FLAGS, dir_fd=dfd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink, or a file where a cgroup should be
                raise UnsafePath(f"refusing {path!r}: {part!r} is a symlink or not a directory") from e
            raise

    def _open_dir(self, path: str) -> int:
        fd = self._mount_fd
        try:
            for part in split_path(path) or ["."]:
                nfd = self._openat_dir(fd, part, path)
                if fd != self._mount_fd:
                    os.close(fd)
                fd = nfd
        except BaseException:
            if fd != self._mount_fd:
                os.close(fd)
            raise
        return fd

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

    def _cycle_dir(self, parts: list[str], path: str) -> int:
        """Descriptor of the directory ``parts`` (relative to the mount), opened at most once per cycle
        (component by component with ``O_NOFOLLOW``, from the cycle's descriptor of its parent)."""
        if not parts:
            return self._mount_fd
        cache = self._cycle_dirs
        key = "/".join(parts)
        fd = cache.get(key) if cache is not None else None
        if fd is not None:
            return fd
        parent = self._cycle_dir(parts[:-1], path)
        fd = self._openat_dir(parent, parts[-1], path)
        with self._lock:
            cache = self._cycle_dirs
            first = cache.get(key) if cache is not None else None
            if cache is not None and first is None:
                cache[key] = fd
                return fd
        os.close(fd)
        if first is None:
            raise RuntimeError("the cycle ended while a target was being opened")
        return first  # another thread opened it first

    def _cycle_listing(self, pkey: str, parent: int) -> dict[str, int]:
        """{name: inode} of the real subdirectories (no symlinks) of a cycle directory, listed once per cycle
        with one ``getdents`` pass: the per-target inode check of a cycle, batched."""
        lst = self._cycle_lists.get(pkey)
        if lst is None:
            with self._lock:  # the scan moves the descriptor's (shared) offset: one thread at a time
                lst = self._cycle_lists.get(pkey)
                if lst is None:
                    try:
                        with os.scandir(parent) as it:
                            lst = {e.name: e.inode() for e in it if e.is_dir(follow_symlinks=False)}
                    except OSError:
                        lst = {}  # every open() below falls back to its own fstatat
                    self._cycle_lists[pkey] = lst
        return lst

    def open(self, ref: CgroupRef, keep: bool = False) -> CgroupFSHandle:
        """A handle on cgroup ``ref`` after checking that ``ref.path`` still names it (``ENOENT`` if the path
        is gone or names another cgroup, :class:`UnsafePath` if it leads through a symlink).

        Outside a cycle the directory is opened from the mount, component by component. Inside one, the
        parent comes from the cycle's cache, the last component is checked with one ``fstatat`` without
        following it, and with ``keep`` the cgroup's descriptor is kept for the next cycles.
        """
        cache = self._cycle_dirs
        sp = self._split.get(ref.path)
        if sp is None:
            parts = split_path(ref.path)  # refuses "..", "." and relative paths
            sp = (parts, "/".join(parts[:-1]), parts[-1] if parts else "")
            if len(self._split) < 65536:
                self._split[ref.path] = sp
        parts, pkey, name = sp
        if cache is None or not parts:
            fd = self._open_dir(ref.path)
            if os.fstat(fd).st_ino != ref.id:
                os.close(fd)
                raise enoent(ref.path, f"cgroup {ref.id} was replaced by another cgroup")
            return CgroupFSHandle(self, ref, fd)
        parent = cache.get(pkey) if pkey else self._mount_fd
        if parent is None:
            parent = self._cycle_dir(parts[:-1], ref.path)
        if self._cycle_listing(pkey, parent).get(name) != ref.id:
            # not (or no longer) listed as that directory: check the path itself, without following it
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafePath(f"refusing {ref.path!r}: {name!r} is a symlink or not a directory")
            if st.st_ino != ref.id:
                raise enoent(ref.path, f"cgroup {ref.id} was replaced by another cgroup")
        fd = self._kept.get(ref.id) if keep else None
        if fd is not None:
            return CgroupFSHandle(self, ref, fd, owned=False)
        fd = self._openat_dir(parent, name, ref.path)
        if os.fstat(fd).st_ino != ref.id:  # replaced between the fstatat and the open
            os.close(fd)
            raise enoent(ref.path, f"cgroup {ref.id} was replaced by another cgroup")
        if keep:
            with self._lock:
                if len(self._kept) < self.max_kept and ref.id not in self._kept:
                    self._kept[ref.id] = fd
                    return CgroupFSHandle(self, ref, fd, owned=False)
        return CgroupFSHandle(self, ref, fd)
