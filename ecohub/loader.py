"""The loader: Kafka entity topics -> quality gate -> warehouse, with an exactly-once effect.

How a micro-batch travels (see ``docs/warehouse.md``):

1. messages already applied (offset below the position stored in the warehouse) are skipped;
2. each message is decoded; identical copies are folded; events are validated per entity type
   with Great Expectations (:func:`ecohub.quality.validate_batch`);
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

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from ecohub.catalog import ENTITY_TYPES, topic_name
from ecohub.errors import ServiceUnavailable
from ecohub.settings import Settings

__all__ = [
    "BatchResult",
    "LoadStats",
    "Message",
    "QuarantineItem",
    "consume",
    "lag",
    "process_batch",
    "quarantine_topic",
]

log = logging.getLogger(__name__)

_NOT_JSON = "envelope.value_is_json_object"


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
    by_entity: Counter[str] = field(default_factory=Counter)
    failed_by_expectation: Counter[str] = field(default_factory=Counter)

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.messages += batch.messages
        self.skipped += batch.skipped
        self.loaded += batch.loaded
        self.quarantined += batch.quarantined
        self.by_entity.update(batch.by_entity)
        self.failed_by_expectation.update(batch.failed_by_expectation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "messages": self.messages,
            "skipped": self.skipped,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "by_entity": dict(sorted(self.by_entity.items())),
            "failed_by_expectation": dict(self.failed_by_expectation.most_common()),
        }


def quarantine_topic(settings: Settings) -> str:
    """``<prefix>.quarantine.v1`` (``ecohub.quarantine.v1`` by default)."""
    from ecohub.events import quarantine_topic as topic

    return topic(settings.kafka.topic_prefix)


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
    return event if isinstance(event, dict) else None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Plan:
    passing: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    events: dict[int, dict[str, Any] | None] = field(default_factory=dict)


def _validate(messages: Sequence[Message]) -> _Plan:
    """Decide loaded/quarantined for every message; identical copies share one decision."""
    from ecohub.quality import validate_batch

    plan = _Plan()
    first_of: dict[bytes, int] = {}
    groups: dict[str, list[int]] = {}
    for i, message in enumerate(messages):
        event = _decode(message)
        plan.events[i] = event
        if event is None:
            plan.outcome[i] = ("quarantined", (_NOT_JSON,))
            continue
        value = message.value or b""
        if value in first_of:
            continue
        first_of[value] = i
        groups.setdefault(str(event.get("entitytype")), []).append(i)
    for entity_type, indexes in groups.items():
        verdict = validate_batch(entity_type, [plan.events[i] or {} for i in indexes])
        failed = {id(f.row): f.expectations for f in verdict.failed}
        for i in indexes:
            event = plan.events[i]
            if id(event) in failed:
                plan.outcome[i] = ("quarantined", failed[id(event)])
            else:
                plan.outcome[i] = ("loaded", ())
                plan.passing.append(event or {})
    for i, message in enumerate(messages):  # copies take the decision of their first
        if i not in plan.outcome:
            plan.outcome[i] = plan.outcome[first_of[message.value or b""]]
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
    }


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
    """
    from ecohub.warehouse.history import apply_events
    from ecohub.warehouse.offsets import stored_offsets, write_offsets
    from ecohub.warehouse.sqlutil import insert_ignore
    from ecohub.warehouse.tables import load_receipts, quarantine

    result = BatchResult(messages=len(messages))
    positions = stored_offsets(engine, group_id, {(m.topic, m.partition) for m in messages})
    fresh = [m for m in messages if m.offset >= positions.get((m.topic, m.partition), 0)]
    result.skipped = len(messages) - len(fresh)
    for m in messages:
        key = (m.topic, m.partition)
        result.next_offsets[key] = max(result.next_offsets.get(key, 0), m.offset + 1)
    plan = _validate(fresh)
    now = _now()
    receipts = []
    for i, message in enumerate(fresh):
        outcome, names = plan.outcome[i]
        event = plan.events[i]
        receipts.append(_receipt(message, event, outcome, now))
        result.by_entity[str((event or {}).get("entitytype", "?")) + ":" + outcome] += 1
        if outcome == "loaded":
            result.loaded += 1
        else:
            result.quarantined += 1
            result.failed_by_expectation.update(names)
            result.quarantine.append(
                QuarantineItem(message=message, expectations=names, event=event)
            )
    if result.quarantine and publish_quarantine is not None:
        publish_quarantine(result.quarantine)
    with engine.begin() as conn:
        apply_events(conn, plan.passing, now)
        insert_ignore(conn, quarantine, [_quarantine_row(q, now) for q in result.quarantine])
        insert_ignore(conn, load_receipts, receipts)
        advanced = {k: v for k, v in result.next_offsets.items() if v > positions.get(k, 0)}
        write_offsets(conn, group_id, advanced)
    return result


# --------------------------------------------------------------------------- Kafka


def _client_config(settings: Settings) -> dict[str, Any]:
    k = settings.kafka
    config: dict[str, Any] = {
        "bootstrap_servers": k.bootstrap_servers.split(","),
        "security_protocol": k.security_protocol,
    }
    if k.sasl_username:
        config["sasl_mechanism"] = "PLAIN"
        config["sasl_plain_username"] = k.sasl_username
        if k.sasl_password is not None:
            config["sasl_plain_password"] = k.sasl_password.get_secret_value()
    return config


def _entity_topics(settings: Settings) -> list[str]:
    return [topic_name(t, settings.kafka.topic_prefix) for t in ENTITY_TYPES]


class _Seeker:
    """Rebalance listener: on assignment, seek each partition to the warehouse's position."""

    def __init__(self, consumer: Any, engine: Engine, group_id: str) -> None:
        self.consumer = consumer
        self.engine = engine
        self.group_id = group_id
        self.assigned: set[Any] = set()

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.assigned.difference_update(revoked)

    def on_partitions_lost(self, lost: Any) -> None:
        self.assigned.difference_update(lost)

    def on_partitions_assigned(self, assigned: Any) -> None:
        from ecohub.warehouse.offsets import stored_offsets

        stored_positions = stored_offsets(self.engine, self.group_id)
        for tp in assigned:
            stored = stored_positions.get((tp.topic, tp.partition))
            if stored is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, stored)
        self.assigned.update(assigned)
        log.info("assigned %d partition(s); positions from the warehouse", len(assigned))


def _listener(seeker: _Seeker) -> Any:
    from kafka import ConsumerRebalanceListener

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked: Any) -> None:
            seeker.on_partitions_revoked(revoked)

        def on_partitions_assigned(self, assigned: Any) -> None:
            seeker.on_partitions_assigned(assigned)

        def on_partitions_lost(self, lost: Any) -> None:
            seeker.on_partitions_lost(lost)

    return Listener()


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
    from kafka import KafkaProducer

    producer = KafkaProducer(**_client_config(settings), acks="all", linger_ms=20)
    topic = quarantine_topic(settings)

    def publish(items: Sequence[QuarantineItem]) -> None:
        for item in items:
            value = json.dumps(item.as_topic_value(), ensure_ascii=False, default=str).encode()
            producer.send(
                topic,
                key=item.kafka_key,
                value=value,
                headers=[
                    ("failed_expectations", ",".join(item.expectations).encode()),
                ],
            )
        producer.flush()

    return producer, publish


def _ensure_topics(settings: Settings) -> None:
    try:
        from ecohub.kafka import ensure_topics
    except ImportError:  # the events package is not installed: rely on broker auto-create
        return
    ensure_topics(settings)


def consume(
    settings: Settings,
    *,
    topics: list[str] | None = None,
    max_batches: int | None = None,
    idle_timeout_s: float = 5.0,
    batch_size: int = 500,
) -> LoadStats:
    """Consume entity topics into the warehouse until idle for ``idle_timeout_s`` seconds.

    Runs in the consumer group ``settings.kafka.consumer_group`` (scale out up to the
    partition count); ``max_batches`` bounds the work for tests and Airflow tasks.
    """
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    from ecohub.db import get_engine
    from ecohub.warehouse import init_db

    engine = get_engine(settings.warehouse_url)
    init_db(engine)
    group_id = settings.kafka.consumer_group
    try:
        _ensure_topics(settings)
        consumer = KafkaConsumer(
            **_client_config(settings),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=batch_size,
        )
        producer, publish = _quarantine_publisher(settings)
    except KafkaError as exc:
        raise ServiceUnavailable(
            "Kafka is not answering", bootstrap_servers=settings.kafka.bootstrap_servers
        ) from exc
    seeker = _Seeker(consumer, engine, group_id)
    stats = LoadStats()
    try:
        consumer.subscribe(topics or _entity_topics(settings), listener=_listener(seeker))
        idle_since = time.monotonic()
        join_deadline = time.monotonic() + max(30.0, idle_timeout_s)
        while max_batches is None or stats.batches < max_batches:
            polled = consumer.poll(timeout_ms=500, max_records=batch_size)
            messages = _messages(polled)
            if not messages:
                waiting_for_join = not seeker.assigned and time.monotonic() < join_deadline
                if not waiting_for_join and time.monotonic() - idle_since >= idle_timeout_s:
                    break
                continue
            batch = process_batch(engine, messages, group_id=group_id, publish_quarantine=publish)
            stats.add(batch)
            try:
                consumer.commit(
                    {
                        _tp(t, p): OffsetAndMetadata(o, "", -1)
                        for (t, p), o in batch.next_offsets.items()
                    }
                )
            except KafkaError as exc:  # only a hint: the warehouse holds the truth
                log.warning("could not commit offsets to Kafka (hint only): %s", exc)
            idle_since = time.monotonic()
    finally:
        consumer.close(autocommit=False)
        producer.close()
    log.info("loader finished: %s", stats.as_dict())
    return stats


def _tp(topic: str, partition: int) -> Any:
    from kafka.structs import TopicPartition

    return TopicPartition(topic, partition)


def lag(settings: Settings, *, topics: list[str] | None = None) -> dict[tuple[str, int], int]:
    """Messages not yet loaded per (topic, partition): Kafka end offset - warehouse position.

    ``sum(lag(settings).values()) == 0`` means every published event has been consumed, so
    :func:`ecohub.warehouse.runs.reconcile` may judge runs as complete.
    """
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    from ecohub.db import get_engine
    from ecohub.warehouse import init_db
    from ecohub.warehouse.offsets import stored_offsets

    engine = get_engine(settings.warehouse_url)
    init_db(engine)
    try:
        consumer = KafkaConsumer(**_client_config(settings), group_id=None)
    except KafkaError as exc:
        raise ServiceUnavailable(
            "Kafka is not answering", bootstrap_servers=settings.kafka.bootstrap_servers
        ) from exc
    try:
        partitions = []
        for topic in topics or _entity_topics(settings):
            for p in sorted(consumer.partitions_for_topic(topic) or ()):
                partitions.append(_tp(topic, p))
        ends = consumer.end_offsets(partitions) if partitions else {}
    finally:
        consumer.close()
    stored = stored_offsets(engine, settings.kafka.consumer_group)
    return {
        (tp.topic, tp.partition): max(0, end - stored.get((tp.topic, tp.partition), 0))
        for tp, end in ends.items()
    }
