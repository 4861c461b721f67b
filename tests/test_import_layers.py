"""Packages import one way: no cycle between top-level packages, the simulator stays independent.

Every `.py` file of the project is parsed (ast, so imports inside functions count too) and each
import of another top-level package or module becomes an edge of the package graph.
"""

from __future__ import annotations

import ast
import functools
import os
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", "node_modules", "__pycache__"}
SERVICE_PACKAGES = {
    "data_ingestion",
    "aggregation",
    "strategy",
    "execution",
    "storage",
    "pipeline",
    "recording",
    "service",
    "backtest",
    "optimize",
    "research",
    "api",
    "wiring",
}
# From the bottom up; a package may import only those listed before it (tests and the simulator
# are outside the order: tests import anything, the simulator nothing of the service's).
LAYERS = [
    {"core", "config"},
    {"data_ingestion"},
    {"aggregation"},
    {"strategy"},
    {"execution"},
    {"storage"},
    {"pipeline"},
    {"recording"},
    {"service", "backtest"},
    {"optimize"},
    {"research"},
    {"api"},
    {"wiring"},
    {"main", "bench"},
]

Graph = dict[str, dict[str, list[str]]]  # package -> imported package -> files


def top_level_names(root: Path) -> set[str]:
    names = {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    return names | {p.stem for p in root.glob("*.py")}


def imported_modules(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append(node.module)
    return out


def python_files(root: Path) -> list[Path]:
    out: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".")]
        out.extend(Path(folder) / name for name in files if name.endswith(".py"))
    return out


@functools.cache
def import_graph(root: Path) -> Graph:
    tops = top_level_names(root)
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for path in python_files(root):
        rel = path.relative_to(root)
        package = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for module in imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            target = module.split(".")[0]
            if target in tops and target != package:
                graph[package][target].append(str(rel))
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph: Graph = {"a": {"b": ["a/x.py"]}, "b": {"c": ["b/y.py"]}, "c": {"a": ["c/z.py"]}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": ["a/x.py"]}, "b": {}}) == []


def test_no_cycle_between_top_level_packages() -> None:
    graph = import_graph(ROOT)
    found = cycles({k: v for k, v in graph.items() if k != "tests"})
    details = [
        f"{a} -> {b} ({', '.join(sorted(set(graph[a][b]))[:3])})"
        for component in found
        for a in component
        for b in component
        if b in graph.get(a, {})
    ]
    assert not found, "import cycles:\n" + "\n".join(details)


def test_imports_run_down_the_layers() -> None:
    graph = import_graph(ROOT)
    rank = {name: n for n, layer in enumerate(LAYERS) for name in layer}
    upward = [
        f"{package} -> {target} ({sorted(set(files))[0]})"
        for package, targets in graph.items()
        if package in rank
        for target, files in targets.items()
        if target in rank and rank[target] >= rank[package] and target not in LAYERS[0]
    ]
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)
    unplaced = set(graph) - set(rank) - {"tests", "simulator"}
    assert not unplaced, f"top-level packages missing from LAYERS: {sorted(unplaced)}"


def test_the_simulator_imports_nothing_of_the_service() -> None:
    used = import_graph(ROOT).get("simulator", {})
    assert not SERVICE_PACKAGES & set(used), {
        k: v for k, v in used.items() if k in SERVICE_PACKAGES
    }


def test_nothing_but_tests_imports_tests() -> None:
    graph = import_graph(ROOT)
    users = {package: targets["tests"] for package, targets in graph.items() if "tests" in targets}
    assert not users, users
