"""Small builders shared by the kernel-model tests."""

from __future__ import annotations

from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.kernel.constants import PAGE_SIZE


def stat(k: Kernel, cg: str, key: str) -> int:
    for line in k.fs.read(cg, "memory.stat").splitlines():
        name, val = line.split()
        if name == key:
            return int(val)
    raise KeyError(key)


def pushed(k: Kernel, cg: str, n: int, clen: int = 1000, **kw) -> list:
    """Allocate ``n`` pages in ``cg`` and push them all into zswap with memory.reclaim."""
    if not k.fs.exists(cg):
        k.fs.mkdir(cg)
    pages = k.alloc(cg, n, clen=clen, **kw)
    k.fs.write(cg, "memory.reclaim", str(n * PAGE_SIZE))
    return pages


def kernel(seed: int = 0, **kw) -> Kernel:
    return Kernel(KernelConfig(**kw), seed=seed)


def refs_at_baseline(k: Kernel) -> bool:
    """After dropping the per-memcg cursors, the only extra reference left is the global cursor's."""
    from zswaplab.kernel.proactive import release_cursors

    release_cursors(k)
    cur = k.zswap_next_shrink
    baseline = {} if cur is None or cur.is_root else {cur.id: 1}
    return k.tree.ledger.held() == baseline


def errno_of(k: Kernel, path: str, file: str, text: str | bytes) -> int:
    """The errno of one write to a cgroup file (0 when the kernel model accepts it)."""
    try:
        k.fs.write(path, file, text)
    except OSError as e:
        return e.errno
    return 0
