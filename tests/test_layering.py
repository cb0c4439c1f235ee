"""The runtime is the runtime: what the wheel ships (``ecohub``, ``connectors``) never imports
the development packages (simulators, the local stack, benchmarks, test fixtures), and the
wheel's package list leaves them out. A development command resolves them lazily by name
(``ecohub.cli._dev_module``)."""

from __future__ import annotations

import ast
import tomllib
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
