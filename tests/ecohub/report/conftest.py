"""Fixtures of the report tests: a sample warehouse in a temporary SQLite file, rendered once."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from ecohub.report import write_report
from ecohub.report.data import KEY_ATTRIBUTES
from ecohub.settings import Settings
from ecohub.warehouse import init_db
from tests.fixtures.report_sample import SampleSummary, populate_sample
from tests.fixtures.warehouse_sample import sqlite_engine

NOW = datetime(2025, 3, 7, 9, 0)


def _load_oracle() -> ModuleType:
    path = Path(__file__).with_name("oracle.py")
    spec = importlib.util.spec_from_file_location("report_oracle", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


oracle_module = _load_oracle()


@dataclass
class Rendered:
    settings: Settings
    db_path: Path
    out_dir: Path
    index: Path
    summary: SampleSummary | None
    oracle: object

    def page(self, name: str = "index.html") -> str:
        return (self.out_dir / name).read_text(encoding="utf-8")


def _settings(root: Path) -> tuple[Settings, Path]:
    db_path = root / "warehouse.db"
    return Settings(var_dir=root / "var", warehouse_url=f"sqlite:///{db_path}"), db_path


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Six days of runs of the three portals, with every run status, rendered at NOW."""
    root = tmp_path_factory.mktemp("report-sample")
    settings, db_path = _settings(root)
    engine = sqlite_engine(db_path)
    init_db(engine)
    summary = populate_sample(engine)
    engine.dispose()
    index = write_report(settings, root / "site", now=NOW)
    oracle = oracle_module.Oracle(db_path, NOW, KEY_ATTRIBUTES)
    return Rendered(settings, db_path, root / "site", index, summary, oracle)


@pytest.fixture
def empty_report(tmp_path: Path) -> Rendered:
    """A brand-new warehouse (not even migrated) rendered to the default folder."""
    settings, db_path = _settings(tmp_path)
    index = write_report(settings, now=NOW)
    oracle = oracle_module.Oracle(db_path, NOW, KEY_ATTRIBUTES)
    return Rendered(settings, db_path, index.parent, index, None, oracle)


@pytest.fixture(scope="session")
def report_now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def oracle_tools() -> ModuleType:
    return oracle_module
