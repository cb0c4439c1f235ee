"""The warehouse database handle shared by every component that keeps state in it.

All tables (warehouse, sync state, consumer offsets, runs) hang off one :data:`metadata` so
that one Alembic history migrates them together. Engines are cached per URL: building one is
cheap but connection pools are not.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event

__all__ = ["get_engine", "metadata", "new_engine"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The engine for ``url``, built once per process (:func:`new_engine`)."""
    return new_engine(url)


def new_engine(url: str) -> Engine:
    """A new engine for ``url``; SQLite gets WAL (synchronous NORMAL), foreign keys and a
    busy timeout, and its folder is created. Components use :func:`get_engine`; this is for
    a caller that needs an engine of its own (a throw-away test database)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives a killed process (the fault suite's SIGKILLs),
            # only an OS crash or power loss may roll back the last commits, and those roll
            # back together with the cursor or offsets they carry, so the pages or events are
            # read again and absorbed as duplicates. FULL's fsync per commit cost 3.6 ms, on
            # the sync's main loop once per page (Stinet: ~1,500 pages) -> 0.04 ms.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine
