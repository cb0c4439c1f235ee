"""Fixtures of the deployment check: the check module, the repository's deployment files, and
helpers that build a mutated copy of them (the check must name exactly what was broken)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK_PATH = ROOT / "infra" / "compose" / "check.py"


def _load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ecohub_compose_check", CHECK_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CHECK = _load_check()


@pytest.fixture(scope="session")
def check() -> ModuleType:
    return CHECK


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def env_text() -> str:
    return (ROOT / ".env.example").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def facts() -> Any:
    return CHECK.project_facts(ROOT)


@pytest.fixture
def compose_from(tmp_path: Path) -> Callable[[str], dict[str, Any]]:
    """Parse a (mutated) compose text exactly as the check parses the real file."""

    def parse(text: str) -> dict[str, Any]:
        path = tmp_path / "docker-compose.yml"
        path.write_text(text, encoding="utf-8")
        return CHECK.load_compose(path)

    return parse
