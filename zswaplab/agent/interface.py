"""The kernel's proactive zswap writeback interfaces and how a request is spelled for each.

Everything version-dependent here is read from the kernel profiles (``zswaplab.kernel.profiles``: each
profile's ``interface``, ``counter`` and :func:`~zswaplab.kernel.profiles.request_text`); a new profile needs no
edit in the agent. The table below is what the profiles say today:

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
from ..kernel.profiles import COUNTER_UNITS, PROACTIVE_FILE, proactive_counters, request_text

MEMORY_RECLAIM = "memory.reclaim"
# The only files the agent ever writes.
OWNED_FILES = frozenset({MEMORY_RECLAIM, PROACTIVE_FILE})

# memory.stat counters of proactive writeback, the newest profile's first, with their unit multiplier
# (None = pages): ("zswpwb_proactive_b", 1), ("zswpwb_proactive", None)
PROACTIVE_COUNTERS = tuple((c, None if COUNTER_UNITS[c] == "pages" else 1) for c in proactive_counters())

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

    @property
    def profile_interface(self) -> str | None:
        """The kernel profiles' name of this interface (``Profile.interface``): ``"file"`` for v1's file."""
        if self is Interface.NONE:
            return None
        return "file" if self is Interface.PROACTIVE_FILE else self.value

    @classmethod
    def of_profile(cls, interface: str | None) -> Interface:
        """The interface a profile's ``Profile.interface`` names."""
        return next(i for i in cls if i.profile_interface == interface)

    def request(self, nbytes: int, age_s: float | None = None) -> tuple[str, str]:
        """(file, text) of a request to write back ``nbytes`` (one ``write()`` of ``text`` to ``file``)."""
        if self is Interface.NONE:
            raise ValueError("observe-only: no request can be made")
        age = max(1, math.ceil(age_s)) if age_s else V1_DEFAULT_AGE_S
        return request_text(self.profile_interface, format_size(nbytes), age)
