"""The unified ecosystem warehouse: schema migrations, views and table checksums.

Call :func:`init_db` before using a warehouse: it migrates the tables to the newest Alembic
revision (never dropping data), rebuilds the SQL views when their definitions changed, and
seeds the calendar and field dimensions. It is cheap when nothing changed, so every entry
point (loader, pipeline, CLI) may call it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.pool import NullPool

from ecohub.warehouse.dims import seed_dimensions
from ecohub.warehouse.schema import (
    STAGING_META_KEY,
    create_staging_tables,
    staging_portals,
    target_metadata,
)
from ecohub.warehouse.tables import warehouse_meta
from ecohub.warehouse.views import rebuild_views, views_hash

__all__ = ["MIGRATIONS_DIR", "checksums", "current_revision", "head_revision", "init_db"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_lock = threading.Lock()
_NOT_DATA = {"warehouse_meta"}  # facts about the database itself (e.g. dialect-specific view SQL)


def _alembic_config(connection: Connection | None = None) -> Any:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _up_to_date(engine: Engine) -> bool:
    if current_revision(engine) != head_revision():
        return False
    with engine.connect() as conn:
        stored = dict(conn.execute(
            select(warehouse_meta.c.key, warehouse_meta.c.value).where(
                warehouse_meta.c.key.in_(("views_hash", STAGING_META_KEY)))
        ).tuples().all())
    return stored == {"views_hash": views_hash(engine.dialect.name),
                      STAGING_META_KEY: staging_portals()}


def init_db(engine: Engine) -> None:
    """Migrate ``engine``'s database to head, rebuild views if needed, seed dimensions.

    Concurrent callers are serialized (a PostgreSQL advisory lock across processes, a lock
    within the process); a second call with nothing to do costs two small queries.
    """
    if _up_to_date(engine):
        return

    migrator = _sqlite_migrator(engine) if engine.dialect.name == "sqlite" else engine
    try:
        with _lock, migrator.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext('ecohub.warehouse.init_db'))")
                )
            command.upgrade(_alembic_config(conn), "head")
            create_staging_tables(conn)
            rebuild_views(conn)
            seed_dimensions(conn)
    finally:
        if migrator is not engine:
            migrator.dispose()


def _sqlite_migrator(engine: Engine) -> Engine:
    """An engine whose transactions really contain DDL on SQLite.

    Python's sqlite3 driver only opens a transaction before INSERT/UPDATE/DELETE, so the
    CREATE TABLEs of a migration would each commit on their own: a process killed mid-migration
    left half a schema and no ``alembic_version``, and every later start failed with "table
    already exists" (found by the fault-injection suite). Here the driver's own transaction
    handling is off and ``BEGIN IMMEDIATE`` opens one transaction for the whole migration,
    which also serializes concurrent migrations across processes, as the advisory lock does
    on PostgreSQL.
    """
    migrator = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(migrator, "connect")
    def _driver_autocommit(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(migrator, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return migrator


def _canonical(value: Any) -> Any:
    """A dialect-independent rendering of a column value for hashing."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _skipped(column: Any) -> bool:
    """Load timestamps and surrogate counters differ between two identical loads."""
    return column.name.endswith("_at") or (column.primary_key and column.autoincrement is True)


def checksums(engine: Engine) -> dict[str, str]:
    """A sha256 per table over its rows, independent of row order and load timestamps.

    Two warehouses loaded from the same events give identical checksums whatever the order
    of loading - and whatever the database: PostgreSQL and SQLite agree - which is how
    "replaying every topic changes nothing" is checked.
    """
    metadata = target_metadata()
    result: dict[str, str] = {}
    with engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
        for table in sorted(metadata.sorted_tables, key=lambda t: t.name):
            if table.name not in existing or table.name in _NOT_DATA:
                continue
            columns = [c for c in table.columns if not _skipped(c)]
            digests = sorted(
                hashlib.sha256(
                    json.dumps(
                        [_canonical(v) for v in row],
                        ensure_ascii=False,
                        sort_keys=True,
                        default=str,
                    ).encode()
                ).hexdigest()
                for row in conn.execute(select(*columns))
            )
            result[table.name] = hashlib.sha256("\n".join(digests).encode()).hexdigest()
    return result
