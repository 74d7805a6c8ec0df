"""The kernel model: mm/zswap.c, list_lru, the memcg hierarchy and a vmscan simplification, as Python.

See docs/kernel-model.md for the map from every model function to the kernel function and version it models.
"""

from .cgroupfs import CgroupFS
from .config import KernelConfig
from .memcg import MemCgroup, MemcgTree, RefError
from .page import Page, PageState
from .profiles import PROFILES, STRATEGIES, proactive_request
from .system import Kernel, OOMKill

__all__ = [
    "PROFILES",
    "STRATEGIES",
    "CgroupFS",
    "Kernel",
    "KernelConfig",
    "MemCgroup",
    "MemcgTree",
    "OOMKill",
    "Page",
    "PageState",
    "RefError",
    "proactive_request",
]
