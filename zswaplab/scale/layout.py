"""The fast core's data layout: column and slot indexes of its struct-of-arrays state.

Per page (= per zswap entry while the page is in zswap) the core keeps six parallel arrays
(``memcg`` int32, ``clen`` uint16, ``state`` uint8, ``flags`` uint8, ``prev``/``next`` int32 = 16 bytes; plus an
int64 store time for the v1 profile only). A page is on exactly one list at a time: its memcg's anon LRU while
resident, its memcg's zswap ``list_lru`` while in zswap, so one pair of intrusive links serves both lists.
Per memcg the core keeps one int64 row of ``MC`` (gauges, knobs, list heads, local counters).
"""

from __future__ import annotations

from collections import namedtuple

# page states (PageState order of the oracle)
RAM, ZSWAP, DISK, ZERO, FREED = 0, 1, 2, 3, 4
STATE_NAMES = ("ram", "zswap", "disk", "zero", "freed")

# page flags
F_REF = 1  # PG_referenced while resident; entry->referenced while in zswap
F_OBJCG = 2  # the zswap entry has an objcg (the page was not charged to the root at store time)

# ---- MC columns (one int64 row per memcg id)
PARENT = 0
ONLINE = 1
WB = 2  # local memory.zswap.writeback
ZMAX = 3
MMAX = 4
SMAX = 5
H_USAGE = 6  # hierarchical memory.current (bytes)
H_ZSWAP = 7  # hierarchical MEMCG_ZSWAP_B
H_SWAP = 8  # hierarchical swap pages
SPEAK = 9  # memory.swap.peak (pages)
A_HEAD = 10  # anon LRU head, tail, count
Z_HEAD = 13  # zswap list_lru head, tail, count
NCHILD = 16  # unreleased children
STALL = 17  # local PSI stall ns not yet handed to the Psi object
S0 = 18
# local counters (MemcgStats field order)
STAT_FIELDS = ("zswap_b", "zswapped", "zswap_incomp", "zswpin", "zswpout", "zswpwb", "zswpwb_proactive",
               "zswpwb_proactive_b", "anon", "swap", "pswpin", "pswpout", "pgfault_major")
S_ZSWAP_B, S_ZSWAPPED, S_ZSWAP_INCOMP, S_ZSWPIN, S_ZSWPOUT, S_ZSWPWB, S_PRO, S_PRO_B, S_ANON, S_SWAP, \
    S_PSWPIN, S_PSWPOUT, S_PGMAJ = range(S0, S0 + 13)
NCOL = S0 + 13

# ---- G slots (globals, int64)
G_TOTAL_BYTES = 0
G_FULL = 1
G_SWAP_USED = 2
G_CLOCK = 3
G_QUEUED = 4
G_LOG_N = 5
G_LOG_OVF = 6
G_OVER = 7
G_RETRIES = 8
G_STATUS = 9
G_NEXT_PAGE = 10
# debugfs
D_POOL_LIMIT_HIT = 11
D_REJECT_RECLAIM_FAIL = 12
D_REJECT_COMPRESS_POOR = 13
D_WRITTEN_BACK = 14
D_STORED = 15
D_STORED_INCOMP = 16
# vm events
V_ZSWPOUT = 17
V_ZSWPIN = 18
V_ZSWPWB = 19
V_PSWPOUT = 20
V_PSWPIN = 21
V_ZSWPWB_PRO = 22
# counters kept in compiled code
C_SHRINK_MEMCG_CALLS = 23
C_WAKEUPS = 24
D_REJECT_COMPRESS_FAIL = 25
# scratch of one list_lru walk (budget left, bytes written): slots instead of an array allocated per call
G_WALK_LEFT = 26
G_WALK_BYTES = 27
NG = 32

VM_SLOTS = {"zswpout": V_ZSWPOUT, "zswpin": V_ZSWPIN, "zswpwb": V_ZSWPWB, "pswpout": V_PSWPOUT,
            "pswpin": V_PSWPIN, "zswpwb_proactive": V_ZSWPWB_PRO}
COUNTER_SLOTS = {"shrink_memcg_calls": C_SHRINK_MEMCG_CALLS, "shrink_worker_wakeups": C_WAKEUPS}
DEBUGFS_SLOTS = {"pool_limit_hit": D_POOL_LIMIT_HIT, "reject_reclaim_fail": D_REJECT_RECLAIM_FAIL,
                 "reject_compress_poor": D_REJECT_COMPRESS_POOR, "reject_compress_fail": D_REJECT_COMPRESS_FAIL,
                 "written_back_pages": D_WRITTEN_BACK,
                 "stored_pages": D_STORED, "stored_incompressible_pages": D_STORED_INCOMP}

# ---- K slots (configuration, int64)
K_SWAP_PAGES = 0
K_ZSWAP_ENABLED = 1
K_MAX_PAGES = 2
K_THR_PAGES = 3
K_INCOMP_AS_IS = 4
K_FORM = 5  # 0 mainline, 1 v4, 2 batched
K_STORE_NR = 6
K_BATCH = 7
K_RATIO = 8
K_ROOT = 9
K_ZLOAD_NS = 10
K_DISK_NS = 11
K_V1 = 12  # keep per-entry store times
NK = 16

FORMS = {"mainline": 0, "v4": 1, "batched": 2}

# charge results
CHARGE_OK, CHARGE_DEFER, CHARGE_OOM = 0, 1, 2
# pstat of the walk argument
PSTAT_NONE, PSTAT_PAGES, PSTAT_BYTES_OWNER = 0, 1, 2

# The state every compiled function takes (read as ``A.pm[p]``). The functions are compiled without numba's
# runtime (``_nrt=False``): with it, every array bound to a name or passed to a call costs two atomic
# reference-count updates per call, which were most of the per-entry time (see docs/performance.md).
State = namedtuple("State", "pm pc ps pf pp pn pt MC G K KF LOG")

LOG_COLS = 4  # clock_ns, owner memcg id, page id, length | proactive << 16
