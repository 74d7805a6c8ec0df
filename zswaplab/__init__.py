"""zswaplab: an executable model of Linux zswap writeback across the memcg hierarchy."""

__version__ = "0.1.0"
