"""A memcg-aware, NUMA-aware ``list_lru`` and its walker.

Models mm/list_lru.c (v6.8 … v7.0; kernel-semantics §1.1, §1.6): one FIFO list per (memcg, node), items added at the
tail, walks from the head, and ``__list_lru_walk_one`` with the exact ``enum lru_status`` semantics and
``nr_to_walk`` accounting. Items are intrusive doubly-linked nodes (``prev``/``next`` attributes), so rotate,
delete and splice are O(1) as in the kernel.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any, Protocol


class LruStatus(enum.Enum):
    """``enum lru_status`` (include/linux/list_lru.h)."""

    LRU_REMOVED = 0  # item removed from list
    LRU_REMOVED_RETRY = 1  # item removed, but lock has been dropped and reacquired
    LRU_ROTATE = 2  # item referenced, give another pass
    LRU_SKIP = 3  # item cannot be locked, skip
    LRU_RETRY = 4  # item not freeable; lock dropped and reacquired
    LRU_STOP = 5  # stop walking the list


class LruItem(Protocol):
    prev: Any
    next: Any
    lru: Any


class LruList:
    """``struct list_lru_one``: the list of one (memcg, node) pair plus its item count."""

    __slots__ = ("head", "nr_items", "memcg_id", "nid")

    def __init__(self, memcg_id: int, nid: int) -> None:
        self.head = _Sentinel()
        self.nr_items = 0
        self.memcg_id = memcg_id
        self.nid = nid

    def __len__(self) -> int:
        return self.nr_items

    def __iter__(self) -> Iterator[Any]:
        n = self.head.next
        while n is not self.head:
            nxt = n.next
            yield n
            n = nxt

    def first(self) -> Any | None:
        n = self.head.next
        return None if n is self.head else n

    # list primitives (include/linux/list.h) -------------------------------------------------------
    def add_tail(self, item: LruItem) -> None:
        """``list_lru_add`` (mm/list_lru.c, v6.8 … v7.0) → ``list_add_tail``."""
        tail = self.head.prev
        item.prev, item.next = tail, self.head
        tail.next = item
        self.head.prev = item
        item.lru = self
        self.nr_items += 1

    def add_head(self, item: LruItem) -> None:
        first = self.head.next
        item.prev, item.next = self.head, first
        first.prev = item
        self.head.next = item
        item.lru = self
        self.nr_items += 1

    def del_item(self, item: LruItem) -> None:
        """``list_lru_del`` (mm/list_lru.c, v6.8 … v7.0) → ``list_del_init``."""
        assert item.lru is self
        item.prev.next = item.next
        item.next.prev = item.prev
        item.prev = item.next = None
        item.lru = None
        self.nr_items -= 1

    def move_tail(self, item: LruItem) -> None:
        """``list_move_tail`` (include/linux/list.h): rotation."""
        item.prev.next = item.next
        item.next.prev = item.prev
        tail = self.head.prev
        item.prev, item.next = tail, self.head
        tail.next = item
        self.head.prev = item

    def splice_init_head(self, dst: LruList) -> None:
        """``list_splice_init(&src->list, &dst->list)`` (include/linux/list.h): move every item of ``self`` to
        the HEAD of ``dst``.

        Used by ``memcg_reparent_list_lru_node`` at memcg offline (mm/list_lru.c).
        """
        if self.nr_items == 0:
            return
        first, last = self.head.next, self.head.prev
        for it in self:
            it.lru = dst
        dfirst = dst.head.next
        dst.head.next = first
        first.prev = dst.head
        last.next = dfirst
        dfirst.prev = last
        dst.nr_items += self.nr_items
        self.head.next = self.head.prev = self.head
        self.nr_items = 0


class _Sentinel:
    __slots__ = ("prev", "next", "lru")

    def __init__(self) -> None:
        self.prev = self
        self.next = self
        self.lru = None


WalkCallback = Callable[[Any, LruList], LruStatus]


class WalkBudget:
    """The ``unsigned long *nr_to_walk`` in/out parameter."""

    __slots__ = ("nr_to_walk",)

    def __init__(self, nr_to_walk: int) -> None:
        self.nr_to_walk = nr_to_walk


def list_lru_walk_one(lst: LruList, cb: WalkCallback, budget: WalkBudget) -> int:
    """``__list_lru_walk_one`` (mm/list_lru.c, v6.8 … v7.0; kernel-semantics §1.6).

    Walks ``lst`` from the head with safe iteration. Every visited item costs one unit of
    ``budget.nr_to_walk`` (rotated and failed ones included); the walk ends when the budget is 0, at the end of
    the list, or on ``LRU_STOP``. ``LRU_REMOVED_RETRY`` and ``LRU_RETRY`` restart from the head (the callback
    dropped the lock). Returns the number of isolated (removed) items.
    """
    isolated = 0
    head = lst.head
    while True:  # restart:
        item = head.next
        restarted = False
        while item is not head:
            nxt = item.next  # list_for_each_safe
            if budget.nr_to_walk == 0:
                return isolated
            budget.nr_to_walk -= 1
            ret = cb(item, lst)
            if ret is LruStatus.LRU_REMOVED_RETRY:
                isolated += 1
                restarted = True
                break
            if ret is LruStatus.LRU_REMOVED:
                isolated += 1
            elif ret is LruStatus.LRU_ROTATE:
                lst.move_tail(item)
            elif ret is LruStatus.LRU_SKIP:
                pass
            elif ret is LruStatus.LRU_RETRY:
                restarted = True
                break
            elif ret is LruStatus.LRU_STOP:
                return isolated
            item = nxt
        if not restarted:
            return isolated


class MemcgListLru:
    """``struct list_lru`` with ``memcg_aware`` set: lists per (memcg id, nid), created on demand."""

    def __init__(self, nr_nodes: int) -> None:
        self.nr_nodes = nr_nodes
        self._lists: dict[tuple[int, int], LruList] = {}

    def list_of(self, memcg_id: int, nid: int) -> LruList:
        key = (memcg_id, nid)
        lst = self._lists.get(key)
        if lst is None:
            lst = self._lists[key] = LruList(memcg_id, nid)
        return lst

    def list_lru_count_one(self, memcg_id: int, nid: int) -> int:
        """``list_lru_count_one(lru, nid, memcg)`` (mm/list_lru.c, v6.8 … v7.0): length of that one list."""
        lst = self._lists.get((memcg_id, nid))
        return 0 if lst is None else lst.nr_items

    def reparent(self, child_id: int, parent_id: int) -> None:
        """``memcg_reparent_list_lrus`` (mm/list_lru.c, v6.8 … v7.0): splice each of the child's per-node lists
        onto the HEAD of the parent's."""
        for nid in range(self.nr_nodes):
            src = self._lists.pop((child_id, nid), None)
            if src is not None:
                src.splice_init_head(self.list_of(parent_id, nid))

    def total(self) -> int:
        return sum(len(v) for v in self._lists.values())
