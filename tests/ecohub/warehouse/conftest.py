"""Fixtures of the warehouse tests: one migrated warehouse per test, on SQLite and PostgreSQL.

The PostgreSQL side needs the local server (``.venv/bin/python -m ecohub.services up``); each
session creates its own database ``ecohub_test_<random>`` and drops it at the end, each test
gets its own schema. Nothing is skipped: without PostgreSQL the postgresql cases fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from ecohub.warehouse import init_db
from ecohub.warehouse.testing import (
    make_event,
    postgres_schema_engine,
    sqlite_engine,
    temporary_postgres_database,
)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = sqlite_engine(tmp_path / "warehouse.db")
        init_db(eng)
        yield eng
        eng.dispose()
    else:
        url = request.getfixturevalue("postgres_database")
        with postgres_schema_engine(url) as eng:
            init_db(eng)
            yield eng


@pytest.fixture
def event():
    """Factory of canonical event envelopes (see ecohub.warehouse.testing.make_event)."""
    return make_event
