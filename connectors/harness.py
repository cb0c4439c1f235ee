"""The pipeline's sync driver with a SQLite sink in place of Kafka: proves the connector
contract end to end without a broker.

The page loop is production's own (:func:`ecohub.pipeline.drive_pages`): state saved only after
a page is published, keys recorded for reconciliation, the run's counts and the page's cursor
committed in one transaction; only the publishing step differs (raw records into the sink
instead of normalized events into Kafka). The integration and acceptance tests drive the
connectors through it, in process and in a subprocess they kill with SIGKILL; it is also the
quickest way to try a connector by hand::

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
from collections.abc import Iterable
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
from connectors.toolkit.connector import Connector
from ecohub.landing import Landing
from ecohub.pipeline import Page, StreamReport, drive_pages, resume_report
from ecohub.records import SourceRecord
from ecohub.settings import load_settings
from ecohub.warehouse import init_db

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
    """Read one stream (then reconcile it) through the pipeline's page loop, publishing each
    page into the sink before its state, keys and counts are committed."""
    portal, sink = connector.portal, Sink(engine)
    init_db(engine)  # cursor state, key sets and run counts live in the warehouse tables
    start = connector.http.request_count

    def publish_page(batch: Page, report: StreamReport) -> None:
        sink.publish(portal, stream, batch.records, run_id)  # "acknowledged by Kafka"
        report.fetched += len(batch.records)
        report.published += len(batch.records)
        report.deletes += sum(r.deleted for r in batch.records)

    report = drive_pages(
        connector,
        stream,
        resume_report(engine, portal, stream, run_id),
        engine=engine,
        landing=landing,
        publish_page=publish_page,
        reconcile_deletes=reconcile,
    )
    return SyncReport(
        portal,
        stream,
        run_id,
        pages=report.pages,
        records=report.fetched,
        deletes=report.deletes,
        requests=connector.http.request_count - start,
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
