"""Alembic migrations: they build exactly the declared model and never lose data."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from ecohub.warehouse import current_revision, head_revision, init_db
from ecohub.warehouse.dims import DATE_RANGE
from ecohub.warehouse.history import apply_events
from ecohub.warehouse.schema import target_metadata
from ecohub.warehouse.tables import dim_date, dim_field, entity_version


def test_the_database_is_at_head_and_matches_the_declared_tables(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata())

    assert current_revision(engine) == head_revision()
    assert differences == []


def test_connector_state_tables_are_created(engine):
    tables = set(inspect(engine).get_table_names())
    assert {"sync_state", "source_keys", "consumer_offsets", "entity_version"} <= tables


def test_init_db_again_keeps_every_row(engine, entity):
    with engine.begin() as conn:
        apply_events(conn, [entity("organization", "TP-NCC-0042")])
    init_db(engine)
    init_db(engine)

    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(entity_version)).scalar_one() == 1
        days = conn.execute(select(func.count()).select_from(dim_date)).scalar_one()
        fields = conn.execute(
            select(dim_field.c.field_code, dim_field.c.parent_code).where(
                dim_field.c.field_code == "102"
            )
        ).one()
    assert days == (DATE_RANGE[1] - DATE_RANGE[0]).days + 1
    assert tuple(fields) == ("102", "1")


def test_a_migration_cut_short_on_sqlite_leaves_nothing_behind(tmp_path, monkeypatch):
    """A process killed mid-migration used to leave half a schema that no later start could
    migrate ("table already exists"): the whole migration is one transaction now."""
    import ecohub.warehouse as warehouse
    from tests.fixtures.warehouse_sample import sqlite_engine

    engine = sqlite_engine(tmp_path / "cut.db")

    def crash(_conn):
        raise KeyboardInterrupt("killed after the tables were created")

    monkeypatch.setattr(warehouse, "seed_dimensions", crash)
    with pytest.raises(KeyboardInterrupt):
        init_db(engine)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    monkeypatch.undo()
    init_db(engine)
    assert current_revision(engine) == head_revision()
