"""The lab's only view of the kernel model (``zswaplab.kernel``).

Everything the runner needs from the model goes through :class:`ModelAdapter`, so a change of the kernel API
touches one module. The adapter uses the model's public entry points only: the cgroupfs facade (``k.fs``),
``alloc``/``touch``/``free``/``advance``, ``writeback_log``, ``debugfs()`` and ``counters``.

Refaults (issue 3 §4) are derived from page states, as the kernel contract says: touching a page whose state
is DISK is a disk swapin (pswpin) of a page that was swapped out — for pages the lab saw written back from
zswap, that is the refault an agent would see.
"""

from __future__ import annotations

import errno as errno_mod
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..common.units import memparse
from ..vm.guest import parse_kv

PAGE_SIZE = 4096


def kernel_available() -> bool:
    try:
        from zswaplab.kernel import Kernel, KernelConfig  # noqa: F401
        from zswaplab.kernel.profiles import proactive_request  # noqa: F401
    except ImportError:
        return False
    return True


def profiles() -> tuple[str, ...]:
    from zswaplab.kernel.profiles import PROFILES

    return tuple(PROFILES)


def proactive_key(profile: str) -> str:
    """The memory.reclaim key word of ``profile``'s proactive interface ("source=zswap", ...)."""
    from zswaplab.kernel.profiles import PROFILES

    iface = PROFILES[profile].params.interface
    return iface or ""


def proactive_request(profile: str, nbytes: int, age_seconds: int = 1) -> tuple[str, str]:
    from zswaplab.kernel.profiles import proactive_request as req

    return req(profile, nbytes, age_seconds)


def errno_name(e: int) -> str:
    return "OK" if e == 0 else errno_mod.errorcode.get(e, str(e))


@dataclass(frozen=True)
class KernelSetup:
    profile: str
    strategy: str | None
    seed: int
    totalram: int
    swap: int
    nr_nodes: int = 1
    shrinker_enabled: bool = False
    max_pool_percent: int = 20
    accept_threshold_percent: int = 90
    wb_batch: int | None = None
    scan_ratio: int | None = None
    bypass_second_chance: bool | None = None
    fast: bool = False  # zswaplab.scale.FastKernel (one node, no dynamic shrinker)


# memory.stat text ("key value" lines) → dict: the same parser the VM guest driver records kernel runs with
parse_stat = parse_kv


class ModelAdapter:
    """A kernel model instance seen through the operations the lab performs."""

    def __init__(self, setup: KernelSetup) -> None:
        from zswaplab.kernel import Kernel, KernelConfig

        cfg = KernelConfig(
            profile=setup.profile,
            totalram_pages=max(1, setup.totalram // PAGE_SIZE),
            nr_nodes=setup.nr_nodes,
            swap_pages=max(1, setup.swap // PAGE_SIZE),
            shrinker_enabled=setup.shrinker_enabled,
            max_pool_percent=setup.max_pool_percent,
            accept_threshold_percent=setup.accept_threshold_percent,
            strategy=setup.strategy,
            wb_batch=setup.wb_batch,
            scan_ratio=setup.scan_ratio,
            bypass_second_chance=setup.bypass_second_chance,
        )
        if setup.fast:
            from ..scale.fastkernel import FastKernel

            self.k: Any = FastKernel(cfg, seed=setup.seed)
        else:
            self.k = Kernel(cfg, seed=setup.seed)
        self.setup = setup
        self.profile = setup.profile

    # -- time
    @property
    def clock_ns(self) -> int:
        return int(self.k.clock_ns)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.k.advance(seconds)

    # -- cgroupfs
    def mkdir(self, path: str) -> None:
        self.k.fs.mkdir(path)

    def rmdir(self, path: str) -> None:
        self.k.fs.rmdir(path)

    def exists(self, path: str) -> bool:
        return bool(self.k.fs.exists(path))

    def write(self, path: str, file: str, text: str) -> int:
        """Write a cgroup file; return 0 or the errno the model's kernel returned."""
        try:
            self.k.fs.write(path, file, text)
        except OSError as e:
            return e.errno or errno_mod.EIO
        return 0

    def read(self, path: str, file: str) -> str:
        return str(self.k.fs.read(path, file))

    def stat(self, path: str) -> dict[str, int]:
        return parse_stat(self.read(path, "memory.stat"))

    def zswap_current(self, path: str) -> int:
        return int(self.read(path, "memory.zswap.current").strip())

    def memcg_paths(self) -> list[str]:
        """Every online memcg, pre-order, root first."""
        return [m.path for m in self.k.tree.root.subtree() if m.online()]

    def children(self, path: str) -> list[str]:
        m = self.k.tree.lookup(path)
        return [c.path for c in m.children if c.online()]

    def writeback_enabled(self, path: str) -> bool:
        from zswaplab.kernel.memcg import mem_cgroup_zswap_writeback_enabled

        return bool(mem_cgroup_zswap_writeback_enabled(self.k.tree.lookup(path)))

    # -- pages
    def alloc(self, path: str, n: int, clen: Callable[[random.Random], int], tag: str) -> list[Any]:
        """Bulk allocation (``Kernel.alloc``); ``clen`` draws from the model's seeded rng."""
        return list(self.k.alloc(path, n, clen=clen, tag=tag))

    def push_to_zswap(self, path: str, pages: Sequence[Any]) -> int:
        """Push ``pages`` out with a plain memory.reclaim of their size on ``path``; return how many of them
        ended up in zswap (the rest stayed resident or went to disk)."""
        if not pages:
            return 0
        self.write(path, "memory.reclaim", str(len(pages) * PAGE_SIZE))
        return sum(1 for p in pages if self.state(p) == "zswap")

    @staticmethod
    def state(page: Any) -> str:
        return str(page.state.value)

    @staticmethod
    def clen(page: Any) -> int:
        """Compressed length of the page in bytes."""
        return int(page.clen)

    @staticmethod
    def page_id(page: Any) -> int:
        return int(page.id)

    @staticmethod
    def owner(page: Any) -> str:
        return str(page.memcg.path)

    @staticmethod
    def tag(page: Any) -> str | None:
        return getattr(page, "tag", None) or None

    def page_by_id(self, pid: int) -> Any | None:
        return self.k.pages.get(pid)

    def touch(self, pages: Iterable[Any]) -> list[Any]:
        """Access pages; return those that were on disk (each such touch is a pswpin / refault)."""
        pages = list(pages)
        on_disk = [p for p in pages if self.state(p) == "disk"]
        self.k.touch(pages)
        return on_disk

    def free(self, pages: Iterable[Any]) -> None:
        self.k.free(list(pages))

    # -- logs and counters
    def writeback_log_len(self) -> int:
        return len(self.k.writeback_log)

    def writeback_log_since(self, mark: int) -> list[tuple[int, str, int, int, bool]]:
        """Entries ``(clock_ns, owner_path, page_id, length, proactive)`` appended after ``mark``."""
        return list(self.k.writeback_log[mark:])

    def counters(self) -> dict[str, int]:
        out = {f"debugfs.{k}": int(v) for k, v in self.k.debugfs().items()}
        out.update({f"counter.{k}": int(v) for k, v in self.k.counters.items()})
        return dict(sorted(out.items()))


def size_bytes(v: int | str) -> int:
    return memparse(v)
