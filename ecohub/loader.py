"""The loader: Kafka entity topics -> quality gate -> warehouse, with an exactly-once effect.

How a micro-batch travels (see ``docs/warehouse.md``):

1. messages already applied (offset below the position stored in the warehouse) are skipped;
2. each message is decoded; identical copies are folded; events are validated per entity type
   with Great Expectations (:func:`ecohub.quality.validate_events`);
3. failing rows are published to the quarantine topic with the names of their failed
   expectations (flushed, acks=all);
4. one database transaction writes the passing rows (history + staging), the quarantine rows,
   one receipt per message, and the next offsets;
5. Kafka's committed offsets are refreshed as a hint.

A crash anywhere before step 4 commits re-processes the batch (step 3 may then publish a
quarantine message twice: keyed by event id, consumers de-duplicate); a crash after step 4
re-reads nothing because the consumer seeks to the stored offsets on assignment. Every write
is keyed (event id, message coordinates), so replaying all topics from the beginning changes
nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import connection as mp_connection
from multiprocessing.connection import Connection
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from ecohub import errors, kafka
from ecohub.db import get_engine
from ecohub.errors import EcohubError, FatalError, LoadIncomplete, ServiceUnavailable
from ecohub.events import content_hash, upgrade_envelope
from ecohub.lineage import traced_load
from ecohub.portals import PortalSpec, adopt_portals, portal_specs
from ecohub.prepare import _main_not_rerun
from ecohub.quality import validate_events
from ecohub.secrets import install_log_masking
from ecohub.settings import Settings, secret_values
from ecohub.warehouse import init_db
from ecohub.warehouse.history import apply_events
from ecohub.warehouse.offsets import stored_offsets, write_offsets
from ecohub.warehouse.sqlutil import insert_ignore, one_of
from ecohub.warehouse.tables import entity_version, load_receipts, quarantine

__all__ = [
    "BatchResult",
    "LoadStats",
    "Message",
    "QuarantineItem",
    "consume",
    "default_workers",
    "lag",
    "process_batch",
    "quarantine_topic",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_NOT_JSON = "envelope.value_is_json_object"
CONFLICT = "envelope.id.conflicting_duplicate"
REJECTED = "warehouse.accepts_row"


@dataclass(frozen=True)
class Message:
    """One consumed Kafka message, independent of the client library."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name and value is not None:
                return value.decode("utf-8", "replace")
        return None


@dataclass(frozen=True)
class QuarantineItem:
    """A message that failed the quality gate and the expectations it failed."""

    message: Message
    expectations: tuple[str, ...]
    event: Mapping[str, Any] | None

    def as_topic_value(self) -> dict[str, Any]:
        """The quarantine-topic message (``schemas/quarantine.v1.json``) plus coordinates."""
        m = self.message
        event = self.event if self.event is not None else {"raw": _raw_text(m.value)}
        runid = (self.event or {}).get("runid") or m.header("run_id") or "unknown"
        return {
            "expectations": list(self.expectations),
            "runid": str(runid),
            "event": event,
            "topic": m.topic,
            "partition": m.partition,
            "offset": m.offset,
        }

    @property
    def kafka_key(self) -> bytes:
        """The event's entitykey (as on the entity topics), else the message coordinates."""
        key = (self.event or {}).get("entitykey")
        if isinstance(key, str) and key:
            return key.encode()
        m = self.message
        return f"{m.topic}:{m.partition}:{m.offset}".encode()


@dataclass
class BatchResult:
    """What one micro-batch did."""

    messages: int = 0
    skipped: int = 0
    loaded: int = 0
    quarantined: int = 0
    absorbed: int = 0
    by_entity: Counter[str] = field(default_factory=Counter)
    failed_by_expectation: Counter[str] = field(default_factory=Counter)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    quarantine: list[QuarantineItem] = field(default_factory=list)


@dataclass
class LoadStats:
    """Totals of one :func:`consume` call."""

    batches: int = 0
    messages: int = 0
    skipped: int = 0
    loaded: int = 0
    quarantined: int = 0
    absorbed: int = 0
    by_entity: Counter[str] = field(default_factory=Counter)
    failed_by_expectation: Counter[str] = field(default_factory=Counter)

    def add(self, batch: BatchResult) -> None:
        """Count one loaded batch."""
        self._sum(batch, batches=1)

    def merge(self, other: LoadStats) -> None:
        """Add another member's totals (``consume --workers``)."""
        self._sum(other, batches=other.batches)

    def _sum(self, part: BatchResult | LoadStats, *, batches: int) -> None:
        self.batches += batches
        self.messages += part.messages
        self.skipped += part.skipped
        self.loaded += part.loaded
        self.quarantined += part.quarantined
        self.absorbed += part.absorbed
        self.by_entity.update(part.by_entity)
        self.failed_by_expectation.update(part.failed_by_expectation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "messages": self.messages,
            "skipped": self.skipped,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "absorbed": self.absorbed,
            "by_entity": dict(sorted(self.by_entity.items())),
            "failed_by_expectation": dict(self.failed_by_expectation.most_common()),
        }


def quarantine_topic(settings: Settings) -> str:
    """``<prefix>.quarantine.v1`` (``ecohub.quarantine.v1`` by default)."""
    return kafka.quarantine_topic(settings.kafka.topic_prefix)


# --------------------------------------------------------------------------- one batch


def _raw_text(value: bytes | None) -> str | None:
    """Undecodable bytes and NUL (PostgreSQL text refuses it) as visible ``\\xNN`` escapes."""
    if value is None:
        return None
    return value.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _decode(message: Message) -> dict[str, Any] | None:
    if message.value is None:
        return None
    try:
        event = json.loads(message.value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    # v1 envelopes stay on compacted topics: one shape from here on (docs/events/versioning.md)
    return upgrade_envelope(event) if isinstance(event, dict) else None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Plan:
    """The verdict on every message of a batch, by its index in the batch.

    ``copies`` are re-deliveries of an event already decided (earlier in this batch or in the
    warehouse): they get a receipt with that decision but no second quarantine row.
    """

    passing: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    events: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    hashes: dict[int, str | None] = field(default_factory=dict)
    copies: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Known:
    """What the warehouse already holds under one event id: content hashes and the outcome."""

    outcome: str
    hashes: frozenset[str | None]
    expectations: tuple[str, ...] = ()


def _event_id(event: Mapping[str, Any] | None) -> str | None:
    value = (event or {}).get("id")
    return value if isinstance(value, str) and value else None


def _known_events(engine: Engine, ids: Sequence[str]) -> dict[str, _Known]:
    """Event ids already loaded (history) or quarantined, with their content hashes.

    A history row wins over quarantine rows; quarantine rows that are themselves conflicting
    duplicates do not define an id's content.
    """
    known: dict[str, _Known] = {}
    if not ids:
        return known
    ev, q = entity_version.c, quarantine.c
    quarantined: dict[str, tuple[set[str | None], tuple[str, ...]]] = {}
    with engine.connect() as conn:
        for among in one_of(conn, ev.event_id, ids):
            for event_id, digest in conn.execute(select(ev.event_id, ev.content_hash).where(among)):
                known[event_id] = _Known("loaded", frozenset({digest}))
        unloaded = [i for i in ids if i not in known]
        for among in one_of(conn, q.event_id, unloaded):
            query = select(q.event_id, q.content_hash, q.failed_expectations).where(among)
            for row in conn.execute(query):
                names: tuple[str, ...] = tuple(row.failed_expectations or ())
                if CONFLICT in names:
                    continue
                quarantined.setdefault(row.event_id, (set(), names))[0].add(row.content_hash)
    for event_id, (hashes, names) in quarantined.items():
        known.setdefault(event_id, _Known("quarantined", frozenset(hashes), names))
    return known


def _validate(messages: Sequence[Message], engine: Engine | None = None) -> _Plan:
    """Decide loaded/quarantined for every message; a re-delivered event shares one decision.

    Copies of one event (same id, same :func:`~ecohub.events.content_hash`) are absorbed
    wherever they meet: within this batch they take the decision of the first; an event the
    warehouse already holds keeps the outcome it had. Only a *conflicting* duplicate (same
    id, other content) is quarantined, as ``envelope.id.conflicting_duplicate``.
    """
    plan = _Plan()
    first_of: dict[str, int] = {}
    copy_of: dict[int, int] = {}
    primaries: list[int] = []
    for i, message in enumerate(messages):
        event = _decode(message)
        plan.events[i] = event
        if event is None:
            plan.outcome[i] = ("quarantined", (_NOT_JSON,))
            continue
        plan.hashes[i] = content_hash(event)
        event_id = _event_id(event)
        if event_id is not None and event_id in first_of:
            j = first_of[event_id]
            if plan.hashes[j] == plan.hashes[i]:
                copy_of[i] = j
            else:
                plan.outcome[i] = ("quarantined", (CONFLICT,))
            continue
        if event_id is not None:
            first_of[event_id] = i
        primaries.append(i)
    known = _known_events(engine, list(first_of)) if engine is not None else {}
    fresh: list[int] = []  # events the warehouse has not decided yet: the quality gate's
    for i in primaries:
        seen = known.get(_event_id(plan.events[i]) or "")
        if seen is None:
            fresh.append(i)
        elif None in seen.hashes or plan.hashes[i] in seen.hashes:
            plan.outcome[i] = (seen.outcome, seen.expectations)
            plan.copies.add(i)
        else:
            plan.outcome[i] = ("quarantined", (CONFLICT,))
    verdict = validate_events([plan.events[i] or {} for i in fresh])
    failed = {id(f.row): f.expectations for f in verdict.failed}
    for i in fresh:
        event = plan.events[i]
        if id(event) in failed:
            plan.outcome[i] = ("quarantined", failed[id(event)])
        else:
            plan.outcome[i] = ("loaded", ())
            plan.passing.append(event or {})
    for i, j in copy_of.items():  # copies take the decision of their first
        plan.outcome[i] = plan.outcome[j]
        plan.copies.add(i)
    return plan


def _receipt(
    message: Message, event: Mapping[str, Any] | None, outcome: str, now: datetime
) -> dict[str, Any]:
    event = event or {}
    return {
        "topic": message.topic,
        "kafka_partition": message.partition,
        "kafka_offset": message.offset,
        "event_id": _str_or_none(event.get("id")),
        "runid": _str_or_none(event.get("runid")) or message.header("run_id"),
        "entity_type": _str_or_none(event.get("entitytype")),
        "outcome": outcome,
        "received_at": now,
    }


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _quarantine_row(item: QuarantineItem, now: datetime) -> dict[str, Any]:
    event = item.event or {}
    m = item.message
    return {
        "topic": m.topic,
        "kafka_partition": m.partition,
        "kafka_offset": m.offset,
        "event_id": _str_or_none(event.get("id")),
        "runid": _str_or_none(event.get("runid")) or m.header("run_id"),
        "entity_type": _str_or_none(event.get("entitytype")),
        "entity_key": _str_or_none(event.get("entitykey")),
        "failed_expectations": list(item.expectations),
        "event": item.event,
        "raw_value": None if item.event is not None else _raw_text(m.value),
        "quarantined_at": now,
        "content_hash": content_hash(item.event) if item.event is not None else None,
    }


def _is_outage(exc: BaseException) -> bool:
    """A lost or refused database connection: the batch is retried, never blamed on a row."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | DisconnectionError)


def _rejected_rows(engine: Engine, events: Sequence[dict[str, Any]]) -> set[int]:
    """Events the warehouse refuses on their own (tried one by one, rolled back): a last line
    of defence so that a row the quality gate let through cannot stop a partition."""
    rejected: set[int] = set()
    for event in events:
        conn = engine.connect()
        try:
            with conn.begin() as tx:
                apply_events(conn, [event], _now())
                tx.rollback()
        except Exception as exc:
            if _is_outage(exc):
                raise
            log.warning("warehouse refuses event %s: %r", event.get("id"), exc)
            rejected.add(id(event))
        finally:
            conn.close()
    return rejected


def _write(
    engine: Engine,
    plan: _Plan,
    result: BatchResult,
    receipts: list[dict[str, Any]],
    positions: Mapping[tuple[str, int], int],
    group_id: str,
    now: datetime,
) -> None:
    with engine.begin() as conn:
        passing = {id(event) for event in plan.passing}
        hashes = {
            event["id"]: digest
            for i, event in plan.events.items()
            if id(event) in passing and event is not None
            and (digest := plan.hashes.get(i)) is not None
        }  # fmt: skip
        apply_events(conn, plan.passing, now, hashes=hashes)
        insert_ignore(conn, quarantine, [_quarantine_row(q, now) for q in result.quarantine])
        insert_ignore(conn, load_receipts, receipts)
        advanced = {k: v for k, v in result.next_offsets.items() if v > positions.get(k, 0)}
        write_offsets(conn, group_id, advanced)


def _reject(plan: _Plan, rejected: set[int]) -> None:
    """Turn passing events the warehouse refused into quarantined ones (and their copies)."""
    ids = {_event_id(e) for e in plan.passing if id(e) in rejected}
    plan.passing = [e for e in plan.passing if id(e) not in rejected]
    for i, event in plan.events.items():
        if id(event) in rejected or (
            i in plan.copies and plan.outcome[i][0] == "loaded" and _event_id(event) in ids
        ):
            plan.outcome[i] = ("quarantined", (REJECTED,))


def process_batch(
    engine: Engine,
    messages: Sequence[Message],
    *,
    group_id: str,
    publish_quarantine: Callable[[Sequence[QuarantineItem]], None] | None = None,
) -> BatchResult:
    """Validate and load one micro-batch; rows, receipts and offsets commit together.

    ``publish_quarantine`` is called with the failing messages *before* the database commit
    (so a quarantined row is never only in the table); the loader passes a Kafka publisher.
    Re-delivered copies get a receipt but neither a second quarantine row nor a second
    quarantine message. A database *outage* propagates (the caller retries the batch); any
    other database error is pinned on the events that cause it, which are quarantined as
    ``warehouse.accepts_row`` while the rest of the batch loads.
    """
    positions = stored_offsets(engine, group_id, {(m.topic, m.partition) for m in messages})
    fresh = [m for m in messages if m.offset >= positions.get((m.topic, m.partition), 0)]
    plan = _validate(fresh, engine)
    for attempt in range(2):
        result = _result(messages, fresh, plan)
        receipts = [
            _receipt(m, plan.events[i], plan.outcome[i][0], _now()) for i, m in enumerate(fresh)
        ]
        now = _now()
        try:
            if result.quarantine and publish_quarantine is not None:
                publish_quarantine(result.quarantine)
            _write(engine, plan, result, receipts, positions, group_id, now)
            return result
        except Exception as exc:
            if attempt or _is_outage(exc) or not plan.passing:
                raise
            log.warning("batch refused by the warehouse (%r): finding the rows", exc)
            rejected = _rejected_rows(engine, plan.passing)
            if not rejected:
                raise
            _reject(plan, rejected)
    raise AssertionError("unreachable")  # pragma: no cover


def _result(messages: Sequence[Message], fresh: Sequence[Message], plan: _Plan) -> BatchResult:
    result = BatchResult(messages=len(messages), skipped=len(messages) - len(fresh))
    for m in messages:
        key = (m.topic, m.partition)
        result.next_offsets[key] = max(result.next_offsets.get(key, 0), m.offset + 1)
    for i, message in enumerate(fresh):
        outcome, names = plan.outcome[i]
        event = plan.events[i]
        result.by_entity[str((event or {}).get("entitytype", "?")) + ":" + outcome] += 1
        if i in plan.copies:
            result.absorbed += 1
        if outcome == "loaded":
            result.loaded += 1
            continue
        result.quarantined += 1
        if i not in plan.copies:
            result.failed_by_expectation.update(names)
            result.quarantine.append(
                QuarantineItem(message=message, expectations=names, event=event)
            )
    return result


# --------------------------------------------------------------------------- Kafka


class _Seeker:
    """Rebalance listener: on assignment, seek each partition to the warehouse's position."""

    def __init__(self, consumer: Any, engine: Engine, group_id: str) -> None:
        self.consumer = consumer
        self.engine = engine
        self.group_id = group_id
        self.assigned: set[Any] = set()
        self.rebalances = 0  # a batch being gathered drops what it held before a rebalance

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.rebalances += 1
        self.assigned.difference_update(revoked)

    def on_partitions_lost(self, lost: Any) -> None:
        self.rebalances += 1
        self.assigned.difference_update(lost)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.rebalances += 1
        stored_positions = stored_offsets(self.engine, self.group_id)
        for tp in assigned:
            stored = stored_positions.get((tp.topic, tp.partition))
            if stored is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, stored)
        self.assigned.update(assigned)
        log.info("assigned %d partition(s); positions from the warehouse", len(assigned))


def _gather(consumer: Any, seeker: _Seeker, batch_size: int, linger_s: float,
            outages: dict[str, _Outage]) -> list[Message]:
    """One micro-batch: polls until ``batch_size`` messages are held, a poll finds nothing
    more, or ``linger_s`` passed since the first message.

    Why gather: the quality gate costs a fixed ~0.1-0.3 s per suite and GX run whatever the
    row count, so a batch of thousands costs little more than one of a hundred (one poll
    holds at most about 1 MB per partition). A rebalance while gathering re-seeks every
    assigned partition to the warehouse's position, so the messages held from before it
    are dropped: whichever member owns them now reads them again.

    The broker gone (:func:`ecohub.kafka.poll`'s ServiceUnavailable): the first poll is
    retried with backoff under ``outages`` (exit 3 past the limit); a later one ends the
    gathering with what is held, since the poll already moved past it (the next batch's first
    poll waits the outage out). Before, a refused connection in the poll ended the loader
    with exit 1 at once (the fault suite's short broker bounces during a load).
    """
    messages = _messages(_with_outages(
        outages, lambda: kafka.poll(consumer, timeout_ms=500, max_records=batch_size)))
    rebalances = seeker.rebalances  # a poll returns what it fetched after its own rebalance
    deadline = time.monotonic() + linger_s
    while messages and len(messages) < batch_size and time.monotonic() < deadline:
        try:
            more = _messages(kafka.poll(consumer, timeout_ms=100,
                                        max_records=batch_size - len(messages)))
        except ServiceUnavailable as exc:
            if seeker.rebalances != rebalances:  # the failed poll began a rejoin: not ours
                messages = []
            log.warning("kafka unavailable while gathering (%s): loading the %d held",
                        _one_line(exc), len(messages))
            break
        if seeker.rebalances != rebalances:
            rebalances, messages = seeker.rebalances, []
        if not more and messages:
            break
        messages.extend(more)
    messages.sort(key=lambda m: (m.topic, m.partition, m.offset))
    return messages


def _messages(polled: Mapping[Any, Sequence[Any]]) -> list[Message]:
    out = [
        Message(
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            value=r.value,
            key=r.key,
            headers=tuple((h[0], h[1]) for h in (r.headers or [])),
        )
        for records in polled.values()
        for r in records
    ]
    out.sort(key=lambda m: (m.topic, m.partition, m.offset))
    return out


def _quarantine_publisher(
    settings: Settings,
) -> tuple[Any, Callable[[Sequence[QuarantineItem]], None]]:
    producer = kafka.producer(settings, client_id="ecohub-loader-quarantine", role="loader")
    topic = quarantine_topic(settings)

    def publish(items: Sequence[QuarantineItem]) -> None:
        messages = [
            (
                item.kafka_key,
                json.dumps(item.as_topic_value(), ensure_ascii=False, default=str).encode(),
                [("failed_expectations", ",".join(item.expectations).encode())],
            )
            for item in items
        ]
        kafka.send_and_flush(producer, topic, messages, what="the quarantine messages")

    return producer, publish


# Messages per micro-batch (one quality-gate pass, one warehouse transaction) and how long
# to keep polling to fill one: large batches spread the gate's fixed cost per GX run.
BATCH_SIZE = 5_000
LINGER_S = 1.0

# A dead loader's partitions go to the next member after this long without heartbeats; the
# broker's group.min.session.timeout.ms (default 6 s) is the floor.
SESSION_TIMEOUT_MS = 10_000
HEARTBEAT_INTERVAL_MS = 3_000
# The rebalance timeout: a member killed while its JoinGroup was pending holds a rebalance
# this long (the coordinator does not expire a joining member's session), so the next loader
# waits for it. kafka-python's default is 300 s, more than a loader rerun's drain wait: the
# acceptance fault run saw a rerun give up after 90 s (loader kill [47], killed at 1.41 s,
# while joining). A batch takes seconds; one slower than this only costs a rejoin and a
# re-read, absorbed (the warehouse, not Kafka, holds the offsets).
MAX_POLL_INTERVAL_MS = 60_000
REJOIN_AFTER_S = 45.0
"""An idle member whose group still has unloaded events that have not moved for this long
(or half the drain wait, if shorter) leaves the group and joins again, once per stall.
Why: in the 50-trial fault run (seed 480015703), 3 of 150 loaders that joined a group, two
right after a member was SIGKILLed and one into a fresh group, held no progress for their
whole 90-120 s drain wait and ended with ``LoadIncomplete`` (no row lost: a rerun loads the
rest). A new member id sets aside whatever the old join was waiting for on either side; a
group that is merely slow (another member loading) shrinks the lag and never gets here."""


class _Outage:
    """Backoff for one unavailable service: 0.5 s doubling to 8 s, then ServiceUnavailable
    (exit 3) once it has been down for ``limit_s``; a success resets it."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.since: float | None = None
        self.delay = 0.5

    def failed(self, service: str, exc: BaseException) -> None:
        now = time.monotonic()
        self.since = self.since if self.since is not None else now
        if now - self.since >= self.limit_s:
            raise ServiceUnavailable(
                f"{service} unavailable for {now - self.since:.0f}s: {_one_line(exc)}",
                service=service,
            ) from exc
        log.warning("%s unavailable (%s); retrying in %.1fs", service, _one_line(exc), self.delay)
        time.sleep(self.delay)
        self.delay = min(self.delay * 2, 8.0)

    def ok(self) -> None:
        self.since, self.delay = None, 0.5


def _bootstrap_within(settings: Settings, outage_timeout_s: float) -> Settings:
    """``settings`` whose Kafka clients give up their first connection within the outage
    budget: a client's own bootstrap wait (30 s by default) would otherwise stretch
    ``--outage-timeout 1`` to a minute of retries against a broker that is down."""
    timeout = min(settings.kafka.bootstrap_timeout_s, max(outage_timeout_s, 1.0))
    kafka_settings = settings.kafka.model_copy(update={"bootstrap_timeout_s": timeout})
    return settings.model_copy(update={"kafka": kafka_settings})


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _with_outages(outages: dict[str, _Outage], call: Callable[[], _T]) -> _T:
    """``call()``, retried while the broker (:class:`~ecohub.errors.ServiceUnavailable`) or the
    warehouse (:func:`_is_outage`) is down; any other error propagates. The one place that
    classifies an outage: every retried step is atomic and keyed, so a retry after an unknown
    outcome changes nothing."""
    while True:
        try:
            value = call()
        except ServiceUnavailable as exc:
            outages["kafka"].failed("kafka", exc)
            continue
        except Exception as exc:
            if not _is_outage(exc):
                raise
            outages["warehouse"].failed("warehouse", exc)
            continue
        outages["kafka"].ok()
        outages["warehouse"].ok()
        return value


def _process_with_retries(
    engine: Engine,
    messages: Sequence[Message],
    group_id: str,
    publish: Callable[[Sequence[QuarantineItem]], None],
    outages: dict[str, _Outage],
) -> BatchResult:
    """One batch, retried while the warehouse or the broker is down."""
    return _with_outages(
        outages,
        lambda: process_batch(engine, messages, group_id=group_id, publish_quarantine=publish),
    )


def _remaining(consumer: Any, engine: Engine, group_id: str, topics: Sequence[str]) -> int:
    """Messages on ``topics`` the warehouse has not applied yet, whoever holds them."""
    ends = kafka.end_offsets(consumer, topics)
    stored = stored_offsets(engine, group_id)
    return sum(max(0, end - stored.get(key, 0)) for key, end in ends.items())


@traced_load
def consume(
    settings: Settings,
    *,
    topics: list[str] | None = None,
    max_batches: int | None = None,
    idle_timeout_s: float = 5.0,
    batch_size: int = BATCH_SIZE,
    linger_s: float = LINGER_S,
    drain_timeout_s: float = 120.0,
    outage_timeout_s: float = 60.0,
    progress: Callable[[LoadStats], None] | None = None,
    workers: int = 1,
) -> LoadStats:
    """Consume entity topics into the warehouse until the lag is 0 and nothing came for
    ``idle_timeout_s`` seconds.

    Runs in the consumer group ``settings.kafka.consumer_group`` (scale out up to the
    partition count); a micro-batch is up to ``batch_size`` messages, gathered for at most
    ``linger_s`` (:func:`_gather`); ``max_batches`` bounds the work for tests. Idle is not
    done: when idle, the loader asks the broker for the end offsets; if events are still
    unloaded (held by a member that crashed, until its session times out after
    :data:`SESSION_TIMEOUT_MS`, or by a slower member) it keeps polling while that lag
    shrinks, and raises :class:`~ecohub.errors.LoadIncomplete` once it has not shrunk for
    ``drain_timeout_s`` seconds rather than report success. Kafka or the warehouse down:
    retried with backoff, then :class:`~ecohub.errors.ServiceUnavailable` after
    ``outage_timeout_s``. The consumer leaves its group on every exit path, so the next
    loader gets the partitions at once.

    ``workers`` > 1 runs that many loader processes as members of the one group
    (:func:`_consume_members`), so the quality gate and the load use every core; each member
    follows the rules above (``max_batches`` counts per member) and the call returns their
    summed statistics.
    """
    options: dict[str, Any] = {
        "topics": topics, "max_batches": max_batches, "idle_timeout_s": idle_timeout_s,
        "batch_size": batch_size, "linger_s": linger_s, "drain_timeout_s": drain_timeout_s,
        "outage_timeout_s": outage_timeout_s,
    }
    if workers > 1:
        return _consume_members(settings, workers, options, progress)
    return _consume_member(settings, progress=progress, **options)


def _consume_member(
    settings: Settings,
    *,
    topics: list[str] | None,
    max_batches: int | None,
    idle_timeout_s: float,
    batch_size: int,
    linger_s: float,
    drain_timeout_s: float,
    outage_timeout_s: float,
    progress: Callable[[LoadStats], None] | None,
) -> LoadStats:
    """One member of the loader group: :func:`consume` in this process."""
    engine = get_engine(settings.warehouse_url)
    outages = {"kafka": _Outage(outage_timeout_s), "warehouse": _Outage(outage_timeout_s)}
    settings = _bootstrap_within(settings, outage_timeout_s)
    _with_outages(outages, lambda: init_db(engine))
    group_id = settings.kafka.consumer_group
    subscribed = topics or kafka.entity_topics(settings)

    def start_consumer() -> Any:
        kafka.ensure_topics(settings, role="loader")
        return kafka.consumer(
            settings,
            group_id=group_id,
            role="loader",
            auto_offset_reset="earliest",
            max_poll_records=batch_size,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        )

    # a broker that is down (or restarting) at start is waited for, with backoff
    consumer = _with_outages(outages, start_consumer)
    try:
        producer, publish = _quarantine_publisher(settings)
    except ServiceUnavailable:
        consumer.close(autocommit=False)
        raise
    seeker = _Seeker(consumer, engine, group_id)
    stats = LoadStats()

    def rejoin() -> Any:
        """Leave the group and join it again as a new member (see :data:`REJOIN_AFTER_S`)."""
        seeker.consumer.close(autocommit=False)
        seeker.assigned.clear()
        seeker.rebalances += 1
        seeker.consumer = _with_outages(outages, start_consumer)
        seeker.consumer.subscribe(subscribed, listener=kafka.rebalance_listener(seeker))
        return seeker.consumer

    try:
        consumer.subscribe(subscribed, listener=kafka.rebalance_listener(seeker))
        _loop(consumer, engine, group_id, subscribed, publish, seeker, stats, outages,
              max_batches=max_batches, idle_timeout_s=idle_timeout_s,
              batch_size=batch_size, linger_s=linger_s, drain_timeout_s=drain_timeout_s,
              progress=progress, rejoin=rejoin)  # fmt: skip
    finally:
        seeker.consumer.close(autocommit=False)  # leaves the group: partitions move at once
        producer.close(timeout=5)
    log.info("loader finished: %s", stats.as_dict())
    return stats


def _loop(
    consumer: Any,
    engine: Engine,
    group_id: str,
    topics: Sequence[str],
    publish: Callable[[Sequence[QuarantineItem]], None],
    seeker: _Seeker,
    stats: LoadStats,
    outages: dict[str, _Outage],
    *,
    max_batches: int | None,
    idle_timeout_s: float,
    batch_size: int,
    linger_s: float,
    drain_timeout_s: float,
    progress: Callable[[LoadStats], None] | None = None,
    rejoin: Callable[[], Any] | None = None,
) -> None:
    idle_since = time.monotonic()
    join_deadline = time.monotonic() + max(30.0, idle_timeout_s)
    drain_deadline: float | None = None
    last_left: int | None = None
    stalled_since, rejoined = idle_since, False
    while max_batches is None or stats.batches < max_batches:
        messages = _gather(consumer, seeker, batch_size, linger_s, outages)
        if messages:
            batch = _process_with_retries(engine, messages, group_id, publish, outages)
            stats.add(batch)
            if progress is not None:
                progress(stats)
            kafka.commit_offsets(consumer, batch.next_offsets)  # a hint: the warehouse rules
            idle_since, drain_deadline, last_left = time.monotonic(), None, None
            continue
        now = time.monotonic()
        if (not seeker.assigned and now < join_deadline) or now - idle_since < idle_timeout_s:
            continue
        remaining = functools.partial(_remaining, consumer, engine, group_id, topics)
        left = _with_outages(outages, remaining)
        now = time.monotonic()  # an outage may have been waited out
        if left == 0:
            return
        if last_left is None or left < last_left:  # another member is still loading
            drain_deadline, last_left = now + drain_timeout_s, left
            stalled_since, rejoined = now, False
        if drain_deadline is not None and now >= drain_deadline:
            again = ", after joining again" if rejoined else ""
            raise LoadIncomplete(
                f"{left} published event(s) still unloaded after waiting "
                f"{drain_timeout_s:.0f}s for their partitions ({len(seeker.assigned)} "
                f"partition(s) assigned to this member{again})",
                group=group_id,
                lag=left,
                assigned=len(seeker.assigned),
            )
        if rejoin is not None and not rejoined and now - stalled_since >= min(
            REJOIN_AFTER_S, drain_timeout_s / 2
        ):
            log.warning(
                "%d event(s) unloaded and not moving for %.0fs (%d partition(s) assigned "
                "here): leaving the group and joining again", left, now - stalled_since,
                len(seeker.assigned))  # fmt: skip
            consumer = rejoin()
            rejoined, join_deadline = True, time.monotonic() + max(30.0, idle_timeout_s)
        log.info("idle but %d event(s) unloaded: waiting for their partitions", left)
        idle_since = now


# --------------------------------------------------------------------------- several members


def default_workers(settings: Settings, requested: int | None = None) -> int:
    """Loader processes for ``ecohub consume``: ``requested`` (``--workers``), else the
    ``loader_workers`` setting (default 1); 0 means about one per core (the quality gate and
    the load are CPU-bound), as a count that divides the partitions per topic; 1 where this
    process may not have children (a daemonic process, e.g. some task runners).

    Why 1 by default: each member pays its own start-up (imports, Great Expectations: ~5
    CPU-s), and on the shared 2-core machine, busy with other work, 3 members were slower
    than one (38,880 messages: 89.7 s and 30.3 CPU-s against 33-55 s and 14-16 CPU-s); on a
    machine of its own a large load should gain, which is still to be measured.
    Why a divisor: each topic's partitions are shared among the members, and one topic
    (Stinet's documents, 78 % of the events at real scale) dominates. With 3 partitions two
    members split the work 2:1 (measured: 125,009 vs 68,302 messages) and the larger share
    bounds the run, while three members on two cores finish together; so the smallest
    divisor of the partition count from the core count up to twice it, else one per core
    (at most one per partition, at most 4)."""
    wanted = settings.loader_workers if requested is None else requested
    if wanted > 0:
        return wanted
    if multiprocessing.current_process().daemon:
        return 1
    cores, partitions = max(1, min(os.cpu_count() or 1, 4)), settings.kafka.partitions
    even = [n for n in range(cores, 2 * cores + 1) if partitions % n == 0]
    return even[0] if even else max(1, min(cores, partitions))


def _total(parts: Sequence[LoadStats]) -> LoadStats:
    total = LoadStats()
    for part in parts:
        total.merge(part)
    return total


def _log_levels() -> dict[str, int]:
    """This process's logging levels (root and every configured logger), for the members."""
    levels = {"": logging.getLogger().level}
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


def _log_like_parent(settings: Settings, levels: Mapping[str, int]) -> None:
    """A member logs as the parent does (same levels, the member named on every line) and
    masks the configured secrets (a fresh ``spawn`` process has no logging set up)."""
    logging.basicConfig(
        level=levels.get("", logging.WARNING),
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
    )
    for name, level in levels.items():
        if name:
            logging.getLogger(name).setLevel(level)
    install_log_masking(secret_values(settings))


def _member_main(settings: Settings, options: dict[str, Any], levels: dict[str, int],
                 portals: Sequence[PortalSpec], report: Connection) -> None:
    """A member process: consume as one loader, sending its statistics after every batch
    (``progress``), then ``done`` with the totals or ``error`` with what stopped it.
    ``portals``: the parent's registered portals (one registered at run time, by a test or a
    plugin, is otherwise unknown to a fresh process and has no staging table here)."""
    adopt_portals(portals)

    def stop(signum: int, _frame: Any) -> None:  # unwind: the consumer leaves the group
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    _log_like_parent(settings, levels)
    try:
        stats = _consume_member(settings, progress=lambda s: report.send(("progress", s)),
                                **options)  # fmt: skip
    except BaseException as exc:
        report.send(("error", _portable(exc)))
        raise SystemExit(1) from None
    report.send(("done", stats))


def _portable(exc: BaseException) -> tuple[str, str, dict[str, Any]]:
    """An error as (class name, message, context): rebuilt in the parent by :func:`_rebuilt`."""
    if isinstance(exc, EcohubError):
        return type(exc).__name__, exc.message, dict(exc.context)
    return type(exc).__name__, _one_line(exc), {}


def _rebuilt(member: str, error: tuple[str, str, dict[str, Any]]) -> BaseException:
    """A member's error as the parent raises it: the same ecohub error class (so the CLI
    exits with the same code), anything else as :class:`~ecohub.errors.FatalError`."""
    name, message, context = error
    if name == "KeyboardInterrupt":
        return KeyboardInterrupt(f"{member}: {message}")
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, EcohubError):
        try:
            return cls(f"{member}: {message}", **context)
        except TypeError:  # a class with required arguments of its own
            pass
    return FatalError(f"{member} failed: {name}: {message}", **context)


def _consume_members(
    settings: Settings,
    workers: int,
    options: dict[str, Any],
    progress: Callable[[LoadStats], None] | None,
) -> LoadStats:
    """``workers`` loader processes in one consumer group; returns their summed statistics.

    Each member runs :func:`_consume_member` (fresh ``spawn`` processes: no forked Kafka or
    database connections, no threads copied mid-state). Every member ends only when the lag
    of the whole group is 0, so a member that dies is covered by the others (its partitions
    move on after its session times out) and cannot make them stop early. The parent raises
    the first error a member reports; a member that dies without a word (killed) is an error
    too unless the lag is 0 once the others ended. Ctrl-C or SIGTERM of the parent stops the
    members (SIGTERM: each leaves the group) and waits for them.
    """
    engine = get_engine(settings.warehouse_url)
    limit = float(options.get("outage_timeout_s", 60.0))
    outages = {"kafka": _Outage(limit), "warehouse": _Outage(limit)}
    # migrate once, before the members race for the advisory lock; a warehouse that is down is
    # waited out as one member would (backoff, then exit 3), not a crash
    _with_outages(outages, lambda: init_db(engine))
    context = multiprocessing.get_context("spawn")
    members: dict[Connection, tuple[str, Any]] = {}
    for index in range(workers):
        receive, send = context.Pipe(duplex=False)
        name = f"loader member {index + 1}/{workers}"
        process = context.Process(
            target=_member_main,
            args=(settings, options, _log_levels(), portal_specs(), send),
            name=name, daemon=True,
        )
        with _main_not_rerun():  # a spawned child would run our main script (airflow) again
            process.start()
        send.close()
        members[receive] = (name, process)
    latest: dict[str, LoadStats] = {}
    reported: set[str] = set()
    failures: list[BaseException] = []
    silent: list[str] = []
    try:
        waiting = set(members)
        while waiting:
            for ready in mp_connection.wait(list(waiting), timeout=1.0):
                conn = cast(Connection, ready)
                name, process = members[conn]
                try:
                    kind, value = conn.recv()
                except EOFError:  # the member ended: after its last word, or killed
                    waiting.discard(conn)
                    process.join()
                    if name not in reported:
                        log.error("%s died (exit code %s)", name, process.exitcode)
                        silent.append(f"{name} (exit code {process.exitcode})")
                    continue
                if kind == "progress":
                    latest[name] = value
                    if progress is not None:
                        progress(_total(list(latest.values())))
                elif kind == "done":
                    latest[name] = value
                    reported.add(name)
                    log.info("%s done: %d message(s) in %d batch(es)", name, value.messages,
                             value.batches)
                else:
                    failures.append(_rebuilt(name, value))
                    reported.add(name)
    except BaseException:
        _stop(members.values())
        raise
    finally:
        for conn, (_name, process) in members.items():
            conn.close()
            process.join(timeout=30)
    stats = _total(list(latest.values()))
    if failures:
        raise failures[0]
    if silent:
        left = sum(lag(settings, topics=options["topics"], engine=engine).values())
        if left:
            raise LoadIncomplete(
                f"{', '.join(silent)} died and {left} event(s) are still unloaded",
                group=settings.kafka.consumer_group, lag=left,
            )
        log.warning("%s died; the other members loaded every event", ", ".join(silent))
    return stats


def _stop(members: Iterable[tuple[str, Any]]) -> None:
    """SIGTERM every live member (it leaves the group on its way out), then wait for it."""
    live = [process for _name, process in members if process.is_alive()]
    for process in live:
        process.terminate()
    for process in live:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


def lag(
    settings: Settings, *, topics: list[str] | None = None, engine: Engine | None = None
) -> dict[tuple[str, int], int]:
    """Messages not yet loaded per (topic, partition): Kafka end offset - warehouse position.

    ``sum(lag(settings).values()) == 0`` means every published event has been consumed, so
    :func:`ecohub.warehouse.runs.reconcile` may judge runs as complete. A caller that already
    holds the migrated warehouse engine passes it, so an entry point migrates once.
    """
    if engine is None:
        engine = get_engine(settings.warehouse_url)
        init_db(engine)
    consumer = kafka.consumer(settings, group_id=None, role="loader")
    try:
        ends = kafka.end_offsets(consumer, topics or kafka.entity_topics(settings))
    finally:
        consumer.close()
    stored = stored_offsets(engine, settings.kafka.consumer_group)
    return {key: max(0, end - stored.get(key, 0)) for key, end in ends.items()}
