"""The kernel's proactive zswap writeback interfaces and how a request is spelled for each.

Everything version-dependent here is read from the kernel profiles (``zswaplab.kernel.profiles``: each
profile's ``interface``, ``counter``, budget unit and :func:`~zswaplab.kernel.profiles.request_text`); the
:data:`Interface` enum itself is built from them, so a new profile needs no edit in the agent. The table below is
what the profiles say today:

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
import re

from ..common.units import format_size
from ..kernel.profiles import (
    COUNTER_UNITS,
    PROACTIVE_FILE,
    PROFILES,
    Profile,
    proactive_counters,
    request_text,
)

MEMORY_RECLAIM = "memory.reclaim"
# The only files the agent ever writes.
OWNED_FILES = frozenset({MEMORY_RECLAIM, PROACTIVE_FILE})

# memory.stat counters of proactive writeback, the newest profile's first, with their unit multiplier
# (None = pages): ("zswpwb_proactive_b", 1), ("zswpwb_proactive", None)
PROACTIVE_COUNTERS = tuple((c, None if COUNTER_UNITS[c] == "pages" else 1) for c in proactive_counters())

# v1 requires a non-zero age; when the policy gives none, entries older than this many seconds qualify
V1_DEFAULT_AGE_S = 1


class _InterfaceBase(enum.Enum):
    """Behaviour of :data:`Interface` members, all read from the profiles that have the interface."""

    @property
    def profile_interface(self) -> str | None:
        """The kernel profiles' name of this interface (``Profile.interface``): ``"file"`` for v1's file."""
        if self.value == "none":
            return None
        return "file" if self.value == PROACTIVE_FILE else str(self.value)

    @property
    def profiles(self) -> list[Profile]:
        return [p for p in PROFILES.values() if p.interface is not None and p.interface == self.profile_interface]

    @property
    def writes(self) -> bool:
        return self.value != "none"

    @property
    def supports_age(self) -> bool:
        """v1's file takes an age argument (kernel-semantics §2.1)."""
        return any(p.has_proactive_file for p in self.profiles)

    @property
    def page_granular(self) -> bool:
        """The kernel counts the budget in pages (v1–v3 pages, v4 bytes / PAGE_SIZE), not exact bytes (v5)."""
        return not self.profiles or any(p.params.budget_unit != "bytes" for p in self.profiles)

    @classmethod
    def of_profile(cls, interface: str | None) -> Interface:
        """The interface a profile's ``Profile.interface`` names."""
        return next(i for i in cls if i.profile_interface == interface)

    def request(self, nbytes: int, age_s: float | None = None) -> tuple[str, str]:
        """(file, text) of a request to write back ``nbytes`` (one ``write()`` of ``text`` to ``file``)."""
        if not self.writes:
            raise ValueError("observe-only: no request can be made")
        age = max(1, math.ceil(age_s)) if age_s else V1_DEFAULT_AGE_S
        return request_text(self.profile_interface, format_size(nbytes), age)


def _member(interface: str) -> tuple[str, str]:
    """(member name, value) of a profile interface: v1's file is ``PROACTIVE_FILE``; a memory.reclaim key is
    named after it without a leading ``zswap_`` (``source=zswap`` → ``SOURCE_ZSWAP``, ``zswap_writeback_only`` →
    ``WRITEBACK_ONLY``)."""
    if interface == "file":
        return "PROACTIVE_FILE", PROACTIVE_FILE
    return re.sub(r"\W", "_", interface).upper().removeprefix("ZSWAP_"), interface


# The interfaces of the registered profiles, newest first, and NONE (observe-only): built from
# zswaplab.kernel.profiles, so a profile with a new key is a new member with no edit here.
Interface = _InterfaceBase("Interface", [*dict.fromkeys(  # type: ignore[misc]
    _member(p.interface) for p in reversed(PROFILES.values()) if p.interface is not None), ("NONE", "none")])
