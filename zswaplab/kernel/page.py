"""Anonymous pages of the model and where each one lives (RAM, zswap, disk swap, zeromap, freed)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .memcg import MemCgroup
    from .zswap import ZswapEntry


class PageState(enum.Enum):
    RAM = "ram"  # resident, on its memcg's anon LRU
    ZSWAP = "zswap"  # swapped out, compressed copy in zswap
    DISK = "disk"  # swapped out to the swap device (direct swapout or zswap writeback)
    ZERO = "zero"  # swapped out as a zero-filled page (swap core zeromap, v6.12+)
    FREED = "freed"  # unmapped/freed


class Page:
    """One base page of anonymous memory (a ``struct folio`` of order 0 plus its swap slot)."""

    __slots__ = ("id", "memcg", "nid", "clen", "state", "referenced", "swp", "entry", "prev", "next", "lru",
                 "tag", "wb_time_ns")

    def __init__(self, pid: int, memcg: MemCgroup, nid: int, clen: int, tag: str = "") -> None:
        self.id = pid
        self.memcg = memcg  # charged memcg (RAM, swap)
        self.nid = nid
        self.clen = clen  # compressed length in bytes; 0 = zero-filled; >= PAGE_SIZE = incompressible
        self.state = PageState.RAM
        self.referenced = False  # PG_referenced / accessed bit of the vmscan LRU simplification
        self.swp: int | None = None  # swap slot while swapped out
        self.entry: ZswapEntry | None = None
        self.prev: Any = None
        self.next: Any = None
        self.lru: Any = None
        self.tag = tag  # free-form label for scenarios (e.g. "active", "inactive")
        self.wb_time_ns: int | None = None  # when it was last written back from zswap (for refault metrics)

    def __repr__(self) -> str:
        return f"<page {self.id} {self.state.value} {self.memcg.path}>"
