"""Fixtures of the report tests: the same sample warehouse on SQLite and on PostgreSQL, rendered.

Every figure is checked against the oracle (plain SQL over a SQLite file). On PostgreSQL the
oracle reads a SQLite twin filled with the same deterministic sample, so "the PostgreSQL page
equals the oracle" means "PostgreSQL and SQLite give the same figures". The PostgreSQL side runs
in the session's own database (``ecohub_test_<random>``), one schema per fixture instance, so
concurrent runs never collide; without the local server it fails, never skips.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, text

from ecohub.report import write_report
from ecohub.report.data import KEY_ATTRIBUTES
from ecohub.settings import Settings
from ecohub.warehouse import init_db
from tests.fixtures.report_sample import SampleSummary, populate_sample
from tests.fixtures.warehouse_sample import postgres_schema_engine, sqlite_engine

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


def _populate_sqlite(db_path: Path) -> SampleSummary:
    engine = sqlite_engine(db_path)
    init_db(engine)
    summary = populate_sample(engine)
    engine.dispose()
    return summary


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sample_report(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    """Six days of runs of the three portals, with every run status, rendered at NOW."""
    root = tmp_path_factory.mktemp(f"report-sample-{request.param}")
    settings, db_path = _settings(root)
    summary = _populate_sqlite(db_path)  # the oracle's database (the twin on PostgreSQL)
    if request.param == "sqlite":
        index = write_report(settings, root / "site", now=NOW)
        yield Rendered(settings, db_path, root / "site", index, summary,
                       oracle_module.Oracle(db_path, NOW, KEY_ATTRIBUTES))
        return
    with postgres_schema_engine(request.getfixturevalue("postgres_database")) as engine:
        init_db(engine)
        pg_summary = populate_sample(engine)
        assert pg_summary == summary  # the twin really is the same sample
        pg_settings = settings.model_copy(update={"warehouse_url": schema_url(engine)})
        index = write_report(pg_settings, root / "site", now=NOW)
        yield Rendered(pg_settings, db_path, root / "site", index, summary,
                       oracle_module.Oracle(db_path, NOW, KEY_ATTRIBUTES))


def schema_url(engine: Engine) -> str:
    """A URL that reaches the schema of ``engine`` (what ``ecohub report`` is given)."""
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    assert schema and schema.startswith("t_"), schema  # never the shared public schema
    # added to the URL's query (it may already name a password file)
    url = engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


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
