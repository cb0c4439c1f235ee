"""Alembic environment for the ecohub warehouse.

Run programmatically by :func:`ecohub.warehouse.init_db` (no alembic.ini at runtime): the
caller puts an open connection in ``config.attributes["connection"]``. SQLite gets batch mode
so that later ``ALTER TABLE`` migrations work there too.
"""

from __future__ import annotations

from alembic import context

from ecohub.db import get_engine
from ecohub.warehouse.schema import target_metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("no connection given and no sqlalchemy.url configured")
        with get_engine(url).begin() as conn:
            _configure_and_run(conn)
        return
    _configure_and_run(connection)


def _configure_and_run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("ecohub migrations run online only (ecohub.warehouse.init_db)")
run_migrations_online()
