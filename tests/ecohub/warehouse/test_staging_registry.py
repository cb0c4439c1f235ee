"""A registered portal gets its staging table from ``init_db``, without a migration of its own;
the declared model stays equal to the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from ecohub.errors import ConfigError
from ecohub.portals import PortalSpec, register_portal, unregister_portal
from ecohub.warehouse import _up_to_date, init_db
from ecohub.warehouse.history import apply_events
from ecohub.warehouse.schema import STAGING_META_KEY, target_metadata
from ecohub.warehouse.tables import staging_table, staging_tables, warehouse_meta

LABPORT = PortalSpec(name="labport", title="LabPort", entities=("organization",),
                     default_port=59102, connector="tests.x:LabConnector",
                     mapping="tests.x_mapping", rank=8)


@pytest.fixture
def labport():
    register_portal(LABPORT)
    yield LABPORT
    unregister_portal(LABPORT.name)
    staging_tables()


def _differences(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, target_metadata())


def test_a_registered_portal_gets_its_staging_table(engine, labport, entity):
    assert _up_to_date(engine) is False  # the registry changed since the last init_db
    init_db(engine)
    assert _up_to_date(engine) is True
    assert "stg_labport" in inspect(engine).get_table_names()
    assert {i["name"] for i in inspect(engine).get_indexes("stg_labport")} == {
        "ix_stg_labport_entity_type"}
    assert _differences(engine) == []
    with engine.begin() as conn:
        apply_events(conn, [entity("organization", "LP-1", portal="labport")])
        assert conn.execute(select(staging_table("labport").c.entity_key)).scalars().all() == [
            "labport:organization:LP-1"]
        stored = conn.execute(select(warehouse_meta.c.value).where(
            warehouse_meta.c.key == STAGING_META_KEY)).scalar_one()
    assert stored == "hoip,labport,stinet,techport"


def test_an_unregistered_portal_leaves_the_model_but_keeps_its_rows(engine, labport):
    init_db(engine)
    unregister_portal("labport")
    try:
        assert "stg_labport" not in target_metadata().tables
        init_db(engine)
        assert "stg_labport" in inspect(engine).get_table_names()  # never dropped
        assert _up_to_date(engine) is True
    finally:
        register_portal(LABPORT)


def test_an_unknown_portal_has_no_staging_table():
    with pytest.raises(ConfigError, match="unknown portal 'nowhere'; valid portals: hoip"):
        staging_table("nowhere")
