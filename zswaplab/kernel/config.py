"""Kernel configuration of one model instance: module parameters, machine size and version behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .constants import ZSWAP_ACCEPT_THRESHOLD_PERCENT, ZSWAP_MAX_POOL_PERCENT


@dataclass(frozen=True)
class KernelConfig:
    """Everything that selects model behaviour. ``profile`` picks the kernel version; see ``profiles.py``.

    Version-dependent behaviour is expressed by explicit fields, which the profile fills in (``resolved()``)
    and any of which can be overridden, as the series author did when measuring.
    """

    profile: str = "mainline"
    # machine
    totalram_pages: int = 262_144  # 1 GiB of 4 KiB pages
    nr_nodes: int = 1
    swap_pages: int = 1 << 20  # 4 GiB swap device
    # CONFIG_ZSWAP=n: no zswap at all; the series' proactive entry points return -EOPNOTSUPP
    config_zswap: bool = True
    # /sys/module/zswap/parameters
    zswap_enabled: bool = True
    max_pool_percent: int = ZSWAP_MAX_POOL_PERCENT
    accept_threshold_percent: int = ZSWAP_ACCEPT_THRESHOLD_PERCENT
    shrinker_enabled: bool = False  # CONFIG_ZSWAP_SHRINKER_DEFAULT_ON=n
    # cgroup_disable=memory
    memcg_disabled: bool = False
    # zsmalloc fragmentation factor applied to zswap_total_pages() (>= 1.0; 1.0 = no fragmentation)
    frag_factor: float = 1.0
    # ---- version behaviour (None = the profile's default) ----
    # "mainline": shrink_memcg(memcg), one entry per node (v6.12 … 7.2)
    # "v4": shrink_memcg(memcg, nr_to_writeback) with the scan factor (series v4 1/5)
    # "batched": shrink_memcg(memcg, nr_to_scan) of series v5 2/6 = the Jul-14 2/2 patch
    shrink_memcg_form: str | None = None
    # "mainline": the do { } while (total > thr) loop of v6.11 … 7.2 and the Jul-14 series;
    # "v4": zswap_try_to_writeback (series v4 2/5); "v5": the zswap_shrink_one_memcg loop (series v5 3/6)
    shrink_worker_form: str | None = None
    # series v1–v3: shrink_worker advances root_mem_cgroup->zswap_wb_iter, the root's proactive cursor
    worker_root_wb_iter: bool | None = None
    # the Jul-14 1/2 = v5 1/6 fix (in 7.2): memcg-disabled shrink_worker falls back to the root list
    memcg_disabled_fix: bool | None = None
    # incompressible pages stored as-is (2025/26 kernels) vs rejected (<= ~6.17)
    incompressible_store_as_is: bool | None = None
    # memory.reclaim accepts swappiness=max (v6.15+)
    swappiness_max: bool | None = None
    # store path budget of the batched shrink_memcg: 1 (Jul-14) or num_node_state(N_NORMAL_MEMORY) (v5)
    store_shrink_nr: int | None = None
    # /sys/devices/system/node/nodeN/reclaim (user_proactive_reclaim with a pgdat, 6.17+)
    node_reclaim: bool | None = None
    # lib/kstrtox.c + lib/cmdline.c: integer overflow saturates and memparse needs digits before a suffix (7.2)
    memparse_saturates: bool | None = None
    # proactive writeback (issue 3): strategy and constants (None = the profile's)
    strategy: str | None = None
    wb_batch: int | None = None
    scan_ratio: int | None = None
    bypass_second_chance: bool | None = None
    # cost model for memory.pressure (PSI) stalls, in nanoseconds; assumptions, see docs/kernel-model.md
    zswap_load_ns: int = 5_000
    disk_swapin_ns: int = 100_000
    extra: dict[str, object] = field(default_factory=dict)

    def with_(self, **kw: object) -> KernelConfig:
        return replace(self, **kw)  # type: ignore[arg-type]
