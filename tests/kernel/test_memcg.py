"""memcg tree, css references and mem_cgroup_iter (kernel-semantics §1.12)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zswaplab.kernel.memcg import CssState, MemcgTree, RefError


def build(shape: str = "a(b,c),d") -> MemcgTree:
    t = MemcgTree()

    def add(parent, spec: str) -> None:
        depth, name, i = 0, "", 0
        buf = ""
        for ch in spec + ",":
            if ch == "(" and depth == 0:
                name, buf = buf, ""
                depth += 1
                continue
            if ch == "(":
                depth += 1
            if ch == ")":
                depth -= 1
                if depth == 0:
                    continue
            if ch == "," and depth == 0:
                if name:
                    m = t.mkdir(parent, name)
                    add(m, buf)
                elif buf:
                    t.mkdir(parent, buf)
                name, buf = "", ""
                continue
            buf += ch
        del i

    add(t.root, shape)
    return t


def walk(t: MemcgTree, root=None) -> list[str]:
    out, m = [], None
    while (m := t.mem_cgroup_iter(root, m)) is not None:
        out.append(m.path)
    return out


def test_preorder_root_first_none_at_end_and_refs_balanced():
    t = build()
    assert walk(t) == ["/", "/a", "/a/b", "/a/c", "/d"]
    assert t.ledger.held() == {}
    a = t.lookup("/a")
    assert walk(t, a) == ["/a", "/a/b", "/a/c"]
    assert t.ledger.held() == {}


def test_iter_holds_a_reference_until_passed_back_or_break():
    t = build()
    m = t.mem_cgroup_iter(None, None)
    assert m is t.root and t.ledger.held() == {}
    m = t.mem_cgroup_iter(None, m)
    assert m.path == "/a" and t.ledger.held() == {m.id: 1}
    t.mem_cgroup_iter_break(None, m)
    assert t.ledger.held() == {}


def test_zombies_are_returned_but_tryget_online_fails():
    t = build()
    c = t.lookup("/a/c")
    t.css_get(c)  # something pins it (e.g. a cursor)
    t.offline(c)
    assert c.state is CssState.OFFLINE
    assert "/a/c" in walk(t)
    assert not t.mem_cgroup_tryget_online(c)
    assert t.css_tryget(c)
    t.css_put(c)
    t.css_put(c)
    assert c.state is CssState.RELEASED
    assert walk(t) == ["/", "/a", "/a/b", "/d"]


def test_double_put_and_use_after_release_detected():
    t = build()
    b = t.lookup("/a/b")
    with pytest.raises(RefError):
        t.css_put(b)
    t.offline(b)
    assert b.state is CssState.RELEASED
    with pytest.raises(RefError):
        t.css_get(b)
    assert not t.css_tryget(b)


def test_parent_stays_until_zombie_children_released():
    t = build("a(b)")
    a, b = t.lookup("/a"), t.lookup("/a/b")
    t.css_get(b)
    t.offline(b)
    t.offline(a)
    assert a.state is CssState.OFFLINE  # pinned by its zombie child
    t.css_put(b)
    assert b.state is CssState.RELEASED and a.state is CssState.RELEASED


@given(st.lists(st.integers(0, 100), min_size=1, max_size=12), st.data())
def test_walk_equals_recursive_preorder(parents, data):
    t = MemcgTree()
    nodes = [t.root]
    for i, p in enumerate(parents):
        nodes.append(t.mkdir(nodes[p % len(nodes)], f"m{i}"))
    root = data.draw(st.sampled_from(nodes))
    assert walk(t, root) == [m.path for m in root.subtree()]
    assert t.ledger.held() == {}
