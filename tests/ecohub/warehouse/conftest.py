"""Fixtures of the warehouse tests: one migrated warehouse per test, on SQLite and PostgreSQL.

The PostgreSQL side needs the local server (``.venv/bin/python -m infra.stack up``); each
session creates its own database ``ecohub_test_<random>`` and drops it at the end, each test
gets its own schema. Nothing is skipped: without PostgreSQL the postgresql cases fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from ecohub.warehouse import init_db
from tests.fixtures.warehouse_sample import (
    make_event,
    postgres_schema_engine,
    sample_data,
    sqlite_engine,
)


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
    """Factory of canonical event envelopes (see tests.fixtures.warehouse_sample.make_event)."""
    return make_event


@pytest.fixture
def entity():
    """Factory of schema-valid events: ``entity(type, source_id, portal=..., **data_overrides)``."""

    def build(
        entity_type,
        source_id,
        *,
        portal="techport",
        version=1_741_159_800_000,
        operation="update",
        runid="techport-20250305T073000Z-0a1b2c3d",
        **data,
    ):
        payload = (
            None if operation == "delete" else sample_data(entity_type, portal, source_id, **data)
        )
        return make_event(
            entity_type,
            source_id,
            payload,
            portal=portal,
            version=version,
            operation=operation,
            runid=runid,
        )

    return build
