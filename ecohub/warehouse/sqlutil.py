"""Portable upserts: the same call on PostgreSQL and SQLite (both speak ON CONFLICT).

Every write of the loader goes through these two helpers, which is what makes loading the
same batch twice leave one copy, on either database.

Why two paths: on PostgreSQL a large write is ``COPY``-ed into a temporary table and merged
with one ``INSERT ... SELECT ... ON CONFLICT`` (set-based: one statement for the server to
plan, no per-row statement); small writes, and SQLite (in-process, where an executemany is
already cheap), use a plain multi-row ``INSERT ... ON CONFLICT``. Both paths give the same
rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, String, Table, any_, bindparam, column, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["chunks", "insert_ignore", "json_text", "one_of", "upsert"]

_CHUNK = 500
# below this many rows creating a temporary table costs more than it saves
COPY_MIN_ROWS = 64
_temp_names = itertools.count()


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    """Slices of ``items``: keeps statements under the SQLite variable limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def one_of(conn: Connection, col: Any, values: Iterable[str]) -> list[ColumnElement[bool]]:
    """Conditions ``col IN values`` (string values), as few as the database allows: one
    statement per condition, together covering every value once.

    PostgreSQL: a single ``col = ANY(:array)``, one bound parameter whatever the count. An
    ``IN`` list of 500 parameters was rendered by SQLAlchemy and re-parsed by psycopg on
    every call (too long for psycopg's statement cache): ~5 % of the loader's CPU in the
    profile of ``ecohub consume``. SQLite: ``IN`` lists of at most 500 values (its variable
    limit)."""
    items = sorted(set(values))
    if conn.dialect.name == "postgresql":
        array = bindparam(None, items, type_=postgresql.ARRAY(String))
        return [col == any_(array)] if items else []
    return [col.in_(list(part)) for part in chunks(items)]


def json_text(value: Any) -> str | None:
    """A JSON column's text as ``COPY`` sends it (orjson: ~10x ``json.dumps``).

    orjson refuses what JSON cannot hold exactly (integers past 64 bits, non-string keys):
    those go through ``json.dumps`` as the ORM path would."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, ensure_ascii=False, default=str)


def _insert(conn: Connection, table: Table) -> Any:
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"ecohub warehouse supports postgresql and sqlite, not {name}")


def _bulk(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> bool:
    return conn.dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows whose primary/unique key is new; existing keys are left untouched."""
    if _bulk(conn, rows):
        return _copy_merge(conn, table, rows, lambda stmt: stmt.on_conflict_do_nothing())
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
    staging layer only accepts a newer ``entityversion``. ``rows`` hold each key once.
    """

    def on_conflict(stmt: Any) -> Any:
        excluded = stmt.excluded
        updates = {c.name: excluded[c.name] for c in table.columns if c.name not in keys}
        condition: ColumnElement[bool] | None = where(excluded) if where is not None else None
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates,
                                          where=condition)  # fmt: skip

    if _bulk(conn, rows):
        _copy_merge(conn, table, rows, on_conflict)
        return
    for part in chunks(rows):
        if part:
            conn.execute(on_conflict(_insert(conn, table)), list(part))


def _copy_merge(
    conn: Connection,
    target: Table,
    rows: Sequence[Mapping[str, Any]],
    on_conflict: Callable[[Any], Any],
) -> int:
    """PostgreSQL: COPY ``rows`` into a temporary copy of ``target``'s columns (types only,
    no constraints), then one ``INSERT ... SELECT`` with ``on_conflict``; returns rows written.
    The temporary table lives in the caller's transaction only."""
    names = [c.name for c in target.columns if c.name in rows[0]]
    as_json = {c.name for c in target.columns if isinstance(c.type, JSON)}
    temp = f"_ecohub_in_{target.name}_{next(_temp_names)}"
    quoted = ", ".join(f'"{n}"' for n in names)
    conn.exec_driver_sql(
        f'CREATE TEMPORARY TABLE "{temp}" ON COMMIT DROP AS '
        f'SELECT {quoted} FROM "{target.name}" WITH NO DATA'
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{temp}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([json_text(row.get(n)) if n in as_json else row.get(n)
                                for n in names])  # fmt: skip
    finally:
        cursor.close()
    source = table(temp, *[column(n) for n in names])
    stmt = on_conflict(postgresql.insert(target).from_select(names, select(*source.c)))
    written = conn.execute(stmt).rowcount or 0
    conn.exec_driver_sql(f'DROP TABLE "{temp}"')
    return written
