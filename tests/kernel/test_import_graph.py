"""The kernel package's modules import each other one way: no cycle, and no function-local import to hide one."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import zswaplab.kernel

PKG = Path(zswaplab.kernel.__file__).parent
NAME = "zswaplab.kernel"


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            ids.update(id(n) for n in ast.walk(node))
    return ids


def _targets(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Sibling modules of the kernel package that ``node`` imports."""
    mods = {p.stem for p in PKG.glob("*.py")}
    out: list[str] = []
    if isinstance(node, ast.ImportFrom):
        if node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            out += [n.split(".")[0] for n in names]
        elif node.level == 0 and node.module and node.module.startswith(NAME + "."):
            out.append(node.module[len(NAME) + 1:].split(".")[0])
        elif node.level == 0 and node.module == NAME:
            out += [a.name for a in node.names]
    else:
        out += [a.name[len(NAME) + 1:].split(".")[0] for a in node.names if a.name.startswith(NAME + ".")]
    return [m for m in out if m in mods]


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """(module → modules it imports at run time, function-local imports found)."""
    graph: dict[str, set[str]] = {}
    local: list[str] = []
    for path in sorted(PKG.glob("*.py")):
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        deps: set[str] = set()
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in skip:
                continue
            tg = _targets(node)
            if tg and id(node) not in top:
                local.append(f"{path.stem}:{node.lineno} imports {', '.join(tg)}")
            deps.update(tg)
        graph[path.stem] = deps - {path.stem}
    return graph, local


def test_kernel_package_import_graph_is_acyclic():
    graph, _ = import_graph()
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert order.index("constants") < order.index("system")
    assert graph["writeback"].isdisjoint({"proactive", "system", "cgroupfs", "store", "steps", "vmscan"})
    assert graph["zswap"].isdisjoint({"writeback", "store", "system"})


def test_no_function_local_imports_inside_the_package():
    _, local = import_graph()
    assert local == []


def test_the_check_sees_a_cycle():
    graph, _ = import_graph()
    graph = {k: set(v) for k, v in graph.items()}
    graph["zswap"].add("writeback")  # what zswap_store's local import used to do
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return
    raise AssertionError("a cycle went unseen")
