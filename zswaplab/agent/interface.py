"""The kernel's proactive zswap writeback interfaces and how a request is spelled for each.

| interface                           | series  | request written                        | budget unit            | counter in memory.stat  |
|-------------------------------------|---------|----------------------------------------|------------------------|-------------------------|
| ``source=zswap``                    | v5      | ``memory.reclaim``: ``"<bytes> source=zswap"`` | compressed bytes | ``zswpwb_proactive_b`` (bytes) |
| ``zswap_writeback_only``            | v2-v4   | ``memory.reclaim``: ``"<bytes> zswap_writeback_only"`` | v2/v3 pages (entries), v4 compressed bytes / PAGE_SIZE | v2/v3 ``zswpwb_proactive`` (pages), v4 ``zswpwb_proactive_b`` |
| ``memory.zswap.proactive_writeback``| v1      | that file: ``"max=<bytes> <age_seconds>"`` | pages (entries)    | ``zswpwb_proactive`` (pages) |
| none                                | mainline| nothing (observe-only)                 |                        |                         |
"""

from __future__ import annotations

import enum
import math

from ..common.units import format_size

MEMORY_RECLAIM = "memory.reclaim"
PROACTIVE_FILE = "memory.zswap.proactive_writeback"
# The only files the agent ever writes.
OWNED_FILES = frozenset({MEMORY_RECLAIM, PROACTIVE_FILE})

# memory.stat counters of proactive writeback, in the order they are preferred, with their unit multiplier
PROACTIVE_COUNTERS = (("zswpwb_proactive_b", 1), ("zswpwb_proactive", None))  # None = pages

# v1 requires a non-zero age; when the policy gives none, entries older than this many seconds qualify
V1_DEFAULT_AGE_S = 1


class Interface(enum.Enum):
    SOURCE_ZSWAP = "source=zswap"
    WRITEBACK_ONLY = "zswap_writeback_only"
    PROACTIVE_FILE = "memory.zswap.proactive_writeback"
    NONE = "none"

    @property
    def writes(self) -> bool:
        return self is not Interface.NONE

    @property
    def supports_age(self) -> bool:
        return self is Interface.PROACTIVE_FILE

    def request(self, nbytes: int, age_s: float | None = None) -> tuple[str, str]:
        """(file, text) of a request to write back ``nbytes`` (one ``write()`` of ``text`` to ``file``)."""
        size = format_size(nbytes)
        if self is Interface.SOURCE_ZSWAP:
            return MEMORY_RECLAIM, f"{size} source=zswap"
        if self is Interface.WRITEBACK_ONLY:
            return MEMORY_RECLAIM, f"{size} zswap_writeback_only"
        if self is Interface.PROACTIVE_FILE:
            age = max(1, math.ceil(age_s)) if age_s else V1_DEFAULT_AGE_S
            return PROACTIVE_FILE, f"max={size} {age}"
        raise ValueError("observe-only: no request can be made")
