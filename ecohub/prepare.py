"""Normalize, check and encode a page's records into the messages to send, in worker processes.

Why: a sync's CPU is mostly mapping records (text cleaning, names, dates, money), checking each
event (JSON Schema, the clear-PII scan) and encoding it; none of it needs the portal, the
producer or the warehouse. :class:`PagePreparer` runs that work for the next pages in a small
process pool while the main process fetches, lands, sends and commits, so a sync uses both
cores instead of one thread under the GIL. Results come back in page order, at most
``depth`` pages ahead (memory stays bounded), and the page transaction of
:func:`ecohub.pipeline.drive_pages` is untouched: a page's cursor still moves only after its
messages are flushed. The check is the same code in a worker as in process (workers=0): same
schemas, same PII scan, same deterministic event ids.

A page may also come unread (:class:`DeferredPage`, e.g. a landed page of a replay): the worker
then reads its records itself, so parsing is done where the records are used, once, and the
records never travel between processes (only the encoded messages come back).

Workers are forked from a ``forkserver`` (a clean, single-threaded process that has imported
the mappers once): forking the sync process itself, which runs the prefetch and Kafka sender
threads, could copy a lock held by one of them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ecohub.errors import DataQualityError, SchemaValidationError
from ecohub.kafka import EventEncoder, OutMessage
from ecohub.normalize import normalize
from ecohub.portals import PortalSpec, adopt_portals, portal_specs
from ecohub.records import CanonicalRecord, SourceRecord

__all__ = [
    "DeferredPage",
    "PagePreparer",
    "RecordOutcome",
    "default_workers",
    "normalize_checked",
    "prepare_records",
]

log = logging.getLogger(__name__)
_PRELOAD = ["ecohub.prepare", "ecohub.normalize.registry"]
_MIN_RECORDS_FOR_POOL = 2  # a page of one record (a webhook, a tiny increment) stays in process


class Checker(Protocol):
    def problem(self, rec: CanonicalRecord) -> tuple[str, str] | None: ...


class RecordOutcome(NamedTuple):
    """What became of one source record: its messages (events and restricted values, or the
    one dead-letter message), the dead-letter reason (``None`` when published), the entity
    types of its events, and whether the record was a delete."""

    messages: list[OutMessage]
    dead_letter_reason: str | None
    entity_types: list[str]
    deleted: bool = False


@runtime_checkable
class DeferredPage(Protocol):
    """A page whose records are read by whoever prepares them (a worker): it pickles small
    (e.g. a landed page's compressed bytes) and :meth:`load` parses it there. ``load`` gives
    ``None`` for a page that carries no records."""

    def load(self) -> list[SourceRecord] | None: ...


def normalize_checked(record: SourceRecord, pii_key: bytes, checker: Checker) -> list[
        CanonicalRecord]:
    """Normalize one record and check every entity's event (schema, no clear PII), or raise
    with the reason: a record is published whole or dead-lettered whole."""
    entities = normalize(record, pii_key=pii_key)
    if not entities:
        raise DataQualityError("normalization produced no entity", ref=record.ref)
    for entity in entities:
        problem = checker.problem(entity)
        if problem is not None:
            stage, reason = problem
            raise SchemaValidationError(reason, entitykey=entity.entity_key, stage=stage)
    return entities


def prepare_records(records: Sequence[SourceRecord], encoder: EventEncoder) -> list[
        RecordOutcome]:
    """The outcome of each record, in order."""
    outcomes = []
    for record in records:
        try:
            entities = normalize_checked(record, encoder.pii_key, encoder)
        except DataQualityError as exc:
            # the stage (schema, pii) and the entity key when the failure came after mapping
            stage = str(exc.context.get("stage") or "normalize")
            key = exc.context.get("entitykey")
            message = encoder.dead_letter(record, str(exc), stage=stage,
                                          entity_key=key if isinstance(key, str) else None)
            outcomes.append(RecordOutcome([message], exc.message, [], record.deleted))
            continue
        messages = [m for entity in entities for m in encoder.messages(entity)]
        outcomes.append(RecordOutcome(messages, None, [e.entity_type for e in entities],
                                      record.deleted))
    return outcomes


def _prepare_page(page: Any, encoder: EventEncoder) -> list[RecordOutcome]:
    """The outcomes of a page's records, reading them first if the page is deferred."""
    if isinstance(page, DeferredPage):
        return prepare_records(page.load() or [], encoder)
    return prepare_records(page.records, encoder)


def default_workers() -> int:
    """One worker per core beyond the main process's, at least one; none where a process may
    not have children (a daemonic process, e.g. some task runners)."""
    if multiprocessing.current_process().daemon:
        return 0
    return max(1, min(4, (os.cpu_count() or 1)))


@contextmanager
def _main_not_rerun() -> Iterator[None]:
    """While worker processes start, hide the parent's ``__main__`` file from multiprocessing.

    A forkserver (or spawn) child runs the parent's main script again before it works; a
    worker needs nothing from it (it imports this module by name). Under an Airflow task the
    main script is ``airflow``, whose import fails in a child: the task supervisor puts a
    blocked metadata-database URL in the environment, so every sync task of the DAGs died
    with BrokenProcessPool."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


# The worker process's encoder, set once by the pool's initializer.
_worker_encoder: EventEncoder | None = None


def _init_worker(encoder: EventEncoder, portals: Sequence[PortalSpec] = ()) -> None:
    """Keep the encoder, and register the parent's portals (one registered at run time, by a
    test or a plugin, is otherwise unknown to a forkserver worker)."""
    global _worker_encoder
    _worker_encoder = encoder
    adopt_portals(portals)


def _prepare_in_worker(page: Any) -> list[RecordOutcome]:
    """A page's outcomes in a worker: ``page`` is a :class:`DeferredPage` or its records."""
    assert _worker_encoder is not None, "worker started without its encoder"
    if isinstance(page, DeferredPage):
        return _prepare_page(page, _worker_encoder)
    return prepare_records(page, _worker_encoder)


class PagePreparer:
    """Prepares pages ahead of their turn in a process pool (``workers=0``: in process).

    :meth:`ahead` wraps the page iterator: it hands each page to the pool as soon as it is read
    and yields it back ``depth`` pages later, in order; :meth:`outcomes` then waits for that
    page's result. A page that did not go through :meth:`ahead` is prepared in process. The
    first page is prepared in process too, while the pool starts on the second: a run of one
    page (a small increment) forks nothing, and a longer one hides the pool's start-up. One
    preparer may serve every stream of a run (:func:`ecohub.pipeline.sync`): one pool.
    ``preload``: modules the workers need beyond the mappers (the parsers of deferred pages),
    imported once in the forkserver rather than in every worker of every pool; it takes
    effect when this process starts its forkserver (its first pool).
    """

    def __init__(self, encoder: EventEncoder, *, workers: int, depth: int | None = None,
                 preload: Sequence[str] = ()) -> None:
        self.encoder, self.workers = encoder, workers
        self.preload = [*_PRELOAD, *preload]
        self.depth = depth if depth is not None else max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[int, Future[list[RecordOutcome]]] = {}
        self._pages = 0

    def ahead(self, pages: Iterable[Any]) -> Iterator[Any]:
        """``pages`` in order, each already submitted to the pool, ``depth`` pages ahead."""
        pending: deque[Any] = deque()
        try:
            for page in pages:
                self._submit(page)
                pending.append(page)
                if len(pending) > self.depth:
                    yield pending.popleft()
            while pending:
                yield pending.popleft()
        finally:
            for page in pending:  # not published: its work is dropped, nothing was sent
                future = self._futures.pop(id(page), None)
                if future is not None:
                    future.cancel()

    def outcomes(self, page: Any) -> list[RecordOutcome]:
        """The outcome of each record of ``page``, in order (an error of the mapping code is
        raised here, as it would be in process)."""
        future = self._futures.pop(id(page), None)
        if future is None:
            return _prepare_page(page, self.encoder)
        return future.result()

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> PagePreparer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _submit(self, page: Any) -> None:
        self._pages += 1
        if self.workers <= 0 or self._pages == 1:
            return
        work: Any = page  # a deferred page travels as itself, unread
        if not isinstance(page, DeferredPage):
            work = list(page.records)
            if len(work) < _MIN_RECORDS_FOR_POOL:
                return
        with _main_not_rerun():  # the pool starts its processes here, on demand
            self._futures[id(page)] = self._executor().submit(_prepare_in_worker, work)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(self.preload)
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker,
                initargs=(self.encoder, portal_specs()),
            )
            log.debug("started %d normalization worker(s)", self.workers)
        return self._pool
