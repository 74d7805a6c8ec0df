"""__list_lru_walk_one semantics (kernel-semantics §1.6)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zswaplab.kernel.list_lru import LruList, LruStatus, MemcgListLru, WalkBudget, list_lru_walk_one


class Item:
    def __init__(self, name: str) -> None:
        self.name = name
        self.prev = self.next = self.lru = None

    def __repr__(self) -> str:
        return self.name


def make(names: str) -> tuple[LruList, dict[str, Item]]:
    lst = LruList(1, 0)
    items = {n: Item(n) for n in names}
    for n in names:
        lst.add_tail(items[n])
    return lst, items


def names(lst: LruList) -> str:
    return "".join(i.name for i in lst)


def test_rotate_costs_budget_and_moves_to_tail():
    lst, _ = make("abcd")
    b = WalkBudget(2)
    got = list_lru_walk_one(lst, lambda it, lst_: LruStatus.LRU_ROTATE, b)
    assert got == 0 and b.nr_to_walk == 0
    assert names(lst) == "cdab"


def test_walk_wraps_around_rotated_items_while_budget_remains():
    # list_for_each_safe continues into the items rotated to the tail: with budget 6 on 4 items, a and b are
    # visited twice
    lst, _ = make("abcd")
    seen = []
    b = WalkBudget(6)
    list_lru_walk_one(lst, lambda it, lst_: (seen.append(it.name), LruStatus.LRU_ROTATE)[1], b)
    assert "".join(seen) == "abcdab"


def test_removed_retry_restarts_from_head():
    lst, _ = make("abc")
    seen = []

    def cb(it, lst_):
        seen.append(it.name)
        if it.name == "b":
            lst_.del_item(it)
            return LruStatus.LRU_REMOVED_RETRY
        return LruStatus.LRU_SKIP

    b = WalkBudget(5)
    assert list_lru_walk_one(lst, cb, b) == 1
    # a (skip), b (removed, restart), a, c, then end of list
    assert "".join(seen) == "abac"
    assert b.nr_to_walk == 1


def test_retry_restarts_and_stop_stops():
    lst, _ = make("abc")
    seen = []

    def cb(it, lst_):
        seen.append(it.name)
        if it.name == "a" and seen.count("a") == 1:
            lst_.move_tail(it)
            return LruStatus.LRU_RETRY
        return LruStatus.LRU_STOP

    b = WalkBudget(10)
    assert list_lru_walk_one(lst, cb, b) == 0
    assert "".join(seen) == "ab"
    assert b.nr_to_walk == 8


def test_zero_budget_visits_nothing():
    lst, _ = make("ab")
    b = WalkBudget(0)
    assert list_lru_walk_one(lst, lambda it, lst_: LruStatus.LRU_ROTATE, b) == 0
    assert names(lst) == "ab"


def test_reparent_splices_child_list_onto_parent_head():
    lru = MemcgListLru(2)
    parent, child = lru.list_of(1, 0), lru.list_of(2, 0)
    for n in "pq":
        parent.add_tail(Item(n))
    for n in "xy":
        child.add_tail(Item(n))
    lru.reparent(2, 1)
    assert names(lru.list_of(1, 0)) == "xypq"
    assert lru.list_lru_count_one(1, 0) == 4 and lru.list_lru_count_one(2, 0) == 0
    assert all(i.lru is lru.list_of(1, 0) for i in lru.list_of(1, 0))


@given(st.lists(st.sampled_from(list(LruStatus)), min_size=1, max_size=40), st.integers(0, 30),
       st.integers(1, 8))
def test_walk_budget_accounting_property(script, budget, n):
    """Visits never exceed the budget; every visit costs one; removed items leave the list."""
    lst, _ = make("abcdefgh"[:n])
    steps = iter(script)
    visits = 0

    def cb(it, lst_):
        nonlocal visits
        visits += 1
        r = next(steps, LruStatus.LRU_STOP)
        if r in (LruStatus.LRU_REMOVED, LruStatus.LRU_REMOVED_RETRY):
            lst_.del_item(it)
        return r

    b = WalkBudget(budget)
    isolated = list_lru_walk_one(lst, cb, b)
    assert visits == budget - b.nr_to_walk
    assert len(lst) == n - isolated
    assert len(list(lst)) == len(lst)
