"""Durable sync state and the key sets used for delete reconciliation, in the warehouse DB.

Why in the warehouse database: the state must survive the worker (Airflow tasks run anywhere)
and must be as durable as the data it describes. The pipeline saves a batch's state only after
the batch's events are acknowledged by Kafka, so a crash re-reads at most one page.

Both tables are declared with the warehouse's (:mod:`ecohub.warehouse.tables`, one migration
history) and are created here on first use if missing, so a connector also works against a
fresh SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ecohub.db import metadata
from ecohub.warehouse.tables import source_keys, sync_state

__all__ = ["KeyStore", "StateStore"]

_CHUNK = 500


@contextmanager
def _joined(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """``conn`` when the caller has a transaction open, else a transaction of our own."""
    if conn is not None:
        yield conn
        return
    with engine.begin() as own:
        yield own


def _now() -> datetime:
    """Naive UTC, as the baseline migration declares ``updated_at`` without a time zone."""
    return datetime.now(UTC).replace(tzinfo=None)


class StateStore:
    """``get``/``save`` the JSON state of one (portal, stream)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine, tables=[sync_state], checkfirst=True)

    def get(self, portal: str, stream: str) -> dict[str, Any] | None:
        query = select(sync_state.c.state).where(
            and_(sync_state.c.portal == portal, sync_state.c.stream == stream)
        )
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return None if value is None else dict(value)

    def save(
        self, portal: str, stream: str, state: dict[str, Any], *, conn: Connection | None = None
    ) -> None:
        """Store ``state``; an empty dict (replays, bare reconciliation) changes nothing.

        With ``conn`` the write joins the caller's transaction (the pipeline commits a page's
        cursor together with the page's reconciliation counts)."""
        if not state:
            return
        if conn is None:
            with self.engine.begin() as own:
                self._write(own, portal, stream, state)
        else:
            self._write(conn, portal, stream, state)

    @staticmethod
    def _write(conn: Connection, portal: str, stream: str, state: dict[str, Any]) -> None:
        where = and_(sync_state.c.portal == portal, sync_state.c.stream == stream)
        values = {"state": state, "updated_at": _now()}
        done = conn.execute(update(sync_state).where(where).values(**values))
        if done.rowcount == 0:
            conn.execute(sync_state.insert().values(portal=portal, stream=stream, **values))

    def reset(self, portal: str, stream: str) -> None:
        """Forget the state: the next read is a full sync."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(sync_state).where(
                    and_(sync_state.c.portal == portal, sync_state.c.stream == stream)
                )
            )


class KeyStore:
    """The keys a stream has published, for key-set reconciliation (Techport, Stinet JSON API)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine, tables=[source_keys], checkfirst=True)

    def keys(self, portal: str, stream: str) -> set[str]:
        query = select(source_keys.c.key).where(
            and_(source_keys.c.portal == portal, source_keys.c.stream == stream)
        )
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def record(
        self, portal: str, stream: str, keys: Iterable[str], run_id: str, *,
        conn: Connection | None = None,
    ) -> None:
        """Remember ``keys`` as live, seen in ``run_id`` (call after publishing their batch).
        With ``conn`` the write joins the caller's transaction."""
        rows = [
            {"portal": portal, "stream": stream, "key": k, "last_seen_run": run_id} for k in keys
        ]
        if not rows:
            return
        with _joined(self.engine, conn) as own:
            own.execute(self._upsert(), rows)  # executemany: compiled once

    def forget(
        self, portal: str, stream: str, keys: Iterable[str], *, conn: Connection | None = None
    ) -> None:
        """Drop deleted keys (call after publishing their deletes)."""
        doomed = list(keys)
        with _joined(self.engine, conn) as own:
            for start in range(0, len(doomed), _CHUNK):
                own.execute(
                    delete(source_keys).where(
                        and_(
                            source_keys.c.portal == portal,
                            source_keys.c.stream == stream,
                            source_keys.c.key.in_(doomed[start : start + _CHUNK]),
                        )
                    )
                )

    def apply(
        self, portal: str, stream: str, records: Iterable[Any], run_id: str, *,
        conn: Connection | None = None,
    ) -> None:
        """Record live keys and forget deleted ones of a batch of ``SourceRecord``; with
        ``conn``, in the caller's transaction (the pipeline's per-page commit)."""
        live: list[str] = []
        gone: list[str] = []
        for record in records:
            (gone if record.deleted else live).append(record.key)
        if live:
            self.record(portal, stream, live, run_id, conn=conn)
        if gone:
            self.forget(portal, stream, gone, conn=conn)

    def _upsert(self) -> Any:
        dialect = self.engine.dialect.name
        module: Any = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
        if module is None:
            raise NotImplementedError(f"KeyStore has no upsert for {dialect}")
        stmt = module.insert(source_keys)
        return stmt.on_conflict_do_update(
            index_elements=[source_keys.c.portal, source_keys.c.stream, source_keys.c.key],
            set_={"last_seen_run": stmt.excluded.last_seen_run},
        )
