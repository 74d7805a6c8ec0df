"""Kernel profiles: mainline kernels and each version of the proactive writeback series (kernel-semantics §1.15, §2).

A profile fills the version-dependent fields of :class:`KernelConfig` and the proactive constants
(:class:`ProactiveParams`); any of them can be overridden in the config.
"""

from __future__ import annotations

import difflib
import errno
from dataclasses import dataclass, fields, replace

from .config import KernelConfig
from .constants import PAGE_SIZE
from .strategies import STRATEGIES


@dataclass(frozen=True)
class ProactiveParams:
    """The series' constants for one profile (kernel-semantics §1.2 "Series constants")."""

    interface: str | None  # None | "file" (v1) | "zswap_writeback_only" (v2-v4) | "source=zswap" (v5)
    strategy: str | None  # default cursor strategy of the proactive path
    wb_batch: int  # ZSWAP_PROACTIVE_WB_BATCH (v1-v3: 128) / NR_ZSWAP_WB_BATCH (v4/v5: 64)
    scan_ratio: int  # ZSWAP_PROACTIVE_WB_SCAN_RATIO / ZSWAP_WB_SCAN_FACTOR (16)
    bypass_second_chance: bool  # v1's proactive walk ignores the referenced bit
    stat: str | None  # "zswpwb_proactive" (pages, v1-v3) | "zswpwb_proactive_b" (bytes, v4/v5) | None
    budget_unit: str  # "pages" | "bytes/PAGE_SIZE" | "bytes"
    success: str  # "any" (v1/v2: 0 if anything written) | "full" (v3+: 0 only if the budget was met)
    # where zswap_writeback_entry adds the proactive counter: "pages" (v1–v3 ZSWPWB_PROACTIVE event),
    # "bytes_owner" (v4 MEMCG_ZSWPWB_PROACTIVE_B on the owner), None (v5 counts in its driver)
    walk_stat: str | None = None
    # the proactive driver (proactive.DRIVERS): "v1-v3" | "v4" | "v5"; None = no proactive interface
    driver: str | None = None


@dataclass(frozen=True)
class Profile:
    """One kernel version: the single source of truth for everything version-dependent. Lists elsewhere (the
    lab's schema, the tests' profile lists) derive from :data:`PROFILES`; adding a version is a new entry here
    plus, for a new mechanism, the driver or step it needs."""

    name: str
    description: str
    version_fields: dict[str, object]
    params: ProactiveParams

    @property
    def shrink_memcg_form(self) -> str:
        return str(self.version_fields["shrink_memcg_form"])

    @property
    def shrink_worker_form(self) -> str:
        return str(self.version_fields["shrink_worker_form"])

    @property
    def interface(self) -> str | None:
        """None | "file" (v1) | "zswap_writeback_only" (v2–v4) | "source=zswap" (v5)."""
        return self.params.interface

    @property
    def counter(self) -> str | None:
        """The memory.stat key of the proactive counter."""
        return self.params.stat

    @property
    def cursor_default(self) -> str | None:
        return self.params.strategy

    @property
    def driver(self) -> str | None:
        return self.params.driver

    @property
    def counter_is_pages(self) -> bool:
        """Whether :attr:`counter` counts pages (v1–v3 ``zswpwb_proactive``) rather than bytes (v4/v5)."""
        return self.counter is not None and COUNTER_UNITS[self.counter] == "pages"

    @property
    def has_proactive_file(self) -> bool:
        """v1: ``memory.zswap.proactive_writeback`` exists on every non-root memcg (kernel-semantics §2.1)."""
        return self.interface == "file"

    def probe_answer(self, key: str) -> int:
        """The errno (0 = success) this kernel answers to ``"0 <key>"`` written to ``memory.reclaim`` of a non-root
        memcg whose writeback is enabled: the harmless zero-byte probe of capability detection.

        The profile's own key parses and every driver returns 0 for a zero budget before any work
        (v1–v3 ``if (!nr_to_writeback) return 0``, v4 ``if (!nr) return 0`` and v5 ``if (!bytes) return 0`` in
        ``zswap_proactive_writeback``, kernel-semantics §2.2–§2.5); any other key is an unknown token, refused
        by ``user_proactive_reclaim``'s ``match_token`` loop with -EINVAL before any reclaim (§1.14). Checked
        against the model for every profile and key by tests/kernel/test_proactive.py."""
        return 0 if key == self.interface else errno.EINVAL

    def request(self, nbytes: int, age_seconds: int = 1) -> tuple[str, str]:
        """The cgroup file and text asking for ``nbytes`` of proactive writeback (see :func:`proactive_request`)."""
        return proactive_request(self.name, nbytes, age_seconds)


_NONE = ProactiveParams(None, None, 64, 16, False, None, "bytes", "full")

# mainline 6.12 … mid-2026 behaviour shared by the series' base
_MAINLINE_2026 = {
    "shrink_memcg_form": "mainline",
    "shrink_worker_form": "mainline",
    "worker_root_wb_iter": False,
    "memcg_disabled_fix": False,
    "incompressible_store_as_is": True,
    "swappiness_max": True,
    "store_shrink_nr": 1,
    "reclaim_batch_quarter": True,
    "memparse_saturates": False,
    "node_reclaim": True,
}

# series v1–v3 (1/3, 1/4): the worker's cursor is root_mem_cgroup->zswap_wb_iter
_WB_ITER = {**_MAINLINE_2026, "worker_root_wb_iter": True}

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "6.12",
            "Linux 6.12 LTS (Debian bookworm-security): no incompressible store-as-is, no swappiness=max, "
            "memory.reclaim batches of min(remaining, SWAP_CLUSTER_MAX)",
            {**_MAINLINE_2026, "incompressible_store_as_is": False, "swappiness_max": False, "node_reclaim": False,
             "reclaim_batch_quarter": False, "memcg_pswp_stat": False},
            _NONE,
        ),
        Profile("mainline", "mainline mid-2026 (v7.0 era), before the Jul-14 global-shrinker series",
                dict(_MAINLINE_2026), _NONE),
        Profile("7.2", "Linux 7.2.13 (Debian sid): mainline + the memcg-disabled shrink_worker fix (Jul-14 1/2) "
                "and the saturating memparse/kstrto* of lib/",
                {**_MAINLINE_2026, "memcg_disabled_fix": True, "memparse_saturates": True}, _NONE),
        Profile(
            "mm-new",
            "mainline + the Jul-14 2026 series: 1/2 memcg-disabled shrink_worker fix, 2/2 batched shrink_memcg "
            "in the mainline worker loop",
            {**_MAINLINE_2026, "shrink_memcg_form": "batched", "memcg_disabled_fix": True, "store_shrink_nr": 1},
            _NONE,
        ),
        Profile("v1", "series v1: memory.zswap.proactive_writeback \"[max=<bytes>] <age>\"", dict(_WB_ITER),
                ProactiveParams("file", "per-memcg", 128, 16, True, "zswpwb_proactive", "pages", "any",
                                "pages", "v1-v3")),
        Profile("v2", "series v2: \"<size> zswap_writeback_only\", budget in pages, 0 if anything written",
                dict(_WB_ITER),
                ProactiveParams("zswap_writeback_only", "per-memcg", 128, 16, False, "zswpwb_proactive", "pages",
                                "any", "pages", "v1-v3")),
        Profile("v3", "series v3: as v2, 0 only when the whole budget was written (else EAGAIN/EINTR)",
                dict(_WB_ITER),
                ProactiveParams("zswap_writeback_only", "per-memcg", 128, 16, False, "zswpwb_proactive", "pages",
                                "full", "pages", "v1-v3")),
        Profile("v4", "series v4: compressed-bytes budget as bytes/PAGE_SIZE, no per-memcg cursor",
                {**_MAINLINE_2026, "shrink_memcg_form": "v4", "shrink_worker_form": "v4"},
                ProactiveParams("zswap_writeback_only", "restart", 64, 16, False, "zswpwb_proactive_b",
                                "bytes/PAGE_SIZE", "full", "bytes_owner", "v4")),
        Profile("v5", "series v5: \"<size> source=zswap\", exact bytes, batch 64, shared scans/failures",
                {**_MAINLINE_2026, "shrink_memcg_form": "batched", "shrink_worker_form": "v5",
                 "memcg_disabled_fix": True, "store_shrink_nr": None},
                ProactiveParams("source=zswap", "restart", 64, 16, False, "zswpwb_proactive_b", "bytes", "full",
                                driver="v5")),
    ]
}

# memory.stat keys of the proactive counters and their unit (v1–v3 ZSWPWB_PROACTIVE events, v4/v5
# MEMCG_ZSWPWB_PROACTIVE_B bytes; kernel-semantics §2.1, §2.4, §2.5)
COUNTER_UNITS = {"zswpwb_proactive": "pages", "zswpwb_proactive_b": "bytes"}
# v1's interface file (kernel-semantics §2.1)
PROACTIVE_FILE = "memory.zswap.proactive_writeback"



def check_profile(name: str) -> str:
    """``name`` if it is a profile, else ``ValueError`` listing the known ones (and the closest). The one
    validator of profile names: the lab's scenarios and the agent's ``[sim]`` section use it."""
    if name not in PROFILES:
        hits = difflib.get_close_matches(str(name), list(PROFILES), n=1, cutoff=0.6)
        hint = f"; did you mean {hits[0]!r}?" if hits else ""
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)}){hint}")
    return name


def resolve(config: KernelConfig) -> tuple[KernelConfig, ProactiveParams]:
    """Fill every ``None`` version field of ``config`` from its profile and apply parameter overrides."""
    try:
        prof = PROFILES[config.profile]
    except KeyError:
        raise ValueError(f"unknown profile {config.profile!r}; known: {', '.join(PROFILES)}") from None
    updates: dict[str, object] = {}
    for f in fields(config):
        if f.name in prof.version_fields and getattr(config, f.name) is None:
            updates[f.name] = prof.version_fields[f.name]
    extra = dict(config.extra)
    for key in ("reclaim_batch_quarter", "memcg_pswp_stat"):  # version behaviour kept in ``extra``
        if key not in extra:
            extra[key] = prof.version_fields.get(key, True)
    updates["extra"] = extra
    if updates.get("store_shrink_nr", config.store_shrink_nr) is None:
        updates["store_shrink_nr"] = config.nr_nodes  # v5: num_node_state(N_NORMAL_MEMORY)
    cfg = replace(config, **updates)  # type: ignore[arg-type]
    p = prof.params
    params = replace(
        p,
        strategy=config.strategy if config.strategy is not None else p.strategy,
        wb_batch=config.wb_batch if config.wb_batch is not None else p.wb_batch,
        scan_ratio=config.scan_ratio if config.scan_ratio is not None else p.scan_ratio,
        bypass_second_chance=(config.bypass_second_chance if config.bypass_second_chance is not None
                              else p.bypass_second_chance),
    )
    if params.strategy is not None and params.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {params.strategy!r}; known: {', '.join(STRATEGIES)}")
    if params.wb_batch <= 0 or params.scan_ratio <= 0:
        raise ValueError("wb_batch and scan_ratio must be positive")
    return cfg, params


def request_text(interface: str | None, size: str, age_seconds: int = 1) -> tuple[str, str]:
    """The cgroup file and text of a proactive writeback request in ``interface`` (a profile's
    :attr:`Profile.interface`) for ``size`` (a ``memparse`` spelling: ``"65536"``, ``"64K"``).

    ``"file"`` (v1) → ``("memory.zswap.proactive_writeback", "max=<size> <age>")``; a ``memory.reclaim`` key
    (v2–v4 ``zswap_writeback_only``, v5 ``source=zswap``) → ``("memory.reclaim", "<size> <key>")``. Raises
    ``ValueError`` for ``None`` (no proactive interface). The one spelling the model, the lab and the agent use.
    """
    if interface == "file":
        return PROACTIVE_FILE, f"max={size} {age_seconds}"
    if interface is None:
        raise ValueError("no proactive writeback interface")
    return "memory.reclaim", f"{size} {interface}"


def proactive_request(profile: str, nbytes: int, age_seconds: int = 1) -> tuple[str, str]:
    """The cgroup file and text that ask ``profile``'s kernel to write back ``nbytes`` proactively
    (:func:`request_text` with the size in bytes). Raises ``ValueError`` for a profile without a proactive
    interface."""
    try:
        return request_text(PROFILES[profile].params.interface, str(nbytes), age_seconds)
    except ValueError:
        raise ValueError(f"profile {profile!r} has no proactive writeback interface") from None


def proactive_profiles() -> list[str]:
    """The profiles with a proactive writeback interface, in :data:`PROFILES` order."""
    return [n for n, p in PROFILES.items() if p.interface is not None]


def reclaim_keys() -> tuple[str, ...]:
    """The ``memory.reclaim`` keys of the series' interfaces, the newest profile's first (``source=zswap``,
    ``zswap_writeback_only``)."""
    keys = [p.interface for p in reversed(PROFILES.values()) if p.interface not in (None, "file")]
    return tuple(dict.fromkeys(k for k in keys if k is not None))


def proactive_counters() -> tuple[str, ...]:
    """The memory.stat keys of the proactive counters, the newest profile's first."""
    return tuple(dict.fromkeys(p.counter for p in reversed(PROFILES.values()) if p.counter is not None))


__all__ = ["COUNTER_UNITS", "PAGE_SIZE", "PROACTIVE_FILE", "PROFILES", "STRATEGIES", "ProactiveParams", "Profile", "check_profile",
           "proactive_counters", "proactive_profiles", "proactive_request", "reclaim_keys", "request_text", "resolve"]
