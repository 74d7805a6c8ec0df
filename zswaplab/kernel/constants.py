"""Kernel constants used by the model (values from kernel-semantics §1.2, exact identifiers).

Each constant names where it lives in the kernel tree.
"""

from __future__ import annotations

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT  # include/asm-generic/page.h (x86-64: 4 KiB)

MAX_RECLAIM_RETRIES = 16  # mm/internal.h
SWAP_CLUSTER_MAX = 32  # include/linux/swap.h
SHRINK_BATCH = 128  # mm/shrinker.c, used when shrinker->batch == 0
DEFAULT_SEEKS = 2  # include/linux/shrinker.h
DEF_PRIORITY = 12  # include/linux/mmzone.h

ZSWAP_MAX_POOL_PERCENT = 20  # mm/zswap.c module parameter max_pool_percent
ZSWAP_ACCEPT_THRESHOLD_PERCENT = 90  # mm/zswap.c module parameter accept_threshold_percent

LONG_MAX = (1 << 63) - 1
# include/linux/page_counter.h (64-bit): LONG_MAX / PAGE_SIZE, "max" for memory.max, memory.zswap.max, ...
PAGE_COUNTER_MAX = LONG_MAX // PAGE_SIZE

MIN_SWAPPINESS = 0
MAX_SWAPPINESS = 200
SWAPPINESS_ANON_ONLY = MAX_SWAPPINESS + 1  # "swappiness=max" (v6.15+)

NSEC_PER_SEC = 1_000_000_000
