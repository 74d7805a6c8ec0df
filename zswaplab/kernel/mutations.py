"""Test support: named mutations of the kernel model, each breaking it in exactly one way.

Not used by the model itself. A mutation is applied with a pytest ``MonkeyPatch`` (or the :func:`applied` context
manager) and undone when the patch is undone; the test module tests/mutations/ checks that a named detector fails
under each one, and the real-kernel comparison can run its offline check under each one too::

    from zswaplab.kernel.mutations import MUTATIONS, applied
    with applied("shrink_worker_noop"):
        ...  # build kernels and run scenarios: the model is broken in that one way

Every mutation replaces a function or method *everywhere it is bound* (modules that imported it by name included,
tests too), so it reaches both cores where they share Python code. ``cores`` says which cores it
reaches: the compiled core's store/walk code is numba; only ``fast_zswap_max_gt`` mutates it (by recompiling a
patched copy of :mod:`zswaplab.scale.nbcore`, ~30 s).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from . import memcg, proactive, profiles, writeback, zswap
from .constants import MAX_RECLAIM_RETRIES
from .writeback import ZswapShrinkState

if TYPE_CHECKING:
    import pytest


@dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    apply: Callable[[pytest.MonkeyPatch], None]
    cores: tuple[str, ...] = ("reference",)  # "reference", "fast"


def _patch_everywhere(mp: pytest.MonkeyPatch, original: object, new: object) -> int:
    """Replace every module-level binding of ``original`` (in zswaplab, in the tests, anywhere loaded) with
    ``new``; returns how many."""
    n = 0
    for mod in list(sys.modules.values()):
        try:
            items = list(vars(mod).items())
        except TypeError:
            continue
        for attr, val in items:
            if val is original:
                mp.setattr(mod, attr, new)
                n += 1
    if n == 0:
        raise RuntimeError(f"mutation target {original!r} is bound nowhere")
    return n


# ------------------------------------------------------------------------------------------ the mutations
def _second_chance_off(mp: pytest.MonkeyPatch) -> None:
    orig = writeback.shrink_memcg_cb

    def cb(k: Any, entry: Any, lst: Any, arg: Any) -> Any:
        entry.referenced = False
        return orig(k, entry, lst, arg)

    _patch_everywhere(mp, orig, cb)


def _shrink_worker_noop(mp: pytest.MonkeyPatch) -> None:
    orig = writeback.shrink_worker

    def noop(k: Any) -> None:
        k.counters["shrink_worker_runs"] += 1

    _patch_everywhere(mp, orig, noop)


def _no_hysteresis(mp: pytest.MonkeyPatch) -> None:
    def check(k: Any) -> bool:
        cur, mx = zswap.zswap_total_pages(k), zswap.zswap_max_pages(k)
        full = cur >= mx
        if full:
            k.zswap.stats.pool_limit_hit += 1
        k.zswap.pool_reached_full = full
        return full

    _patch_everywhere(mp, zswap.zswap_check_limits, check)


def _pool_limit_doubled(mp: pytest.MonkeyPatch) -> None:
    orig = zswap.zswap_max_pages
    _patch_everywhere(mp, orig, lambda k: 2 * orig(k))


def _writeback_batch_changed(mp: pytest.MonkeyPatch) -> None:
    orig = profiles.resolve

    def resolve(config: Any) -> Any:
        cfg, params = orig(config)
        return cfg, replace(params, wb_batch=params.wb_batch * 2)

    _patch_everywhere(mp, orig, resolve)


def _writeback_setting_not_inherited(mp: pytest.MonkeyPatch) -> None:
    def enabled(m: Any, zswap_enabled: bool = True) -> bool:
        return (not zswap_enabled) or m is None or bool(m.zswap_writeback)

    _patch_everywhere(mp, memcg.mem_cgroup_zswap_writeback_enabled, enabled)


def _offline_cleanup_stops_at_parent(mp: pytest.MonkeyPatch) -> None:
    def cleanup(k: Any, dead: Any) -> None:
        for p in (dead, dead.parent):
            if p is not None and p.ext.get(writeback.WB_ITER) is dead:
                while True:
                    pos = k.tree.mem_cgroup_iter(p, p.ext.get(writeback.WB_ITER))
                    p.ext[writeback.WB_ITER] = pos
                    if pos is None or pos.online():
                        break

    _patch_everywhere(mp, writeback.zswap_memcg_offline_cleanup_wb_iter, cleanup)


def _store_path_shrink_off(mp: pytest.MonkeyPatch) -> None:
    _patch_everywhere(mp, writeback.zswap_store_shrink_memcg, lambda k, memcg: False)


def _attempted_resets_failures(mp: pytest.MonkeyPatch) -> None:
    def attempted(self: ZswapShrinkState, failed: bool) -> bool:
        self.scans += 1
        if failed:
            self.failures += 1
            return self.failures == MAX_RECLAIM_RETRIES
        self.failures = 0
        return False

    mp.setattr(ZswapShrinkState, "attempted", attempted)


def _zero_budget_eagain(mp: pytest.MonkeyPatch) -> None:
    """What the agent once assumed of v2: a zero budget answers -EAGAIN (posted v2: ``return 0``)."""
    orig = proactive.zswap_proactive_writeback_v123

    def driver(k: Any, root: Any, nr_max: int, cutoff_ns: int | None = None) -> int:
        if nr_max == 0 and root is not None and k.params.success == "any":
            return -errno.EAGAIN
        return orig(k, root, nr_max, cutoff_ns)

    _patch_everywhere(mp, orig, driver)
    mp.setitem(proactive.DRIVERS, "v1-v3", driver)


def _per_memcg_cursor_restarts(mp: pytest.MonkeyPatch) -> None:
    """The ``per-memcg`` strategies walk a fresh iterator per call (the cursor class of ``restart``)."""
    mp.setitem(proactive.CURSORS, "per-memcg", proactive.RestartCursor)


def _fast_zswap_max_gt(mp: pytest.MonkeyPatch) -> None:
    """The compiled ``obj_cgroup_may_zswap``: ``pages >= max`` refuses → ``pages > max`` refuses."""
    import importlib.util

    from zswaplab.scale import fastkernel, nbcore

    path = nbcore.__file__
    src = open(path, encoding="utf-8").read()
    old = "if MC[a, H_ZSWAP] // PAGE_SIZE >= mx:"
    if src.count(old) != 1:
        raise RuntimeError("fast_zswap_max_gt: the compiled check moved; update the mutation")
    src = src.replace(old, "if MC[a, H_ZSWAP] // PAGE_SIZE > mx:").replace("cache=True", "cache=False")
    spec = importlib.util.spec_from_loader("zswaplab.scale._nbcore_mutant", loader=None)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "zswaplab.scale"
    exec(compile(src, path + " (mutant)", "exec"), mod.__dict__)
    mp.setattr(fastkernel, "nb", mod)


MUTATIONS: dict[str, Mutation] = {m.name: m for m in [
    Mutation("second_chance_off", "shrink_memcg_cb writes back referenced entries (no second chance)",
             _second_chance_off),
    Mutation("shrink_worker_noop", "shrink_worker returns at once", _shrink_worker_noop, ("reference", "fast")),
    Mutation("no_hysteresis", "zswap_check_limits unlatches below max, not at the acceptance threshold",
             _no_hysteresis),
    Mutation("pool_limit_doubled", "zswap_max_pages() twice max_pool_percent", _pool_limit_doubled),
    Mutation("writeback_batch_changed", "the profile's writeback batch (wb_batch) doubled", _writeback_batch_changed,
             ("reference", "fast")),
    Mutation("writeback_not_inherited", "memory.zswap.writeback=0 of an ancestor no longer applies below it",
             _writeback_setting_not_inherited),
    Mutation("offline_cleanup_stops_at_parent",
             "v1-v3 offline cleanup moves only the dying memcg's and its parent's cursors, not the root's",
             _offline_cleanup_stops_at_parent, ("reference", "fast")),
    Mutation("store_path_shrink_off", "zswap_store over memory.zswap.max rejects without shrink_memcg",
             _store_path_shrink_off),
    Mutation("attempted_resets_failures", "ZswapShrinkState.attempted() resets failures on success",
             _attempted_resets_failures, ("reference", "fast")),
    Mutation("fast_zswap_max_gt", "the compiled core's memory.zswap.max check uses > instead of >=",
             _fast_zswap_max_gt, ("fast",)),
    Mutation("zero_budget_eagain", "v1/v2 answer -EAGAIN to a zero budget (the agent's old v2 assumption)",
             _zero_budget_eagain, ("reference", "fast")),
    Mutation("per_memcg_cursor_restarts", "the per-memcg strategies use the restart cursor",
             _per_memcg_cursor_restarts, ("reference", "fast")),
]}


@contextmanager
def applied(name: str) -> Iterator[None]:
    """Apply mutation ``name`` for the duration of the block."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        MUTATIONS[name].apply(mp)
        yield


__all__ = ["MUTATIONS", "Mutation", "applied"]
