"""The sync job: extract -> land -> normalize -> publish, one portal stream at a time.

Why it is shaped this way: a sync is a transaction per page. A page's records are normalized
and published, the producer is flushed (acks=all), and only then is the page's cursor state
saved. A crash between two pages therefore re-reads at most one page, and the re-read events
carry the same deterministic ids, so downstream de-duplication absorbs them.

Every source record ends in exactly one of two places, counted per run: published (all of its
canonical events accepted by Kafka) or dead-lettered (with the reason). Those counts go to the
warehouse ``runs`` table, where the loader adds loaded + quarantined for reconciliation.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from connectors import KeyStore, StateStore, get_connector
from connectors.replay import landed_pages
from ecohub.db import get_engine
from ecohub.kafka import EventEncoder, Publisher, ensure_topics
from ecohub.landing import Landing
from ecohub.lineage import traced_replay, traced_sync
from ecohub.prepare import DeferredPage, PagePreparer, default_workers
from ecohub.records import SourceRecord
from ecohub.settings import Settings, load_settings
from ecohub.warehouse import init_db
from ecohub.warehouse.runs import extract_counts, record_extract

__all__ = [
    "Page",
    "PublishPage",
    "StreamReport",
    "drive_pages",
    "kafka_page_publisher",
    "new_run_id",
    "prefetched",
    "publish_batches",
    "replay",
    "replay_streams",
    "resume_report",
    "sync",
    "sync_stream",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
_REPLAY_READ_AHEAD = 4  # landed pages read ahead of the workers: file reads, no parsing
_REPLAY_FLUSH_AFTER = 5_000  # messages a replay sends between two waits for the broker
_DONE = object()


class Page(Protocol):
    """One page of a stream: its source records and the cursor state after it."""

    @property
    def records(self) -> list[SourceRecord]: ...
    @property
    def state(self) -> dict[str, Any]: ...


@dataclass
class StreamReport:
    """What one run did to one stream; ``fetched == published + dead_lettered`` always."""

    portal: str
    stream: str
    run_id: str
    pages: int = 0
    fetched: int = 0
    published: int = 0
    dead_lettered: int = 0
    deletes: int = 0
    events: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    total: int | None = None  # records in the listing, when the portal says (progress only)
    started: float = field(default_factory=time.monotonic)

    @property
    def balanced(self) -> bool:
        return self.fetched == self.published + self.dead_lettered

    def as_dict(self) -> dict[str, Any]:
        return {
            "portal": self.portal,
            "stream": self.stream,
            "run_id": self.run_id,
            "pages": self.pages,
            "fetched": self.fetched,
            "published": self.published,
            "dead_lettered": self.dead_lettered,
            "deletes": self.deletes,
            "events": self.events,
            "events_by_type": dict(self.events_by_type),
        }


def new_run_id(portal: str, when: datetime | None = None) -> str:
    """A sortable, unique run id: ``techport-20260130T101500Z-1a2b3c4d``."""
    when = when or datetime.now(UTC)
    return f"{portal}-{when.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


PublishPage = Callable[[Page, StreamReport], None]
"""Publishes one page durably (returns only when every record is acknowledged or
dead-lettered) and counts it into the report: ``fetched``, ``published``, ``dead_lettered``,
``deletes``, ``events``."""


def kafka_page_publisher(
    settings: Settings, publisher: Any, preparer: PagePreparer | None = None, *,
    flush_after: int = 0,
) -> Callable[[Page | DeferredPage, StreamReport], None]:
    """The production :data:`PublishPage`: each record's messages (its events, or its
    dead-letter entry) as ``preparer`` built them, sent; then the producer flushed (acks=all).

    ``preparer`` (default: in process) normalizes, checks and encodes the records; pages that
    went through its :meth:`~ecohub.prepare.PagePreparer.ahead` were prepared in workers.
    ``flush_after=N`` (a replay: no cursor waits on a page) flushes only once N messages were
    sent since the last flush, so the next pages go out meanwhile instead of waiting one round
    trip per page; the publisher's ``close`` flushes the rest and raises what failed. N bounds
    what the publisher holds until a flush (memory stays flat)."""
    prepare = preparer or PagePreparer(publisher.encoder, workers=0)
    unflushed = 0

    def publish_page(batch: Page | DeferredPage, report: StreamReport) -> None:
        nonlocal unflushed
        for outcome in prepare.outcomes(batch):  # one per record, in order
            unflushed += len(outcome.messages)
            report.fetched += 1
            report.deletes += outcome.deleted
            for message in outcome.messages:
                publisher.send(message)
            if outcome.dead_letter_reason is not None:
                report.dead_lettered += 1
                report.dead_letter_reasons[outcome.dead_letter_reason] += 1
                continue
            report.events += len(outcome.entity_types)
            report.events_by_type.update(outcome.entity_types)
            report.published += 1
        if unflushed >= flush_after:
            publisher.flush()
            unflushed = 0

    return publish_page


def publish_batches(
    batches: Iterable[Page] | Iterable[DeferredPage],
    report: StreamReport,
    *,
    settings: Settings,
    publisher: Any,
    on_batch_published: Any = None,
    preparer: PagePreparer | None = None,
    flush_after: int = 0,
) -> StreamReport:
    """Normalize and publish each batch; call ``on_batch_published(batch)`` after each flush
    (after each page's sends with ``flush_after``: see :func:`kafka_page_publisher`). With a
    ``preparer``, batches are prepared in its workers ahead of their turn."""
    publish_page = kafka_page_publisher(settings, publisher, preparer, flush_after=flush_after)
    pages = preparer.ahead(batches) if preparer is not None else batches
    for batch in pages:
        report.pages += 1
        publish_page(batch, report)
        if on_batch_published is not None:
            on_batch_published(batch)
    return report


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """``items`` read ahead by a background thread, at most ``depth`` ahead of the consumer.

    Why: a page's HTTP round trip, landing upload and parsing wait on the network most of the
    time; reading the next pages while this one is normalized and published overlaps that
    wait with CPU work. Order, laziness past ``depth`` and errors are kept: an exception of
    the reader is raised here, at the item where it happened. Closing this iterator stops the
    reader (and closes ``items``) after at most the item it is reading.
    """
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        source = iter(items)
        try:
            for item in source:
                ahead.put((item, None))
                if stop.is_set():
                    break
            ahead.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            ahead.put((_DONE, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="ecohub-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item, error = ahead.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            try:
                ahead.get(timeout=0.1)
            except queue.Empty:
                pass
        reader.join()


def drive_pages(
    connector: Any,
    stream: str,
    report: StreamReport,
    *,
    engine: Any,
    landing: Landing,
    publish_page: PublishPage,
    full_refresh: bool = False,
    reconcile_deletes: bool = False,
    progress: Callable[[StreamReport], None] | None = None,
    ahead: Callable[[Iterable[Page]], Iterable[Page]] | None = None,
) -> StreamReport:
    """The one sync driver: read the stream's pages from the saved cursor (then, when asked,
    key-set reconciliation), publish each page with ``publish_page``, and only then commit the
    page's live keys, the run's counts and the page's cursor (:func:`_commit_batch`).

    :func:`sync_stream` drives it with the Kafka publisher; ``connectors.harness`` with a
    SQLite sink, so the connector tests prove the contract production runs. ``engine`` holds
    the cursor state, the key sets and the run counts (warehouse tables, :func:`init_db`).
    ``ahead`` (:meth:`PagePreparer.ahead`) starts work on pages before their turn and yields
    them back in order."""
    states, keys = StateStore(engine), _key_store(connector, stream, engine)
    state = None if full_refresh else states.get(report.portal, stream)
    batches: Iterable[Page] = prefetched(  # the next pages are read while this one is published
        _read(connector, stream, state, report.run_id, landing, engine, reconcile_deletes)
    )
    if ahead is not None:
        batches = ahead(batches)
    for batch in batches:
        report.pages += 1
        publish_page(batch, report)
        _commit_batch(engine, states, keys, batch, report, progress)
    return report


def _key_store(connector: Any, stream: str, engine: Any) -> KeyStore | None:
    """Where a page's live keys go: only streams without a delete signal are reconciled by
    key set (:meth:`~connectors.toolkit.connector.Connector.reconcile_deletes`), so only they
    keep one. Stinet's 150k documents announce their deletes inline: remembering their keys
    was ~10 % of the sync's main-process time and never read."""
    return KeyStore(engine) if connector.stream(stream).deletes == "reconcile" else None


def _workers(settings: Settings) -> int:
    """Normalization worker processes: the setting, else one per core (none where this
    process may not have children)."""
    configured = settings.normalize_workers
    return default_workers() if configured is None else configured


def _warehouse(settings: Settings) -> Engine:
    """The warehouse engine, migrated: built once per entry point and passed down."""
    engine = get_engine(settings.warehouse_url)
    init_db(engine)
    return engine


@traced_sync
def sync_stream(
    portal: str,
    stream: str,
    *,
    run_id: str,
    settings: Settings | None = None,
    full_refresh: bool = False,
    progress: Callable[[StreamReport], None] | None = None,
    reconcile_deletes: bool = False,
    engine: Engine | None = None,
    preparer: PagePreparer | None = None,
) -> StreamReport:
    """Incrementally sync one stream of one portal and record its extract counts.

    ``reconcile_deletes`` adds, for portals without a delete signal (Techport), a full key-set
    listing that emits deletes for vanished keys. It reads every key, so it runs on its own
    (daily) schedule rather than with each incremental sync.

    ``progress`` is called with the running report after each published page (the CLI draws
    its progress line from it). ``engine``: the migrated warehouse, and ``preparer``: the
    normalization workers of the run, when the caller has them (:func:`sync` builds both once
    for all streams)."""
    settings = settings or load_settings()
    engine = engine or _warehouse(settings)
    connector = get_connector(portal, settings)
    report = resume_report(engine, portal, stream, run_id)
    publisher = Publisher(settings, run_id=run_id)
    own = preparer is None
    preparer = preparer or PagePreparer(publisher.encoder, workers=_workers(settings))
    try:
        drive_pages(
            connector,
            stream,
            report,
            engine=engine,
            landing=Landing.from_settings(settings),
            publish_page=kafka_page_publisher(settings, publisher, preparer),
            full_refresh=full_refresh,
            reconcile_deletes=reconcile_deletes,
            progress=progress,
            ahead=preparer.ahead,
        )
    finally:
        if own:
            preparer.close()
        publisher.close()
    record_extract(engine, **_extract_row(report))  # also a run that read no page
    log.info("sync %s/%s run %s: %s", portal, stream, run_id, report.as_dict())
    return report


def _commit_batch(
    engine: Any,
    states: Any,
    keys: KeyStore | None,
    batch: Page,
    report: StreamReport,
    progress: Callable[[StreamReport], None] | None,
) -> None:
    """After a page is safely in Kafka: its live keys (``keys``: streams reconciled by key
    set), the run's counts so far and the page's cursor, in one transaction, so a crash can
    neither lose the page from reconciliation nor count it twice (one commit per page)."""
    report.total = (batch.state.get("progress") or {}).get("total") or report.total
    with engine.begin() as conn:
        if keys is not None:
            keys.apply(report.portal, report.stream, batch.records, report.run_id, conn=conn)
        record_extract(conn, **_extract_row(report))
        states.save(report.portal, report.stream, batch.state, conn=conn)
    if progress is not None:
        progress(report)


def _extract_row(report: StreamReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "portal": report.portal,
        "stream": report.stream,
        "fetched": report.fetched,
        "published": report.published,
        "dead_lettered": report.dead_lettered,
        "events": report.events,
    }


def resume_report(engine: Any, portal: str, stream: str, run_id: str) -> StreamReport:
    """A retried task (same run id) continues the counts its earlier attempts committed."""
    report = StreamReport(portal, stream, run_id)
    for name, value in (extract_counts(engine, run_id, stream) or {}).items():
        setattr(report, name, value)
    return report


def _read(
    connector: Any,
    stream: str,
    state: Any,
    run_id: str,
    landing: Landing,
    engine: Any,
    reconcile_deletes: bool,
) -> Iterator[Page]:
    """The stream's pages, then (when asked, for portals without a delete signal) key-set
    reconciliation."""
    yield from connector.read(stream, state=state, run_id=run_id, landing=landing)
    if reconcile_deletes and getattr(connector, "needs_key_reconciliation", False):
        keys = KeyStore(engine)
        yield from connector.reconcile_deletes(
            stream, run_id=run_id, landing=landing, known_keys=keys.keys(connector.portal, stream)
        )


def sync(
    portal: str,
    streams: list[str] | None = None,
    *,
    run_id: str | None = None,
    settings: Settings | None = None,
    full_refresh: bool = False,
    progress: Callable[[StreamReport], None] | None = None,
    reconcile_deletes: bool = False,
) -> list[StreamReport]:
    """Sync every (or the named) stream of a portal under one run id."""
    settings = settings or load_settings()
    ensure_topics(settings)
    engine = _warehouse(settings)
    run_id = run_id or new_run_id(portal)
    names = streams or get_connector(portal, settings).stream_names
    encoder = EventEncoder.from_settings(settings, run_id)
    with PagePreparer(encoder, workers=_workers(settings)) as preparer:  # one pool, all streams
        return [
            sync_stream(
                portal,
                s,
                run_id=run_id,
                settings=settings,
                full_refresh=full_refresh,
                progress=progress,
                reconcile_deletes=reconcile_deletes,
                engine=engine,
                preparer=preparer,
            )
            for s in names
        ]


@traced_replay
def replay(
    portal: str,
    stream: str,
    *,
    source_run_id: str | None = None,
    date_from: Any = None,
    date_to: Any = None,
    settings: Settings | None = None,
    run_id: str | None = None,
    preparer: PagePreparer | None = None,
) -> StreamReport:
    """Rebuild and republish events from the raw landing zone, without calling the portal.

    The main process only reads the landed files (ahead, in a thread) and sends; each page is
    parsed, normalized, checked and encoded in a worker (:class:`~ecohub.prepare.PagePreparer`
    with the pages unparsed: :func:`connectors.replay.landed_pages`). ``pages`` counts every
    landed page read, a key listing without records included. ``run_id`` and ``preparer``:
    those of a replay of several streams (:func:`replay_streams`), whose workers were built
    for that run id."""
    settings = settings or load_settings()
    ensure_topics(settings)
    run_id = run_id or new_run_id(f"replay-{portal}")
    report = StreamReport(portal, stream, run_id)
    landing = Landing.from_settings(settings)
    batches = prefetched(
        landed_pages(
            landing,
            portal=portal,
            stream=stream,
            run_id=source_run_id,
            date_from=date_from,
            date_to=date_to,
            settings=settings,  # the caller's, never a fresh read of the process environment
        ),
        depth=_REPLAY_READ_AHEAD,
    )
    publisher = Publisher(settings, run_id=run_id)
    own = preparer is None
    preparer = preparer or _replay_preparer(publisher.encoder, settings)
    try:
        publish_batches(batches, report, settings=settings, publisher=publisher,
                        preparer=preparer, flush_after=_REPLAY_FLUSH_AFTER)
    finally:
        if own:
            preparer.close()
        publisher.close()  # waits for every acknowledgement; raises if one failed
    record_extract(_warehouse(settings), **_extract_row(report))
    return report


def replay_streams(
    portal: str,
    streams: list[str] | None = None,
    *,
    source_run_id: str | None = None,
    date_from: Any = None,
    date_to: Any = None,
    settings: Settings | None = None,
) -> list[StreamReport]:
    """Replay every (or the named) stream of a portal under one run id and one worker pool
    (as :func:`sync` does), rather than a pool per stream."""
    settings = settings or load_settings()
    run_id = new_run_id(f"replay-{portal}")
    names = streams or get_connector(portal, settings).stream_names
    encoder = EventEncoder.from_settings(settings, run_id)
    with _replay_preparer(encoder, settings) as preparer:
        return [
            replay(portal, s, source_run_id=source_run_id, date_from=date_from,
                   date_to=date_to, settings=settings, run_id=run_id, preparer=preparer)
            for s in names
        ]


def _replay_preparer(encoder: EventEncoder, settings: Settings) -> PagePreparer:
    """Workers that also parse the landed pages (their parsers imported once, before fork)."""
    return PagePreparer(encoder, workers=_workers(settings), preload=["connectors.replay"])
