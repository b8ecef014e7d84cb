"""The house rules of the layout: no import cycle, modules of a readable size (STYLE 11).

The floors themselves (a module imports only its own floor and the ones below) are the
import-linter contract in pyproject.toml, which CI runs as ``lint-imports``.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pagegen", "rows", "policies")
MAX_LINES = 400


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_cycles_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


@pytest.mark.parametrize("type_checking", [False, True])
def test_no_import_cycle(type_checking: bool) -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=not type_checking)
    # a package's __init__ re-exports its modules: an import of the package is not a way back
    for package in [m for m in graph.modules if Path(ROOT, *m.split("."), "__init__.py").exists()]:
        for importer in graph.find_modules_that_directly_import(package):
            if importer.startswith(package + "."):
                graph.remove_import(importer=importer, imported=package)
    assert _cycles(graph) == []


def test_modules_are_at_most_400_lines() -> None:
    long = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long[str(path.relative_to(ROOT))] = n
    assert long == {}, f"modules over {MAX_LINES} lines: {long}"


#: The page path: what runs for every page request (member state, rankers, selection, assembly).
PAGE_PATH = ("pagegen/core", "pagegen/page", "pagegen/serve/_engine.py", "policies", "rows")
MAX_FUNCTION = 80


def test_functions_on_the_page_path_are_at_most_80_lines() -> None:
    import ast

    long = {}
    for entry in PAGE_PATH:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION:
                    long[f"{file.relative_to(ROOT)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert long == {}, f"functions over {MAX_FUNCTION} lines on the page path: {long}"
