"""The step-level mem_cgroup_iter and reference semantics agree with zswaplab.kernel.memcg.MemcgTree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from zswaplab.concurrency.algorithms import mem_cgroup_iter
from zswaplab.concurrency.state import (
    RELEASED,
    ROOT,
    Model,
    Op,
    Snapshot,
    State,
    TreeShape,
    Violation,
    apply,
)
from zswaplab.kernel.memcg import CssState, MemcgTree


def _random_tree(draw) -> MemcgTree:
    tree = MemcgTree()
    nodes = [tree.root]
    for i in range(draw(st.integers(1, 9))):
        parent = nodes[draw(st.integers(0, len(nodes) - 1))]
        nodes.append(tree.mkdir(parent, f"c{i}"))
    return tree


@st.composite
def trees(draw):
    tree = _random_tree(draw)
    # a few zombies pinned by a leftover reference (offline leaves first, so parents can go too)
    for m in reversed(tree.all_memcgs()[1:]):
        if draw(st.booleans()) and not any(c.online() for c in m.children) and draw(st.booleans()):
            pin = draw(st.booleans())
            if pin:
                tree.css_get(m)
            tree.offline(m)
    return tree


def _drive(model: Model, state: State, gen) -> object:
    """Run a single-threaded algorithm generator to completion on ``state``."""
    try:
        op = next(gen)
        while True:
            result, _ = apply(model, state, 0, op)
            op = gen.send(result)
    except StopIteration as stop:
        return stop.value


def _same(tree: MemcgTree, snap: Snapshot, state: State) -> None:
    by_id = {m.id: m for m in tree.all_memcgs()}
    held = tree.ledger.held()
    for i, mid in enumerate(snap.ids):
        if state.status[i] == RELEASED:
            assert mid not in by_id, f"{snap.shape.label(i)} released here but not in the kernel model"
            continue
        m = by_id[mid]
        assert (state.status[i] == 0) == (m.state is CssState.ONLINE)
        if i != ROOT:
            assert state.extra[i] == held.get(mid, 0), f"refs of {m!r}"


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_full_walk_matches_kernel_model(tree: MemcgTree, data) -> None:
    snap = Snapshot.from_memcg_tree(tree)
    model = Model(snap.shape, ())
    state = State.thaw((snap.status, snap.extra, (), (), ((),), (False,)))
    idx = {mid: i for i, mid in enumerate(snap.ids)}
    roots = [m for m in tree.all_memcgs()]
    root = data.draw(st.sampled_from(roots))
    r_idx = idx[root.id]
    prev_k = None
    prev_s = None
    walk = []
    offline_at = data.draw(st.integers(0, 12))
    step = 0
    while True:
        nk = tree.mem_cgroup_iter(root, prev_k)
        ns = _drive(model, state, mem_cgroup_iter(r_idx, prev_s))
        assert (None if nk is None else idx[nk.id]) == ns
        _same(tree, snap, state)
        walk.append(ns)
        if nk is None:
            break
        step += 1
        if step == offline_at:  # remove an online leaf mid-walk on both sides
            leaves = [m for m in tree.all_memcgs()[1:] if m.online() and m is not root
                      and not any(c.online() for c in m.children)]  # the caller keeps the walk root alive
            if leaves:
                victim = leaves[0]
                tree.offline(victim)
                for kind in ("kill", "offline", "drop_base"):
                    apply(model, state, 0, Op(kind, idx[victim.id]))
                _same(tree, snap, state)
        prev_k, prev_s = nk, ns
    assert walk[0] == r_idx  # root first
    _same(tree, snap, state)


@settings(max_examples=100, deadline=None)
@given(trees())
def test_next_pre_is_the_kernel_model_successor(tree: MemcgTree) -> None:
    snap = Snapshot.from_memcg_tree(tree)
    idx = {mid: i for i, mid in enumerate(snap.ids)}
    for root in tree.all_memcgs():
        pos = None
        while True:
            k = MemcgTree.css_next_descendant_pre(pos, root)
            s = snap.shape.next_pre(None if pos is None else idx[pos.id], idx[root.id], 0)
            assert (None if k is None else idx[k.id]) == s
            if k is None:
                break
            pos = k


def test_double_put_and_use_after_release_are_violations() -> None:
    shape = TreeShape.balanced(3)
    model = Model(shape, ())
    state = State.initial_for(shape, (), 1)
    apply(model, state, 0, Op("tryget", 1))
    apply(model, state, 0, Op("put", 1))
    try:
        apply(model, state, 0, Op("put", 1))
        raise AssertionError("double put not detected")
    except Violation as v:
        assert v.kind == "double put"
    for kind in ("kill", "offline", "drop_base"):
        apply(model, state, 0, Op(kind, 2))
    assert state.status[2] == RELEASED
    try:
        apply(model, state, 0, Op("iter_next", ROOT, 2, False))
        raise AssertionError("iteration from a released prev not detected")
    except Violation as v:
        assert v.kind == "use after release"
    # under RCU a tryget on a released memcg fails safely and is reported as an observation
    ok, obs = apply(model, state, 0, Op("tryget", 2))
    assert ok is False and obs


def test_unreferenced_use_is_a_violation() -> None:
    shape = TreeShape.balanced(3)
    model = Model(shape, ())
    state = State.initial_for(shape, (), 2)
    apply(model, state, 0, Op("tryget_online", 1))
    apply(model, state, 0, Op("use", 1))  # thread 0 holds it
    try:
        apply(model, state, 1, Op("use", 1))
        raise AssertionError("use without a reference not detected")
    except Violation as v:
        assert v.kind == "unreferenced use"


def test_offline_in_the_kernel_order() -> None:
    """kill_css first (tryget_online fails, CSS_ONLINE still set, css_is_dying true), CSS_ONLINE cleared only by
    offline_css, the base reference dropped last."""
    shape = TreeShape.balanced(3)
    model = Model(shape, ())
    state = State.initial_for(shape, (), 1)

    def ask(kind: str) -> object:
        return apply(model, state, 0, Op(kind, 2))[0]

    assert (ask("online"), ask("dying")) == (True, False)
    ask("kill")
    assert (ask("online"), ask("dying")) == (True, True)
    assert ask("tryget_online") is False
    assert ask("tryget") is True  # percpu_ref_tryget works while the count is not zero
    ask("put")
    ask("offline")
    assert (ask("online"), ask("dying")) == (False, True)
    assert state.status[2] != RELEASED  # kill_css's reference still pins it
    ask("drop_base")
    assert state.status[2] == RELEASED
