"""Which tables the warehouse owns: the migrations' (the connector toolkit's state tables
included) and the staging table of every registered portal.

Kept apart from :mod:`ecohub.warehouse.tables` so Alembic's environment and the migration
tests see one complete :class:`~sqlalchemy.MetaData` whichever module was imported first.

Why staging tables outside the migrations: a portal is one registered spec (``docs/connectors.md``,
"A fourth portal"), so its ``stg_<portal>`` table must not need a hand-written migration.
Alembic keeps owning the shape (the baseline created the built-in three, and a migration
that changes the shape alters every ``stg_*`` table it finds); :func:`create_staging_tables`
adds, idempotently and inside ``init_db``'s migration transaction, the table of any portal
registered since, and records the set in ``warehouse_meta`` so ``init_db`` stays a no-op when
nothing changed.
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, inspect

from ecohub.db import metadata
from ecohub.warehouse.sqlutil import upsert
from ecohub.warehouse.tables import staging_tables, warehouse_meta

__all__ = ["STAGING_META_KEY", "create_staging_tables", "staging_portals", "target_metadata"]

STAGING_META_KEY = "staging_portals"


def target_metadata() -> MetaData:
    """The shared metadata with every table the warehouse owns registered on it (the staging
    tables of exactly the registered portals)."""
    staging_tables()
    return metadata


def staging_portals() -> str:
    """The registered portals whose staging tables exist once ``init_db`` ran (the value kept
    under :data:`STAGING_META_KEY`)."""
    return ",".join(sorted(staging_tables()))


def create_staging_tables(conn: Connection) -> list[str]:
    """Create the missing ``stg_<portal>`` tables (with their index) of the registered portals
    in the caller's transaction; return the names created. A table is never dropped: the rows
    of a portal no longer registered stay for the auditors."""
    existing = set(inspect(conn).get_table_names())
    created = []
    for table in staging_tables().values():
        if table.name not in existing:
            table.create(conn)
            created.append(table.name)
    upsert(conn, warehouse_meta, [{"key": STAGING_META_KEY, "value": staging_portals()}],
           keys=["key"])
    return created
