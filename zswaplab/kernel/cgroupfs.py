"""A filesystem-shaped facade over the model: the cgroup v2 memory controller files.

Reads return the kernel's text; writes parse exactly as the kernel does and raise ``OSError`` with the errno the
kernel returns (mm/memcontrol.c ``memory_*_write``, ``memory_reclaim``/``user_proactive_reclaim``, the series'
``zswap_writeback_only`` / ``source=zswap`` keys and v1's ``memory.zswap.proactive_writeback``; kernel-semantics §1.14, §2).
Failed writes change nothing.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import kparse
from .constants import (
    MAX_RECLAIM_RETRIES,
    MAX_SWAPPINESS,
    MIN_SWAPPINESS,
    PAGE_COUNTER_MAX,
    PAGE_SHIFT,
    PAGE_SIZE,
    SWAPPINESS_ANON_ONLY,
)
from .memcg import MemCgroup, mem_cgroup_zswap_writeback_enabled
from .proactive import proactive_writeback
from .vmscan import memory_reclaim

if TYPE_CHECKING:
    from .system import Kernel

ROOT_FILES = ("cgroup.procs", "memory.pressure", "memory.reclaim", "memory.stat", "memory.zswap.writeback")
CHILD_FILES = ROOT_FILES + (
    "memory.current",
    "memory.max",
    "memory.swap.current",
    "memory.swap.max",
    "memory.swap.peak",
    "memory.zswap.current",
    "memory.zswap.max",
)
WRITE_ONLY = ("memory.reclaim", "memory.zswap.proactive_writeback")
READ_ONLY = ("memory.current", "memory.stat", "memory.swap.current", "memory.swap.peak", "memory.zswap.current",
             "memory.pressure")


def _err(code: int, msg: str = "") -> OSError:
    return OSError(code, msg or os.strerror(code))


def memparse(s: str, saturate: bool = False) -> tuple[int, int]:
    """``memparse`` (lib/cmdline.c); see :func:`zswaplab.kernel.kparse.memparse`."""
    return kparse.memparse(s, saturate)


def page_counter_memparse(buf: str, max_token: str = "max", saturate: bool = False) -> int:
    """``strstrip`` + ``page_counter_memparse(buf, "max", &nr_pages)`` (mm/memcontrol.c ``memory_max_write``,
    ``swap_max_write``, ``zswap_max_write``; mm/page_counter.c): "max" or a byte size rounded down to pages; an
    empty value (``"\\n"``) is 0; raises ``OSError(EINVAL)`` when text is left after the number."""
    try:
        return kparse.page_counter_memparse(kparse.strstrip(buf), PAGE_SIZE, PAGE_COUNTER_MAX, max_token, saturate)
    except kparse.ParseError as e:
        raise _err(e.errno) from None


@dataclass(frozen=True)
class ReclaimRequest:
    """A parsed ``memory.reclaim`` write."""

    nr_bytes: int
    swappiness: int | None  # None = not given
    zswap_only: bool  # the series' key (``zswap_writeback_only`` v2-v4, ``source=zswap`` v5)


def parse_memory_reclaim(buf: str, iface: str | None, swappiness_max: bool,
                         saturate: bool = False) -> ReclaimRequest:
    """``user_proactive_reclaim`` token parsing (mm/vmscan.c v6.17+ … 7.2; ``memory_reclaim`` in mm/memcontrol.c
    before) with the series' keys for ``iface`` ("zswap_writeback_only" or "source=zswap"); raises
    ``OSError(EINVAL)`` exactly where the kernel returns -EINVAL (docs/kernel-semantics.md §1.14).

    ``strstrip``, ``memparse`` of the size (nothing parsed → EINVAL), ``strstrip`` again, then tokens split on
    single spaces (``strsep``) and matched with ``match_token``: ``swappiness=%d`` (``match_int``: no ``+``, ``"-"``
    alone is 0, 24+ characters is an error), ``swappiness=max`` (v6.15+) and the series' key.
    """
    buf = kparse.strstrip(buf)
    nr_bytes, n = kparse.memparse(buf, saturate)
    if n == 0:
        raise _err(errno.EINVAL, "no size")
    rest = kparse.strstrip(buf[n:])
    swappiness = -1
    zswap_only = False
    for tok in rest.split(" "):
        if not tok:
            continue
        if tok.startswith("swappiness="):
            v = kparse.match_int(tok[len("swappiness="):], saturate)
            if v is not None:
                if not MIN_SWAPPINESS <= v <= MAX_SWAPPINESS:
                    raise _err(errno.EINVAL, "swappiness out of range")
                swappiness = v
                continue
            if tok == "swappiness=max" and swappiness_max:
                swappiness = SWAPPINESS_ANON_ONLY
                continue
            raise _err(errno.EINVAL, f"bad token {tok!r}")
        if iface == "zswap_writeback_only" and tok == "zswap_writeback_only":
            zswap_only = True
            continue
        if iface == "source=zswap" and tok.startswith("source="):
            val = tok[len("source="):]
            if len(val) >= 16 or val != "zswap":  # match_strlcpy into char[16]; only "zswap"
                raise _err(errno.EINVAL, f"bad source {val!r}")
            zswap_only = True
            continue
        raise _err(errno.EINVAL, f"unknown token {tok!r}")
    if zswap_only and swappiness != -1:
        raise _err(errno.EINVAL, "zswap writeback cannot be combined with swappiness")
    return ReclaimRequest(nr_bytes, None if swappiness == -1 else swappiness, zswap_only)


def parse_proactive_writeback_file(buf: str, saturate: bool = False) -> tuple[int, int]:
    """Parse v1's ``"[max=<bytes>] <age_seconds>"`` (series v1 2/3) into (max bytes, age).

    ``max=`` must consume its whole value (memparse); the age is a bare unsigned int given once; a missing or
    zero age, or a max below one page, is -EINVAL.
    """
    max_bytes = kparse.ULONG_MAX
    age: int | None = None
    for tok in kparse.strstrip(buf).split(" "):
        if not tok:
            continue
        if tok.startswith("max="):
            v, n = kparse.memparse(tok[4:], saturate)
            if n == 0 or n != len(tok) - 4:
                raise _err(errno.EINVAL, "bad max=")
            max_bytes = v
            continue
        v, n = kparse.simple_strtoull(tok, 10, saturate)
        if n == 0 or n != len(tok) or age is not None or v > 0xFFFFFFFF:
            raise _err(errno.EINVAL, f"bad token {tok!r}")
        age = v
    if age is None or age == 0 or (max_bytes >> PAGE_SHIFT) == 0:
        raise _err(errno.EINVAL, "age required, non-zero; max must be at least one page")
    return max_bytes, age


def parse_zswap_writeback(buf: str) -> bool:
    """``zswap_writeback_write`` (mm/memcontrol.c, 6.8 … 7.2): ``kstrtoint(strstrip(buf), 0, &v)`` (its errno:
    ERANGE outside ``int``, EINVAL for anything but a whole number), then EINVAL unless 0 or 1."""
    try:
        v = kparse.kstrtoint(kparse.strstrip(buf), 0)
    except kparse.ParseError as e:
        raise _err(e.errno) from None
    if v not in (0, 1):
        raise _err(errno.EINVAL)
    return bool(v)


class CgroupFS:
    """``/sys/fs/cgroup`` of one :class:`~zswaplab.kernel.system.Kernel`. Paths are absolute cgroup paths."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    # ------------------------------------------------------------------ directories
    def _lookup(self, path: str) -> MemCgroup:
        try:
            return self.k.tree.lookup(path)
        except FileNotFoundError:
            raise _err(errno.ENOENT, f"no such cgroup: {path}") from None

    def exists(self, path: str) -> bool:
        try:
            self.k.tree.lookup(path)
            return True
        except FileNotFoundError:
            return False

    def mkdir(self, path: str) -> None:
        """``cgroup_mkdir`` (v6.12 … v7.0): EEXIST if present, ENOENT if the parent is missing."""
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise _err(errno.EEXIST, "/")
        parent = self._lookup("/" + "/".join(parts[:-1]))
        if any(c.name == parts[-1] and c.online() for c in parent.children):
            raise _err(errno.EEXIST, path)
        self.k.mkdir(parent, parts[-1])

    def rmdir(self, path: str) -> None:
        """``cgroup_rmdir`` (v6.12 … v7.0) = memcg offline; EBUSY with online children (model cgroups hold no
        tasks)."""
        m = self._lookup(path)
        if m.is_root:
            raise _err(errno.EBUSY, "/")
        if any(c.online() for c in m.children):
            raise _err(errno.EBUSY, path)
        self.k.tree.offline(m)
        self.k.run_pending_work()

    def listdir(self, path: str) -> list[str]:
        m = self._lookup(path)
        files = list(ROOT_FILES if m.is_root else CHILD_FILES)
        if not self.k.config.config_zswap:  # the zswap cftypes exist only with CONFIG_ZSWAP
            files = [f for f in files if not f.startswith("memory.zswap.")]
        if self.k.params.interface == "file" and not m.is_root:
            files.append("memory.zswap.proactive_writeback")
        return sorted(files) + sorted(c.name for c in m.children if c.online())

    def _check_file(self, m: MemCgroup, file: str) -> None:
        if file not in self.listdir(m.path):
            raise _err(errno.ENOENT, f"{m.path}/{file}")

    # ------------------------------------------------------------------ reads
    def read(self, path: str, file: str) -> str:
        m = self._lookup(path)
        self._check_file(m, file)
        if file in WRITE_ONLY:
            raise _err(errno.EINVAL, f"{file} is write-only")
        k = self.k
        h = k.hier(m)
        if file == "memory.stat":
            return self.memory_stat(m)
        if file == "memory.current":
            return f"{h.usage_b}\n"
        if file == "memory.zswap.current":
            return f"{h.zswap_b}\n"
        if file == "memory.swap.current":
            return f"{h.swap * PAGE_SIZE}\n"
        if file == "memory.swap.peak":
            return f"{m.swap_peak * PAGE_SIZE}\n"
        if file in ("memory.max", "memory.swap.max", "memory.zswap.max"):
            v = {"memory.max": m.memory_max, "memory.swap.max": m.swap_max, "memory.zswap.max": m.zswap_max}[file]
            return "max\n" if v == PAGE_COUNTER_MAX else f"{v * PAGE_SIZE}\n"
        if file == "memory.zswap.writeback":
            return f"{int(m.zswap_writeback)}\n"
        if file == "memory.pressure":
            return k.psi.format(m)
        if file == "cgroup.procs":
            return ""
        raise _err(errno.EINVAL, file)

    def memory_stat(self, m: MemCgroup) -> str:
        """``memory_stat_format`` (v6.12 … v7.0): the zswap-relevant lines of memory.stat, in the kernel's order
        and units."""
        st = self.k.stats_of(m)
        prof = self.k.params
        lines: list[tuple[str, int]] = [
            ("anon", st.anon * PAGE_SIZE),
            ("file", 0),
            ("kernel", 0),
            ("shmem", 0),
            ("zswap", st.zswap_b),
            ("zswapped", st.zswapped * PAGE_SIZE),
        ]
        if self.k.config.incompressible_store_as_is:
            lines.append(("zswap_incomp", st.zswap_incomp * PAGE_SIZE))
        if prof.stat == "zswpwb_proactive_b":
            lines.append(("zswpwb_proactive_b", st.zswpwb_proactive_b))
        lines += [
            ("inactive_anon", st.anon * PAGE_SIZE),
            ("active_anon", 0),
            ("pgmajfault", st.pgfault_major),
        ]
        if self.k.config.extra.get("memcg_pswp_stat", True):
            lines += [("pswpin", st.pswpin), ("pswpout", st.pswpout)]
        lines += [
            ("zswpin", st.zswpin),
            ("zswpout", st.zswpout),
            ("zswpwb", st.zswpwb),
        ]
        if prof.stat == "zswpwb_proactive":
            lines.append(("zswpwb_proactive", st.zswpwb_proactive))
        return "".join(f"{key} {val}\n" for key, val in lines)

    # ------------------------------------------------------------------ writes
    def write(self, path: str, file: str, text: str | bytes) -> None:
        """Write ``text`` to a cgroup file as one ``write(2)``; raises ``OSError`` with the kernel's errno."""
        m = self._lookup(path)
        self._check_file(m, file)
        if isinstance(text, bytes):
            raw = text
        else:
            raw = text.encode("utf-8", "surrogateescape")
        if len(raw) > PAGE_SIZE:  # kernfs_fop_write_iter: cgroup files have atomic_write_len = PAGE_SIZE
            raise _err(errno.E2BIG)
        if not raw:  # cgroup_file_write: if (!nbytes) return 0;
            return
        buf = raw.split(b"\0", 1)[0].decode("latin-1")  # kernfs hands a NUL-terminated copy
        if file in READ_ONLY:
            raise _err(errno.EINVAL, f"{file} is read-only")
        k = self.k
        sat = bool(k.config.memparse_saturates)
        try:
            if file == "memory.reclaim":
                self._memory_reclaim(m, buf)
            elif file == "memory.zswap.proactive_writeback":
                self._proactive_writeback_file(m, buf)
            elif file == "memory.max":
                m.memory_max = page_counter_memparse(buf, saturate=sat)
                self._reclaim_to_limit(m)
            elif file == "memory.swap.max":
                m.swap_max = page_counter_memparse(buf, saturate=sat)
            elif file == "memory.zswap.max":
                m.zswap_max = page_counter_memparse(buf, saturate=sat)
            elif file == "memory.zswap.writeback":
                m.zswap_writeback = parse_zswap_writeback(buf)
            elif file == "cgroup.procs":
                raise _err(errno.EINVAL, "the model has no tasks")
            else:
                raise _err(errno.EINVAL, file)
        finally:
            k.run_pending_work()

    def node_reclaim(self, nid: int, text: str | bytes) -> None:
        """Write ``text`` to ``/sys/devices/system/node/node<nid>/reclaim``: ``reclaim_store`` (drivers/base/node.c,
        6.17 … 7.2) → ``user_proactive_reclaim(buf, NULL, NODE_DATA(nid))``. The series' zswap key reaches
        ``zswap_proactive_writeback(NULL, …)``, which returns -EINVAL (``if (!memcg)``). Approximation: plain
        reclaim of a node reclaims from the root memcg over every node (the model has no per-node vmscan)."""
        k = self.k
        if not k.config.node_reclaim or not 0 <= nid < k.config.nr_nodes:
            raise _err(errno.ENOENT, f"no node{nid}/reclaim")
        raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
        buf = raw[:PAGE_SIZE].split(b"\0", 1)[0].decode("latin-1")
        try:
            req = parse_memory_reclaim(buf, k.params.interface, bool(k.config.swappiness_max),
                                       bool(k.config.memparse_saturates))
            if req.zswap_only:
                rc = self._proactive_writeback(None, req.nr_bytes)
                if rc < 0:
                    raise _err(-rc)
                return
            self._reclaim(k.tree.root, req.nr_bytes // PAGE_SIZE, req.swappiness)
        finally:
            k.run_pending_work()

    def _reclaim_to_limit(self, m: MemCgroup) -> None:
        """``memory_max_write``: reclaim until usage fits (MAX_RECLAIM_RETRIES failed rounds, then give up; the
        kernel would OOM-kill here)."""
        k = self.k
        retries = MAX_RECLAIM_RETRIES
        while k.memory_current(m) > m.memory_max * PAGE_SIZE and retries > 0:
            over = -(-(k.memory_current(m) - m.memory_max * PAGE_SIZE) // PAGE_SIZE)
            if k.try_to_free_mem_cgroup_pages(m, over) == 0:
                retries -= 1

    def _memory_reclaim(self, m: MemCgroup, buf: str) -> None:
        """``memory_reclaim`` / ``user_proactive_reclaim``: parse, then reclaim or (series) write back."""
        k = self.k
        req = parse_memory_reclaim(buf, k.params.interface, bool(k.config.swappiness_max),
                                   bool(k.config.memparse_saturates))
        if req.zswap_only:
            rc = self._proactive_writeback(m, req.nr_bytes)
            if rc < 0:
                raise _err(-rc)
            return
        self._reclaim(m, req.nr_bytes // PAGE_SIZE, req.swappiness)

    # the two actions behind memory.reclaim and v1's file (overridden by the fast core)
    def _proactive_writeback(self, m: MemCgroup | None, nr_bytes: int, age_seconds: int | None = None) -> int:
        return proactive_writeback(self.k, m, nr_bytes, age_seconds=age_seconds)

    def _reclaim(self, m: MemCgroup, nr_pages: int, swappiness: int | None) -> None:
        memory_reclaim(self.k, m, nr_pages, swappiness)

    def _proactive_writeback_file(self, m: MemCgroup, buf: str) -> None:
        """v1 ``memory.zswap.proactive_writeback`` write handler (series v1 2/3; kernel-semantics §2.1)."""
        if not mem_cgroup_zswap_writeback_enabled(m, self.k.config.zswap_enabled):
            raise _err(errno.EINVAL, "zswap writeback disabled")
        max_bytes, age = parse_proactive_writeback_file(buf, bool(self.k.config.memparse_saturates))
        rc = self._proactive_writeback(m, max_bytes, age)
        if rc < 0:
            raise _err(-rc)
