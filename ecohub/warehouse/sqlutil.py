"""Portable upserts: the same call on PostgreSQL and SQLite (both speak ON CONFLICT).

Every write of the loader goes through these two helpers, which is what makes loading the
same batch twice leave one copy, on either database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["chunks", "insert_ignore", "upsert"]

_CHUNK = 500


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    """Slices of ``items``: keeps statements under the SQLite variable limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(conn: Connection, table: Table) -> Any:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"ecohub warehouse supports postgresql and sqlite, not {name}")


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows whose primary/unique key is new; existing keys are left untouched."""
    written = 0
    for part in chunks(rows):
        if part:
            stmt = _insert(conn, table).on_conflict_do_nothing()
            written += conn.execute(stmt, list(part)).rowcount or 0
    return written


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    where: Any = None,
) -> None:
    """Insert or update ``rows`` on ``keys``; ``where(excluded)`` may veto an update.

    ``where`` receives the ``excluded`` pseudo-table and returns a condition; for example the
    staging layer only accepts a newer ``entityversion``.
    """
    for part in chunks(rows):
        if not part:
            continue
        stmt = _insert(conn, table)
        excluded = stmt.excluded
        updates = {c.name: excluded[c.name] for c in table.columns if c.name not in keys}
        condition: ColumnElement[bool] | None = where(excluded) if where is not None else None
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates, where=condition)
        conn.execute(stmt, list(part))
