"""Test support for the warehouse: event envelopes and throw-away databases.

Shipped in the engine (not only under ``tests/``) so that every test folder, benchmark and
downstream project builds events and temporary warehouses the same way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

__all__ = [
    "POSTGRES_ADMIN_URL",
    "make_event",
    "postgres_schema_engine",
    "sqlite_engine",
    "temporary_postgres_database",
]

POSTGRES_ADMIN_URL = os.environ.get(
    "PGTEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/ecohub"
)
_NAMESPACE = uuid.UUID("6f1c2b0e-8d59-4b7a-9a53-2f0d6c1e4a77")


def make_event(
    entity_type: str,
    source_id: str,
    data: dict[str, Any] | None,
    *,
    portal: str = "techport",
    stream: str | None = None,
    version: int | datetime = 1_741_159_800_000,
    operation: str = "update",
    runid: str = "techport-20250305T073000Z-0a1b2c3d",
    **overrides: Any,
) -> dict[str, Any]:
    """An envelope exactly as the contract in docs/events describes it (ids deterministic)."""
    if isinstance(version, datetime):
        version = int(version.replace(tzinfo=version.tzinfo or UTC).timestamp() * 1000)
    key = f"{portal}:{entity_type}:{source_id}"
    stream = stream or f"{entity_type}s"
    when = datetime.fromtimestamp(version / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(_NAMESPACE, f"{key}|{version}|{operation}")),
        "source": f"urn:ecohub:{portal}:{stream}",
        "type": f"vn.hcmc.ecohub.{entity_type}.{operation}",
        "time": when,
        "subject": key,
        "dataschema": f"https://ecohub.hcmc.vn/schemas/entities/{entity_type}/v1.json",
        "datacontenttype": "application/json",
        "operation": operation,
        "entitytype": entity_type,
        "entitykey": key,
        "entityversion": version,
        "sourceref": {"portal": portal, "stream": stream, "id": source_id, "cursor": when},
        "landinguri": f"s3://ecohub-landing/{portal}/{stream}/{when[:10]}/{runid}/page-1.json.gz",
        "runid": runid,
        "data": None if operation == "delete" else data,
    }
    envelope.update(overrides)
    return envelope


def sqlite_engine(path: Path) -> Engine:
    """A file-backed SQLite engine with the same pragmas as :func:`ecohub.db.get_engine`."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


@contextmanager
def temporary_postgres_database(admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """Create ``ecohub_test_<random>``, yield its URL, drop it afterwards."""
    name = f"ecohub_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def postgres_schema_engine(database_url: str) -> Iterator[Engine]:
    """An engine whose every connection works in a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield engine
    finally:
        engine.dispose()
        cleanup = create_engine(database_url)
        with cleanup.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        cleanup.dispose()
