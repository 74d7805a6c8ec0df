"""Scale: a fast simulation core checked against the oracle, workloads and traces, benchmarks, sweeps.

``FastKernel`` (numba-compiled struct-of-arrays core), ``traces`` (CSV / columnar / libCacheSim
``oracleGeneral``), ``workloads`` (per-memcg working-set generators) and ``sweep`` (parameter grids on a
process pool or a Dask cluster). See docs/performance.md.
"""
