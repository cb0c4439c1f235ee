"""The runtime is the runtime: what the wheel ships (``ecohub``, ``connectors``) never imports
the development packages (simulators, the local stack, benchmarks, test fixtures), and the
wheel's package list leaves them out. A development command resolves them lazily by name
(``ecohub.cli._dev_module``).

The import graph stays visible: no import cycle between the modules or the packages of the
runtime (imports inside functions count too: deferring one hides a cycle, it does not break
it), and an import inside a function says why, with a ``# deferred:`` comment naming the
measured import-time cost or the constraint (e.g. DAG parse time) that keeps it there."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("ecohub", "connectors")
DEVELOPMENT = ("simulators", "infra", "bench", "tests")


def _imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", RUNTIME)
def test_runtime_never_imports_development_packages(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_top_levels(path) & set(DEVELOPMENT))
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_wheel_ships_only_the_runtime():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(p.rstrip("*") for p in include) == sorted(RUNTIME)


# --------------------------------------------------------------------------- the import graph

JUSTIFIED = re.compile(r"#\s*deferred:")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement and whether it sits inside a function; ``if TYPE_CHECKING``
    blocks are left out (they never run)."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(node, inner)


def _targets(node: ast.stmt, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The known modules an import statement loads (``from pkg import mod`` loads pkg.mod)."""
    names: set[str] = set()
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom):
        base = module.split(".") if is_package else module.split(".")[:-1]
        if node.level:
            base = base[: len(base) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        names = {
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
            for alias in node.names
        }
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports, at any depth of its code."""
    paths = {
        _module_name(root, path): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }
    known = set(paths)
    return {
        module: {
            target
            for node, _ in _imports(ast.parse(path.read_text(encoding="utf-8")))
            for target in _targets(node, module, path.name == "__init__.py", known)
        }
        for module, path in paths.items()
    }


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between units: a top-level module (``ecohub.pipeline``) or a subpackage
    with everything under it (``ecohub.normalize``, ``connectors.toolkit``)."""

    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    units: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = units.setdefault(unit(module), set())
        edges.update(unit(t) for t in targets if unit(t) != unit(module))
    return units


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def unjustified_local_imports(path: Path) -> list[str]:
    """``file:line`` of each import inside a function whose block has no ``# deferred:``
    comment: on the import's line, or on the lines just above its block of imports."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    nodes = list(_imports(ast.parse(text)))
    import_lines = {
        n for node, _ in nodes for n in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    missing = []
    for node, in_function in nodes:
        if not in_function or JUSTIFIED.search(lines[node.lineno - 1]):
            continue
        above = node.lineno - 1  # 1-based number of the line above
        while above >= 1 and (above in import_lines or not lines[above - 1].strip()):
            above -= 1  # the rest of this block of imports
        while above >= 1 and lines[above - 1].strip().startswith("#"):
            if JUSTIFIED.search(lines[above - 1]):
                break
            above -= 1
        if above < 1 or above in import_lines or not JUSTIFIED.search(lines[above - 1]):
            missing.append(f"{path.name}:{node.lineno}")
    return missing


def test_no_import_cycle_between_modules_or_packages_of_the_runtime():
    graph = import_graph(ROOT, RUNTIME)
    assert len(graph) > 50  # the walk found the runtime
    assert cycles(graph) == []
    assert cycles(package_graph(graph)) == []


@pytest.mark.parametrize("folder", [*RUNTIME, "dags"])
def test_imports_inside_functions_say_why(folder):
    offenders = {
        str(path.relative_to(ROOT)): unjustified_local_imports(path)
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checks_find_a_cycle_and_an_unexplained_local_import(tmp_path):
    """The two checks above, on a small tree that breaks both rules."""
    files = {
        "app/__init__.py": "",
        "app/a.py": "from app.sub import b\n",
        "app/sub/__init__.py": "",
        "app/sub/b.py": "def f():\n    from app import c\n",
        "app/c.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from app import a\n"
            "def g():\n    # deferred: 1 s to import (measured)\n    import json\n\n"
            "    from app import a\n"
        ),
        "app/d.py": "def h():\n    import json  # deferred: costly\n    # why not\n    import os\n",
    }
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")

    graph = import_graph(tmp_path, ("app",))

    assert graph["app.c"] == {"app.a"}  # the TYPE_CHECKING import is not an edge
    assert cycles(graph) == [["app.a", "app.c", "app.sub.b"]]
    assert cycles(package_graph(graph)) == [["app.a", "app.c", "app.sub"]]
    assert [unjustified_local_imports(tmp_path / f) for f in files if f.endswith(".py")] == [
        [], [], [], ["b.py:2"], [], ["d.py:4"]
    ]
