"""A minimal sync driver: read a stream, "publish" into a SQLite sink, save state per batch.

Why it exists: the connector contract (state saved only after a batch is published, keys
recorded for reconciliation) can be proven end to end without Kafka. The integration and
acceptance tests drive the connectors through it, in process and in a subprocess they kill
with SIGKILL; it is also the quickest way to try a connector by hand::

    ECOHUB_TECHPORT__BASE_URL=http://127.0.0.1:8102 \\
        python -m connectors.harness techport technologies --db sqlite:///var/harness.db

The sink keeps the latest version of every key and counts how often each version was
published, so a test can assert "none missing, none duplicated".
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)
from sqlalchemy.dialects.sqlite import insert

from connectors.registry import get_connector
from connectors.toolkit.connector import Batch, Connector
from connectors.toolkit.state import KeyStore, StateStore
from ecohub.landing import Landing
from ecohub.records import SourceRecord
from ecohub.settings import load_settings

__all__ = ["Sink", "SinkRow", "SyncReport", "main", "sync"]

_sink_metadata = MetaData()
_latest = Table(
    "harness_latest",
    _sink_metadata,
    Column("portal", String(20), primary_key=True),
    Column("stream", String(80), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("cursor", String(64)),
    Column("version", String(64)),
    Column("deleted", Boolean, nullable=False),
    Column("run_id", String(120), nullable=False),
)
_published = Table(
    "harness_published",
    _sink_metadata,
    Column("portal", String(20), primary_key=True),
    Column("stream", String(80), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("version", String(80), primary_key=True),
    Column("times", Integer, nullable=False),
)
VERSION_FIELDS = ("version", "phien_ban", "revision")
_UPSERT_LATEST = insert(_latest).on_conflict_do_update(
    index_elements=["portal", "stream", "key"],
    set_={c: insert(_latest).excluded[c] for c in ("cursor", "version", "deleted", "run_id")},
)
_COUNT_PUBLISHED = insert(_published).on_conflict_do_update(
    index_elements=["portal", "stream", "key", "version"],
    set_={"times": _published.c.times + 1},
)


def version_of(record: SourceRecord) -> str:
    """The record's version field if it has one, else its cursor; deletes end in ``|deleted``."""
    found = next((record.data[f] for f in VERSION_FIELDS if f in record.data), None)
    version = str(found) if found is not None and not record.deleted else str(record.cursor or "")
    return f"{version}|deleted" if record.deleted else version


@dataclass(frozen=True)
class SinkRow:
    key: str
    cursor: str | None
    version: str | None
    deleted: bool


class Sink:
    """SQLite tables standing in for the Kafka topics."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("the harness sink is SQLite only")
        self.engine = engine
        _sink_metadata.create_all(engine)

    def publish(
        self, portal: str, stream: str, records: Iterable[SourceRecord], run_id: str
    ) -> None:
        latest, counts = [], []
        for r in records:
            version = version_of(r)
            latest.append(
                {
                    "portal": portal,
                    "stream": stream,
                    "key": r.key,
                    "cursor": r.cursor,
                    "version": version.removesuffix("|deleted"),
                    "deleted": r.deleted,
                    "run_id": run_id,
                }
            )
            counts.append(
                {"portal": portal, "stream": stream, "key": r.key, "version": version, "times": 1}
            )
        if not latest:
            return
        with self.engine.begin() as conn:  # executemany: one compiled statement per table
            conn.execute(_UPSERT_LATEST, latest)
            conn.execute(_COUNT_PUBLISHED, counts)

    def rows(self, portal: str, stream: str) -> dict[str, SinkRow]:
        query = select(_latest).where(_latest.c.portal == portal, _latest.c.stream == stream)
        with self.engine.connect() as conn:
            return {
                r.key: SinkRow(r.key, r.cursor, r.version, r.deleted) for r in conn.execute(query)
            }

    def duplicates(self, portal: str, stream: str) -> dict[tuple[str, str], int]:
        """(key, version) published more than once."""
        query = select(_published).where(
            _published.c.portal == portal, _published.c.stream == stream, _published.c.times > 1
        )
        with self.engine.connect() as conn:
            return {(r.key, r.version): r.times for r in conn.execute(query)}


@dataclass
class SyncReport:
    portal: str
    stream: str
    run_id: str
    pages: int = 0
    records: int = 0
    deletes: int = 0
    requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def sync(
    connector: Connector,
    stream: str,
    *,
    engine: Engine,
    landing: Landing,
    run_id: str,
    reconcile: bool = True,
) -> SyncReport:
    """Read one stream (then reconcile it), publishing each batch before saving its state."""
    portal, sink = connector.portal, Sink(engine)
    states, keys = StateStore(engine), KeyStore(engine)
    report = SyncReport(portal, stream, run_id)
    start = connector.http.request_count
    for batch in _batches(connector, stream, states, keys, run_id, landing, reconcile):
        sink.publish(portal, stream, batch.records, run_id)  # "acknowledged by Kafka"
        keys.apply(portal, stream, batch.records, run_id)
        states.save(portal, stream, batch.state)  # only now may the state move
        report.pages += 1
        report.records += len(batch.records)
        report.deletes += sum(r.deleted for r in batch.records)
    report.requests = connector.http.request_count - start
    return report


def _batches(
    connector: Connector,
    stream: str,
    states: StateStore,
    keys: KeyStore,
    run_id: str,
    landing: Landing,
    reconcile: bool,
) -> Iterator[Batch]:
    portal = connector.portal
    yield from connector.read(
        stream, state=states.get(portal, stream), run_id=run_id, landing=landing
    )
    if reconcile:
        yield from connector.reconcile_deletes(
            stream, run_id=run_id, landing=landing, known_keys=keys.keys(portal, stream)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.harness", description=__doc__)
    parser.add_argument("portal")
    parser.add_argument("streams", nargs="*", help="default: every stream of the portal")
    parser.add_argument("--db", required=True, help="SQLite URL of state, keys and sink")
    parser.add_argument("--run-id", default="harness-run")
    parser.add_argument("--no-reconcile", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    connector = get_connector(args.portal, settings)
    engine = create_engine(args.db)
    landing = Landing.from_settings(settings)
    for stream in args.streams or connector.stream_names:
        report = sync(
            connector,
            stream,
            engine=engine,
            landing=landing,
            run_id=args.run_id,
            reconcile=not args.no_reconcile,
        )
        print(json.dumps(report.__dict__, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
