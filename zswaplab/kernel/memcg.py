"""The memory cgroup tree, css reference counting and ``mem_cgroup_iter``.

Models mm/memcontrol.c and kernel/cgroup/cgroup.c as of Linux v6.12 … v7.0 (kernel-semantics §1.1, §1.12):

* a tree of memcgs whose children are kept in creation order (``cgroup->children``, ``css->sibling``);
* lifecycle ``ONLINE`` → ``OFFLINE`` (dying / zombie: still reachable by ``mem_cgroup_iter``, but
  ``css_tryget_online`` fails) → ``RELEASED`` (last reference dropped; unlinked from the parent's
  children list, as ``css_release_work_fn`` does with ``list_del_rcu(&css->sibling)``);
* css reference counting (``css_get``, ``css_tryget``, ``css_tryget_online``, ``css_put``) with a
  :class:`RefLedger` that records every reference taken or dropped so tests can assert that a walk
  leaves references at baseline and that nothing is put twice or used after release;
* ``css_next_descendant_pre``, ``mem_cgroup_iter`` and ``mem_cgroup_iter_break`` with the exact
  pre-order semantics of kernel-semantics §1.12 (root first, ``None`` at the end, ``prev``'s reference dropped).

The root memcg is never reference counted by the iterator, as in the kernel.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from .constants import PAGE_COUNTER_MAX


class RefError(RuntimeError):
    """A reference-counting violation: double put, put without a reference, or use after release."""


class CssState(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"  # dying / zombie
    RELEASED = "released"


@dataclass
class MemcgStats:
    """Per-memcg *local* counters (this memcg only, not its subtree).

    Gauges and events mirror the memcg stat items zswap uses (kernel-semantics §1.1, §1.14):
    ``MEMCG_ZSWAP_B`` (bytes), ``MEMCG_ZSWAPPED`` (pages), ``MEMCG_ZSWAP_INCOMP`` (pages) and the events
    ``ZSWPIN``, ``ZSWPOUT``, ``ZSWPWB`` (pages). The RAM side adds anon/swap gauges and the disk
    swap events ``PSWPIN``/``PSWPOUT``. memory.stat prints subtree sums of these.
    """

    zswap_b: int = 0
    zswapped: int = 0
    zswap_incomp: int = 0
    zswpin: int = 0
    zswpout: int = 0
    zswpwb: int = 0
    # series counters (issue 3 profiles fill them)
    zswpwb_proactive: int = 0
    zswpwb_proactive_b: int = 0
    # RAM side (vmscan simplification, see docs/kernel-model.md)
    anon: int = 0  # resident anon pages
    swap: int = 0  # pages holding a swap slot (zswap or disk), memory.swap.current
    pswpin: int = 0
    pswpout: int = 0
    pgfault_major: int = 0

    def add(self, other: MemcgStats) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def clear(self) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, 0)


@dataclass(eq=False)
class MemCgroup:
    """``struct mem_cgroup`` with the fields zswap reads (kernel-semantics §1.1)."""

    id: int
    name: str
    parent: MemCgroup | None
    children: list[MemCgroup] = field(default_factory=list)
    state: CssState = CssState.ONLINE
    refcnt: int = 1  # the cgroup's own base reference, killed at offline (percpu_ref_kill)
    # memory.zswap.max in pages (PAGE_COUNTER_MAX = "max"); memory.zswap.writeback
    zswap_max: int = PAGE_COUNTER_MAX
    zswap_writeback: bool = True
    # memory.max / memory.swap.max in pages
    memory_max: int = PAGE_COUNTER_MAX
    swap_max: int = PAGE_COUNTER_MAX
    swap_peak: int = 0  # memory.swap.peak, pages
    stat: MemcgStats = field(default_factory=MemcgStats)
    # generic per-memcg extension slots for profiles (e.g. the v1–v3 per-memcg writeback cursor)
    ext: dict[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<memcg {self.path} {self.state.value} ref={self.refcnt}>"

    def __hash__(self) -> int:
        return self.id

    @property
    def is_root(self) -> bool:
        return self.parent is None

    @property
    def path(self) -> str:
        if self.parent is None:
            return "/"
        p = self.parent.path
        return (p if p != "/" else "") + "/" + self.name

    def online(self) -> bool:
        """``mem_cgroup_online()`` (v6.12 … v7.0) — css is online (not yet offlined)."""
        return self.state is CssState.ONLINE

    def ancestors(self, include_self: bool = True) -> Iterator[MemCgroup]:
        m: MemCgroup | None = self if include_self else self.parent
        while m is not None:
            yield m
            m = m.parent

    def is_descendant_of(self, other: MemCgroup) -> bool:
        return any(a is other for a in self.ancestors())

    def subtree(self) -> Iterator[MemCgroup]:
        """Pre-order over this memcg and every (unreleased) descendant."""
        yield self
        for c in self.children:
            yield from c.subtree()


class RefLedger:
    """Records css references taken and dropped beyond each memcg's base reference.

    ``held()`` maps memcg id → number of extra references currently held. Tests assert that after a
    walk ``held()`` equals the baseline (typically: exactly the references the cursors own).
    """

    def __init__(self) -> None:
        self.gets = 0
        self.puts = 0
        self._held: Counter[int] = Counter()

    def got(self, memcg: MemCgroup) -> None:
        self.gets += 1
        self._held[memcg.id] += 1

    def put(self, memcg: MemCgroup) -> None:
        self.puts += 1
        self._held[memcg.id] -= 1
        if self._held[memcg.id] == 0:
            del self._held[memcg.id]

    def held(self) -> dict[int, int]:
        return dict(self._held)


class MemcgTree:
    """The cgroup hierarchy of the memory controller, rooted at ``root_mem_cgroup``."""

    def __init__(self, *, memcg_disabled: bool = False) -> None:
        self.memcg_disabled = memcg_disabled  # cgroup_disable=memory: mem_cgroup_disabled()
        self._next_id = 1
        self.root = MemCgroup(id=self._alloc_id(), name="", parent=None)
        self.by_id: dict[int, MemCgroup] = {self.root.id: self.root}
        self.ledger = RefLedger()
        # callbacks run at css_offline, in registration order (zswap_memcg_offline_cleanup, list_lru
        # reparenting, stats reparenting, ...)
        self.offline_hooks: list = []

    def _alloc_id(self) -> int:
        i = self._next_id
        self._next_id += 1
        return i

    # ---------------------------------------------------------------- lifecycle
    def mkdir(self, parent: MemCgroup, name: str) -> MemCgroup:
        """``cgroup_mkdir`` (v6.12 … v7.0) → ``mem_cgroup_css_alloc`` + ``css_online``: append to parent's children."""
        if not parent.online():
            raise RefError(f"mkdir under a dying cgroup {parent!r}")
        if any(c.name == name and c.online() for c in parent.children):
            raise FileExistsError(name)
        m = MemCgroup(id=self._alloc_id(), name=name, parent=parent)
        # children sit in creation order (list_add_tail_rcu(&css->sibling, ...)); a css pins its parent
        # (init_and_link_css: css_get(css->parent), dropped in css_free_rwork_fn)
        parent.children.append(m)
        if not parent.is_root:
            parent.refcnt += 1
        self.by_id[m.id] = m
        return m

    def offline(self, memcg: MemCgroup) -> None:
        """``cgroup_rmdir`` (v6.12 … v7.0) → ``kill_css`` → ``mem_cgroup_css_offline``.

        Marks the css offline (``css_tryget_online`` fails from now on), runs the offline hooks
        (zswap cursor cleanup, list_lru and objcg reparenting) and drops the base reference
        (``percpu_ref_kill``). The memcg stays reachable by ``mem_cgroup_iter`` until its last
        reference is dropped (zombie), then it is released.
        """
        if memcg.is_root:
            raise PermissionError("cannot remove the root cgroup")
        if memcg.state is not CssState.ONLINE:
            raise RefError(f"offline of non-online {memcg!r}")
        if any(c.online() for c in memcg.children):
            raise OSError(16, "cgroup has online children")  # EBUSY
        memcg.state = CssState.OFFLINE
        for hook in self.offline_hooks:
            hook(memcg)
        self._put(memcg, base=True)

    def _release(self, memcg: MemCgroup) -> None:
        """``css_release_work_fn``: unlink from the parent's children list."""
        memcg.state = CssState.RELEASED
        assert memcg.parent is not None
        memcg.parent.children.remove(memcg)
        if not memcg.parent.is_root:
            self._put(memcg.parent, base=True)  # the structural reference the child held

    # ---------------------------------------------------------------- references
    def css_get(self, memcg: MemCgroup) -> None:
        """``css_get`` (v6.12 … v7.0) — unconditional get; the caller must already hold a reference."""
        if memcg.is_root:
            return
        if memcg.state is CssState.RELEASED or memcg.refcnt <= 0:
            raise RefError(f"css_get on released {memcg!r}")
        memcg.refcnt += 1
        self.ledger.got(memcg)

    def css_tryget(self, memcg: MemCgroup) -> bool:
        """``css_tryget`` (v6.12 … v7.0) — succeeds for online and dying (not yet released) memcgs."""
        if memcg.is_root:
            return True
        if memcg.state is CssState.RELEASED or memcg.refcnt <= 0:
            return False
        memcg.refcnt += 1
        self.ledger.got(memcg)
        return True

    def mem_cgroup_tryget_online(self, memcg: MemCgroup) -> bool:
        """``mem_cgroup_tryget_online`` (v6.12 … v7.0) → ``css_tryget_online``: fails for dying memcgs; root
        always succeeds."""
        if memcg.is_root:
            return True
        if memcg.state is not CssState.ONLINE:
            return False
        memcg.refcnt += 1
        self.ledger.got(memcg)
        return True

    def css_put(self, memcg: MemCgroup | None) -> None:
        """``css_put`` (v6.12 … v7.0) / ``mem_cgroup_put`` (``None`` and root are no-ops)."""
        if memcg is None or memcg.is_root:
            return
        self._put(memcg, base=False)

    mem_cgroup_put = css_put

    def _put(self, memcg: MemCgroup, *, base: bool) -> None:
        if memcg.state is CssState.RELEASED or memcg.refcnt <= 0:
            raise RefError(f"css_put on released {memcg!r} (double put)")
        if not base and memcg.id not in self.ledger.held():
            raise RefError(f"css_put without a held reference on {memcg!r}")
        memcg.refcnt -= 1
        if not base:
            self.ledger.put(memcg)
        if memcg.refcnt == 0:
            self._release(memcg)

    # ---------------------------------------------------------------- iteration
    @staticmethod
    def css_next_descendant_pre(pos: MemCgroup | None, root: MemCgroup) -> MemCgroup | None:
        """``css_next_descendant_pre(pos, root)`` (kernel/cgroup/cgroup.c, v6.12 … v7.0).

        ``pos is None`` → ``root``; else the first child of ``pos``; else the next sibling of ``pos`` or of
        its nearest ancestor below ``root``; ``None`` at the end.
        """
        if pos is None:
            return root
        if pos.children:
            return pos.children[0]
        while pos is not root:
            parent = pos.parent
            assert parent is not None
            sib = parent.children
            i = sib.index(pos)
            if i + 1 < len(sib):
                return sib[i + 1]
            pos = parent
        return None

    def mem_cgroup_iter(self, root: MemCgroup | None, prev: MemCgroup | None) -> MemCgroup | None:
        """``mem_cgroup_iter(root, prev, NULL)`` (mm/memcontrol.c, v6.12 … v7.0; kernel-semantics §1.12).

        Returns the next memcg after ``prev`` in pre-order over ``root``'s subtree (``root`` itself first when
        ``prev is None``), holding a css reference on it unless it is ``root``; ``None`` at the end of the
        walk. Zombies are returned (``css_tryget`` succeeds on them). ``prev``'s reference is dropped if
        ``prev`` is not ``root``. With ``mem_cgroup_disabled()`` it returns ``None``.
        """
        if self.memcg_disabled:
            return None
        if root is None:
            root = self.root
        pos: MemCgroup | None = prev
        while True:
            pos = self.css_next_descendant_pre(pos, root)
            if pos is None or pos is root or self.css_tryget(pos):
                break
        if prev is not None and prev is not root:
            self.css_put(prev)
        return pos

    def mem_cgroup_iter_break(self, root: MemCgroup | None, prev: MemCgroup | None) -> None:
        """``mem_cgroup_iter_break(root, prev)`` (v6.12 … v7.0): abort a walk, dropping ``prev``'s reference."""
        if root is None:
            root = self.root
        if prev is not None and prev is not root:
            self.css_put(prev)

    # ---------------------------------------------------------------- lookups
    def lookup(self, path: str) -> MemCgroup:
        """Resolve an absolute cgroup path ("/", "/a/b") to an online memcg; ``FileNotFoundError`` otherwise."""
        m = self.root
        for part in [p for p in path.split("/") if p]:
            nxt = [c for c in m.children if c.name == part and c.online()]
            if not nxt:
                raise FileNotFoundError(path)
            m = nxt[0]
        return m

    def all_memcgs(self) -> list[MemCgroup]:
        return list(self.root.subtree())

    def online_memcgs(self) -> list[MemCgroup]:
        return [m for m in self.root.subtree() if m.online()]


def mem_cgroup_zswap_writeback_enabled(memcg: MemCgroup | None, zswap_enabled: bool = True) -> bool:
    """``mem_cgroup_zswap_writeback_enabled`` (mm/memcontrol.c, v6.8+; kernel-semantics §1.1, §5 Q8).

    True if zswap is globally disabled or ``memcg`` is ``None``; otherwise false iff this memcg or any
    ancestor has ``memory.zswap.writeback`` = 0.
    """
    if not zswap_enabled or memcg is None:
        return True
    return all(m.zswap_writeback for m in memcg.ancestors())
