"""Everything that talks to Kafka: client configuration, topics, the publisher, consumers.

This is the one module that imports the Kafka client library. Callers build clients through
:func:`client_config` (bootstrap servers and *all* security settings), :func:`producer`,
:func:`consumer` and :func:`admin`, and name topics with :func:`entity_topic`,
:func:`deadletter_topic`, :func:`quarantine_topic`, :func:`restricted_topic` (all spelled by
:func:`ecohub.catalog.topic_name`, which DAG files use at parse time). A new security mechanism
or another client library is a change here only.

Why these choices:

* **Topics are created by the hub** (:func:`ensure_topics`), never auto-created with broker
  defaults: entity topics and the restricted topic are *compacted* (the latest event per
  entitykey is kept forever; a restricted tombstone erases personal data), the dead-letter and
  quarantine topics are time-retained. Partitions, replication and retention come from
  ``settings.kafka``. Running it again only re-asserts the topic configuration.
* **The key is the entitykey**, so all events of one entity land in one partition, in order.
* **Idempotent producer, acks=all, zstd**: broker-side retries never duplicate or reorder
  within a partition. zstd (level 3, every client's default: kafka-python, librdkafka, Java)
  compresses the events ~11x where gzip reached ~10x, at a fifth of gzip's CPU (kafka-python
  hard-codes gzip level 9 and has no setting for it); Kafka >= 2.1 brokers and every
  maintained client read it. kafka-python's ``zstd`` extra and ``crc32c`` (requirements.txt)
  supply the codec and the native batch checksum.
* **Nothing is dropped**: an event that fails its schema or still holds a clear email/phone is
  dead-lettered with the reason (never raised to the caller, never sent); a send the broker
  does not acknowledge makes :meth:`Publisher.flush` raise, so the caller does not advance its
  cursor past unpublished records.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, NamedTuple

import orjson
from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ConfigResource,
    ConfigResourceType,
    ResourcePattern,
    ResourceType,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata, TopicPartition

from ecohub.contract import ENTITY_TYPES
from ecohub.errors import ConfigError, SchemaValidationError, ServiceUnavailable
from ecohub.events import (
    deadletter_topic,
    event_headers,
    quarantine_topic,
    restricted_topic,
    side_message_validator,
    source_reference,
    to_event,
    topic_for,
    upgrade_envelope,
    validate_event,
)
from ecohub.normalize.pii import find_clear_pii, redact_text
from ecohub.records import CanonicalRecord, SourceRecord
from ecohub.settings import KafkaSettings, Settings

__all__ = [
    "AclRule",
    "ConsumedEvent",
    "EventConsumer",
    "EventEncoder",
    "OutMessage",
    "PublishCounts",
    "Publisher",
    "Role",
    "admin",
    "client_config",
    "commit_offsets",
    "consumer",
    "deadletter_topic",
    "end_offsets",
    "ensure_topics",
    "entity_topic",
    "entity_topics",
    "hub_acls",
    "poll",
    "producer",
    "quarantine_topic",
    "read_topic",
    "rebalance_listener",
    "restricted_topic",
    "secure_cluster",
    "send_and_flush",
    "topic_plan",
]

log = logging.getLogger(__name__)

Role = Literal["default", "loader"]
"""Whose principal a client uses: the hub's default one, or the loader's (the only one an ACL'd
cluster lets read the restricted PII topic)."""


# --------------------------------------------------------------------------- clients
def client_config(kafka: KafkaSettings, role: Role = "default") -> dict[str, Any]:
    """Connection and security settings shared by every client the hub builds (producer,
    consumer, admin): bootstrap servers, security protocol, SASL mechanism and the credentials
    of ``role``'s principal (``loader``: the loader's own, when configured; see
    :meth:`KafkaSettings.principal`). kafka-python takes SCRAM credentials in the same
    ``sasl_plain_*`` keys as PLAIN ones."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
        "bootstrap_timeout_ms": int(kafka.bootstrap_timeout_s * 1000),
    }
    username, password = kafka.principal(role)
    if username:
        config.update(
            sasl_mechanism=kafka.sasl_mechanism,
            sasl_plain_username=username,
            sasl_plain_password=password,
        )
    return config


def _unreachable(settings: Settings, exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Kafka not reachable: {exc}", bootstrap_servers=settings.kafka.bootstrap_servers
    )


PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "compression_type": "zstd",
    "linger_ms": 20,
}
"""Every hub producer: idempotent, acks=all (no loss, no duplicates or reordering from broker
retries), zstd (see the module's docstring), a short linger so batches fill."""


def producer(
    settings: Settings, *, client_id: str, role: Role = "default", **overrides: Any
) -> KafkaProducer:
    """The hub's producer (:data:`PRODUCER_DEFAULTS`, ``overrides`` win) as ``role``'s
    principal; raises :class:`ServiceUnavailable` when the brokers cannot be reached and
    :class:`ConfigError` when the codec's library is missing."""
    config = {**PRODUCER_DEFAULTS, **client_config(settings.kafka, role), **overrides}
    try:
        return KafkaProducer(client_id=client_id, **config)
    except KafkaError as exc:
        raise _unreachable(settings, exc) from exc
    except RuntimeError as exc:  # kafka-python: "Libraries for zstd compression codec not found"
        raise ConfigError(f"{exc}: install requirements.txt (make venv)",
                          compression_type=config["compression_type"]) from exc


def consumer(
    settings: Settings, *topics: str, group_id: str | None, role: Role = "default",
    **overrides: Any,
) -> KafkaConsumer:
    """A consumer with manual commits (the caller commits after its side effects are durable)
    as ``role``'s principal; ``group_id=None`` for a metadata-only client. Raises
    :class:`ServiceUnavailable`."""
    try:
        return KafkaConsumer(
            *topics,
            group_id=group_id,
            **{"enable_auto_commit": False, **client_config(settings.kafka, role), **overrides},
        )
    except KafkaError as exc:
        raise _unreachable(settings, exc) from exc


def admin(settings: Settings, role: Role = "default", **overrides: Any) -> KafkaAdminClient:
    """An admin client (topics and their configuration) as ``role``'s principal. Raises
    :class:`ServiceUnavailable`."""
    try:
        return KafkaAdminClient(
            **{"client_id": "ecohub-admin", **client_config(settings.kafka, role), **overrides}
        )
    except KafkaError as exc:
        raise _unreachable(settings, exc) from exc


class _Listener(ConsumerRebalanceListener):
    def __init__(self, handler: Any) -> None:
        self._handler = handler

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._handler.on_partitions_revoked(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._handler.on_partitions_assigned(assigned)

    def on_partitions_lost(self, lost: Any) -> None:
        self._handler.on_partitions_lost(lost)


def rebalance_listener(handler: Any) -> ConsumerRebalanceListener:
    """The client's rebalance listener around ``handler``, an object with
    ``on_partitions_assigned``/``_revoked``/``_lost(partitions)``; each partition has
    ``.topic`` and ``.partition``."""
    return _Listener(handler)


def commit_offsets(consumer: KafkaConsumer, offsets: Mapping[tuple[str, int], int]) -> bool:
    """Commit ``{(topic, partition): next offset}`` for the consumer's group; ``False`` (and a
    warning) when Kafka refuses, for callers whose committed offsets are only a hint."""
    try:
        consumer.commit(
            {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
        )
    except KafkaError as exc:
        log.warning("could not commit offsets to Kafka (hint only): %s", exc)
        return False
    return True


def poll(consumer: KafkaConsumer, *, timeout_ms: int, max_records: int | None = None) -> Any:
    """``consumer.poll``, with a broker gone away (a retriable client error: connection
    refused, a timeout, no coordinator) raised as :class:`ServiceUnavailable`, the error the
    loader waits out with backoff; other client errors propagate as they are."""
    try:
        return consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
    except KafkaError as exc:
        if not getattr(exc, "retriable", False):
            raise
        raise ServiceUnavailable(f"Kafka poll failed: {exc}", service="kafka") from exc


def end_offsets(consumer: KafkaConsumer, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """The next offset to be written, per ``(topic, partition)`` of ``topics`` that exist;
    :class:`ServiceUnavailable` when the broker does not answer."""
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(partitions) if partitions else {}
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka did not give end offsets: {exc}", service="kafka") from exc
    return {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}


def read_topic(settings: Settings, topic: str) -> Iterator[Any]:
    """Every JSON message of ``topic`` from the beginning to its current end, outside any
    consumer group (tombstones skipped): for audits and tools, not for loading."""
    client = consumer(settings, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in client.partitions_for_topic(topic) or ()]
        if not partitions:
            return
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        ends = client.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            for tp, messages in client.poll(timeout_ms=2000).items():
                for message in messages:
                    if message.value is not None:
                        yield json.loads(message.value)
                    if message.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        client.close()


def send_and_flush(
    producer: KafkaProducer,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
    *,
    what: str = "the messages",
    timeout: float = 30.0,
) -> None:
    """Send ``(key, value, headers)`` messages and wait for the broker to take them all;
    :class:`ServiceUnavailable` (naming ``what``) when it does not."""
    try:
        for key, value, headers in messages:
            producer.send(topic, key=key, value=value, headers=headers)
        producer.flush(timeout=timeout)
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka did not take {what}: {exc}", service="kafka") from exc


# --------------------------------------------------------------------------- topics
def entity_topic(entity_type: str, settings: Settings) -> str:
    """The topic of one canonical entity under the configured prefix."""
    return topic_for(entity_type, settings.kafka.topic_prefix)


def entity_topics(settings: Settings) -> list[str]:
    """Every entity topic under the configured prefix (what the loader consumes)."""
    return [topic_for(name, settings.kafka.topic_prefix) for name in ENTITY_TYPES]


def topic_plan(settings: Settings) -> dict[str, dict[str, str]]:
    """Every topic the hub owns and the configuration it must have."""
    kafka = settings.kafka
    retention = str(kafka.retention_ms)
    compacted = {"cleanup.policy": "compact", "delete.retention.ms": retention}
    timed = {"cleanup.policy": "delete", "retention.ms": retention}
    plan = {topic_for(name, kafka.topic_prefix): dict(compacted) for name in ENTITY_TYPES}
    plan[deadletter_topic(kafka.topic_prefix)] = dict(timed)
    plan[quarantine_topic(kafka.topic_prefix)] = dict(timed)
    plan[restricted_topic(kafka.topic_prefix)] = dict(compacted)
    return plan


def _align_configs(
    client: KafkaAdminClient, plan: dict[str, dict[str, str]], existing: list[str]
) -> None:
    """Set the planned configuration on topics that already existed (idempotent)."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, configs=dict(plan[name]))
                 for name in existing]
    if resources:
        client.alter_configs(resources)


TOPICS_READY_TIMEOUT_S = 60.0
"""How long :func:`ensure_topics` waits for new topics to have a leader on every partition.
kafka-python's own default (10 s) is shorter than a loaded KRaft controller may need; a
publisher or loader started on a topic without leaders fails its first requests."""


def ensure_topics(settings: Settings, role: Role = "default", *,
                  ready_timeout_s: float = TOPICS_READY_TIMEOUT_S) -> list[str]:  # fmt: skip
    """Create the hub's topics that are missing, align the configuration of the others, and
    wait (up to ``ready_timeout_s``) until every one has a leader on every partition.

    Returns the names of all the hub's topics (entity topics, dead-letter, quarantine,
    restricted), so that callers can log or check them. Safe to run at every start.
    :class:`ServiceUnavailable` names the topics still not ready after the wait.
    """
    plan = topic_plan(settings)
    client = admin(settings, role)
    try:
        present = set(client.list_topics())
        missing = [name for name in plan if name not in present]
        if missing:
            request = {
                name: {"num_partitions": settings.kafka.partitions,
                       "replication_factor": settings.kafka.replication_factor,
                       "configs": plan[name]}
                for name in missing
            }
            try:
                client.create_topics(request)
            except TopicAlreadyExistsError:  # a concurrent ensure_topics won the race
                pass
            log.info("created Kafka topics: %s", ", ".join(missing))
        _align_configs(client, plan, [name for name in plan if name in present])
        # all of them: a topic a concurrent ensure_topics just created may have no leader yet
        client.wait_for_topics(list(plan), timeout_ms=int(ready_timeout_s * 1000))
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka topic administration failed: {exc}") from exc
    finally:
        client.close()
    return list(plan)


# --------------------------------------------------------------------------- users and ACLs
@dataclass(frozen=True)
class AclRule:
    """One ACL: ``principal`` (``User:name``) is allowed or denied ``operation`` on a resource
    (``TOPIC``/``GROUP``/``CLUSTER``) named ``name`` -- or on every name starting with it when
    ``prefixed``."""

    principal: str
    permission: Literal["ALLOW", "DENY"]
    resource_type: Literal["TOPIC", "GROUP", "CLUSTER"]
    name: str
    operation: str
    prefixed: bool = False


_HUB_TOPIC_OPS = ("READ", "WRITE", "CREATE", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS",
                  "ALTER_CONFIGS")


def hub_acls(settings: Settings, *, publisher: str, loader: str, reader: str | None = None,
             all_topics: bool = False) -> list[AclRule]:
    """The ACLs of the hub's principals on an authorizing cluster.

    The publisher (every hub client but the loader's) and the loader may do what the hub does
    to its topics (those under ``topic_prefix.``, or every topic when ``all_topics``: the
    local stack, whose tests use their own prefixes) and consumer groups; ``reader``
    (downstream apps) may only read. Only the loader may read the restricted PII topic: an
    explicit DENY for every other principal, which wins over any ALLOW given later by mistake.
    The admin is a super user and needs none.
    """
    topics, prefixed = ("*", False) if all_topics else (f"{settings.kafka.topic_prefix}.", True)
    restricted = restricted_topic(settings.kafka.topic_prefix)
    hub = (_HUB_TOPIC_OPS, ("READ", "DESCRIBE", "DELETE"), ("IDEMPOTENT_WRITE", "DESCRIBE"))
    grants: dict[str, tuple[tuple[str, ...], ...]] = {publisher: hub, loader: hub}
    if reader:
        grants[reader] = (("READ", "DESCRIBE", "DESCRIBE_CONFIGS"), ("READ", "DESCRIBE"),
                          ("DESCRIBE",))
    rules: list[AclRule] = []
    for user, (topic_ops, group_ops, cluster_ops) in grants.items():
        who = f"User:{user}"
        rules += [AclRule(who, "ALLOW", "TOPIC", topics, op, prefixed) for op in topic_ops]
        rules += [AclRule(who, "ALLOW", "GROUP", "*", op) for op in group_ops]
        rules += [AclRule(who, "ALLOW", "CLUSTER", "kafka-cluster", op) for op in cluster_ops]
        if user != loader:
            rules.append(AclRule(who, "DENY", "TOPIC", restricted, "READ"))
    return rules


def secure_cluster(settings: Settings, users: Mapping[str, str], rules: Iterable[AclRule],
                   *, mechanism: str = "SCRAM-SHA-512", iterations: int = 8192) -> None:
    """As the settings' principal (a super user): set the SCRAM credentials of ``users``
    (``{name: password}``; the broker keeps only salted keys) and create ``rules``.
    Idempotent; a changed password takes effect for new connections. Raises
    :class:`ServiceUnavailable` naming what the cluster refused."""
    client = admin(settings, client_id="ecohub-security", request_timeout_ms=30000)
    try:
        upserts = [UserScramCredentialUpsertion(name, mechanism, password, iterations=iterations)
                   for name, password in users.items()]
        failed = {name: err for name, err in
                  (client.alter_user_scram_credentials(upserts) if upserts else {}).items() if err}
        acls = [ACL(rule.principal, "*", ACLOperation[rule.operation],
                    ACLPermissionType[rule.permission],
                    ResourcePattern(ResourceType[rule.resource_type], rule.name,
                                    ACLResourcePatternType.PREFIXED if rule.prefixed
                                    else ACLResourcePatternType.LITERAL))
                for rule in rules]  # fmt: skip
        refused = client.create_acls(acls).get("failed", []) if acls else []
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka refused the security setup: {exc}") from exc
    finally:
        client.close()
    if refused:
        failed["acls"] = ", ".join(sorted({getattr(e, "__name__", str(e)) for e in refused}))
    if failed:
        raise ServiceUnavailable(f"Kafka refused users or ACLs: {failed}", service="kafka")


# --------------------------------------------------------------------------- publisher
@dataclass
class PublishCounts:
    """What a publisher had acknowledged by the broker at its last flush."""

    published: int = 0
    dead_lettered: int = 0
    restricted: int = 0
    by_entity_type: dict[str, int] = field(default_factory=dict)
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)


def _json(value: Any) -> bytes:
    """Compact UTF-8 JSON of a message.

    orjson encodes an event ~10x faster than ``json.dumps`` (encoding was ~6 % of a sync
    worker's CPU) with the same bytes for JSON values; the one difference is the spelling of
    a float's negative exponent (``1e-7``, not ``1e-07``: the same number). What it refuses
    (an integer beyond 64 bits, a non-text key) goes through the standard encoder."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _redact_raw(value: Any, key: bytes) -> Any:
    """A copy of a raw record with emails and phone numbers replaced by their tokens."""
    if isinstance(value, str):
        return redact_text(value, key)
    if isinstance(value, dict):
        return {k: _redact_raw(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_raw(v, key) for v in value]
    return value


# 256 KiB batches instead of kafka-python's 16 KiB: a 2 KB event filled a batch every ~8
# sends, and each new batch wakes the sender thread and compresses separately. Measured on
# 22k real events (bench): producer CPU 5.5 s -> 2.8-3.4 s, same acks/idempotence/gzip.
_BATCH_BYTES = 256 * 1024

_ERRORS = {"normalize": "NormalizationError", "schema": "SchemaValidationError",
           "pii": "ClearPersonalData"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class OutMessage(NamedTuple):
    """One message ready to send: built (and checked) anywhere, sent by a :class:`Publisher`.

    ``counter`` says what an acknowledgement counts as (``event:<type>``,
    ``restricted:<what>``, ``deadletter:<stage>``). A tuple of plain values, so a worker
    process can build it and hand it back cheaply."""

    topic: str
    key: str
    value: bytes | None
    headers: list[tuple[str, bytes]]
    counter: str


class EventEncoder:
    """What a :class:`Publisher` sends, built without a producer: the check of a canonical
    record (schema, no clear PII), its event and restricted messages, dead-letter messages.

    Why apart from the producer: normalizing, checking and encoding are most of a sync's CPU
    and need no connection, so the sync runs them in worker processes (``ecohub.prepare``)
    while the one producer stays in the main process. Plain values only: it pickles.
    """

    def __init__(self, *, run_id: str, topic_prefix: str, pii_key: bytes,
                 pii_key_id: str | None) -> None:
        self.run_id, self.prefix = run_id, topic_prefix
        self.pii_key, self.pii_key_id = pii_key, pii_key_id

    @classmethod
    def from_settings(cls, settings: Settings, run_id: str) -> EventEncoder:
        return cls(run_id=run_id, topic_prefix=settings.kafka.topic_prefix,
                   pii_key=settings.pii_hmac_key.get_secret_value().encode("utf-8"),
                   pii_key_id=settings.pii_key_identifier())

    def problem(self, rec: CanonicalRecord) -> tuple[str, str] | None:
        """Why ``rec`` may not be published, as ``(stage, reason)``; ``None`` when it may.

        Callers that publish several entities of one source record check them all first, so a
        record is either wholly published or wholly dead-lettered (reconciliation counts
        records, not entities)."""
        event = to_event(rec, self.run_id, self.pii_key_id)
        try:
            validate_event(event)
        except SchemaValidationError as exc:
            return "schema", str(exc)
        leaks = find_clear_pii(event["data"]) if event["data"] else []
        if leaks:
            where = ", ".join(f"{f.kind} at {f.path}" for f in leaks)
            return "pii", f"clear personal data in the event: {where}"
        return None

    def messages(self, rec: CanonicalRecord) -> list[OutMessage]:
        """The event of a record already :meth:`problem`-free, then its restricted message
        (clear contact values; a tombstone for a delete), if any."""
        event = to_event(rec, self.run_id, self.pii_key_id)
        out = [OutMessage(topic_for(rec.entity_type, self.prefix), rec.entity_key, _json(event),
                          event_headers(event), f"event:{rec.entity_type}")]
        restricted = self._restricted(rec, event)
        if restricted is not None:
            out.append(restricted)
        return out

    def _restricted(self, rec: CanonicalRecord, event: dict[str, Any]) -> OutMessage | None:
        headers = [("schema_id", b"restricted_pii/v1"), ("run_id", self.run_id.encode())]
        topic = restricted_topic(self.prefix)
        if rec.operation == "delete":  # erase whatever personal data we held for the entity
            return OutMessage(topic, rec.entity_key, None, headers, "restricted:tombstone")
        if not rec.restricted:
            return None
        message = {
            "entitykey": rec.entity_key, "entitytype": rec.entity_type,
            "entityversion": rec.version, "operation": rec.operation, "runid": self.run_id,
            "sourceref": source_reference(event), "values": rec.restricted,
        }
        return OutMessage(topic, rec.entity_key, _json(message), headers, "restricted:values")

    def dead_letter(self, record: SourceRecord, reason: str, *, stage: str = "normalize",
                    entity_key: str | None = None, error: str | None = None) -> OutMessage:
        """The dead-letter message of a record that cannot be published, with its reason.

        The reason and the raw record have emails and phone numbers replaced by their tokens;
        the clear record stays in the landing zone (``landinguri``) for replay.
        """
        message = {
            "reason": redact_text(reason, self.pii_key) or "unspecified",
            "stage": stage,
            "error": error or _ERRORS.get(stage, "Error"),
            "sourceref": {"portal": record.portal, "stream": record.stream, "id": record.key,
                          "cursor": record.cursor},
            "landinguri": record.landing_uri,
            "runid": self.run_id,
            "entitykey": entity_key,
            "deadletteredat": _now(),
            "record": {"deleted": record.deleted,
                       "data": _redact_raw(record.data if isinstance(record.data, dict) else
                                           {"value": record.data}, self.pii_key)},
        }
        side_message_validator("deadletter").validate(message)
        headers = [("schema_id", b"deadletter/v1"), ("run_id", self.run_id.encode()),
                   ("stage", stage.encode())]
        return OutMessage(deadletter_topic(self.prefix), record.ref, _json(message), headers,
                          f"deadletter:{stage}")


CLOSE_TIMEOUT_S = 60.0
"""How long :meth:`Publisher.close` waits for the broker to acknowledge what is pending (as
:meth:`Publisher.flush`); past it the pending messages are abandoned and the close raises."""


class Publisher:
    """Publishes canonical records as events; dead-letters what may not be published.

    Use one per run: ``publish`` each record (or :meth:`send` messages an
    :attr:`encoder` built elsewhere), ``flush`` at each batch boundary (it raises
    :class:`ServiceUnavailable` if the broker did not take everything), ``close`` at the end.
    """

    def __init__(self, settings: Settings, *, run_id: str) -> None:
        self._settings = settings
        self._run_id = run_id
        self.encoder = EventEncoder.from_settings(settings, run_id)
        self._counts = PublishCounts()
        self._pending: Counter[str] = Counter()  # sent since the last flush, by counter
        self._failed: list[tuple[str, str]] = []  # (counter, error) reported by the client
        self._errbacks: dict[str, Callable[[BaseException], None]] = {}  # one per counter
        self._producer = producer(
            settings, client_id=f"ecohub-publisher-{run_id}", batch_size=_BATCH_BYTES
        )

    def send(self, message: OutMessage) -> None:
        """Send one prepared message; its acknowledgement is counted at :meth:`flush`.

        Why so bare: a send allocates nothing of its own. The future gets its counter's one
        errback (failures are rare); what was acknowledged is what was sent less what failed,
        counted once, by the flush that waits anyway. Two closures and a counting callback
        per message cost 4 us of CPU per message over the bare client (12 %), and twice the
        garbage collections; keeping the futures until the flush, 1.5x the collections."""
        topic, counter = message.topic, message.counter
        try:
            future = self._producer.send(topic, key=message.key.encode("utf-8"),
                                         value=message.value, headers=message.headers)
        except KafkaError as exc:  # e.g. no metadata within max_block_ms: the broker is down
            raise ServiceUnavailable(f"Kafka did not take a message: {exc}", service="kafka",
                                     topic=topic) from exc
        errback = self._errbacks.get(counter)
        if errback is None:
            errback = self._errbacks[counter] = partial(self._on_failure, counter)
        future.add_errback(errback)
        self._pending[counter] += 1

    def _on_failure(self, counter: str, exc: BaseException) -> None:
        """In the client's sender thread: one message was not acknowledged."""
        self._failed.append((counter, f"{counter}: {exc}"))

    def _count(self, counter: str, n: int) -> None:
        kind, _, detail = counter.partition(":")
        if kind == "event":
            self._counts.published += n
            by_type = self._counts.by_entity_type
            by_type[detail] = by_type.get(detail, 0) + n
        elif kind == "restricted":
            self._counts.restricted += n
        else:
            self._counts.dead_lettered += n
            reasons = self._counts.dead_letter_reasons
            reasons[detail] = reasons.get(detail, 0) + n

    def problem(self, rec: CanonicalRecord) -> tuple[str, str] | None:
        """See :meth:`EventEncoder.problem`."""
        return self.encoder.problem(rec)

    def publish(self, rec: CanonicalRecord, *, checked: bool = False) -> None:
        """Send one record (and its restricted values); dead-letter it if it fails
        :meth:`problem` (skipped when the caller already ``checked`` it)."""
        problem = None if checked else self.problem(rec)
        if problem is not None:
            stage, reason = problem
            self.dead_letter(rec.source, reason, stage=stage, entity_key=rec.entity_key)
            return
        for message in self.encoder.messages(rec):
            self.send(message)

    def dead_letter(self, record: SourceRecord, reason: str, *, stage: str = "normalize",
                    entity_key: str | None = None, error: str | None = None) -> None:
        """Send a record that cannot be published to the dead-letter topic, with its reason
        (see :meth:`EventEncoder.dead_letter`)."""
        self.send(self.encoder.dead_letter(record, reason, stage=stage, entity_key=entity_key,
                                           error=error))

    def flush(self, timeout: float | None = 60.0) -> PublishCounts:
        """Wait for the broker to acknowledge everything sent; raise if anything failed."""
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:  # still pending: a later flush or close settles them
            raise ServiceUnavailable(f"Kafka flush failed: {exc}", service="kafka") from exc
        # everything sent so far is done now, and each failure was reported (one thread sends
        # and flushes at a time: each caller holds its own publisher, or a lock)
        pending, self._pending = self._pending, Counter()
        failed, self._failed = self._failed, []
        for counter, n in (pending - Counter(counter for counter, _ in failed)).items():
            self._count(counter, n)
        if failed:
            raise ServiceUnavailable(
                f"{len(failed)} message(s) not acknowledged by Kafka", first=failed[0][1]
            )
        return PublishCounts(
            published=self._counts.published,
            dead_lettered=self._counts.dead_lettered,
            restricted=self._counts.restricted,
            by_entity_type=dict(self._counts.by_entity_type),
            dead_letter_reasons=dict(self._counts.dead_letter_reasons),
        )

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Flush (up to ``timeout`` seconds) and release the producer.

        Bounded even when the broker cannot take what is pending (a topic deleted under the
        run, a broker down): the pending messages are then abandoned and
        :class:`ServiceUnavailable` is raised, so the caller does not advance its cursor."""
        try:
            self.flush(timeout)
        except BaseException:
            self._abandon()
            raise
        try:
            self._producer.close(timeout=timeout)  # nothing pending: returns at once
        except KafkaError as exc:  # sent by another thread meanwhile and not acknowledged
            self._abandon()
            raise ServiceUnavailable(f"Kafka did not take the last messages: {exc}",
                                     service="kafka") from exc

    def _abandon(self) -> None:
        """Stop the producer without waiting for the messages it still holds.

        kafka-python has no public abort: ``close(timeout)`` flushes first and re-raises that
        flush's timeout, leaving its sender thread retrying the batches until
        ``delivery_timeout_ms`` (2 min) and the producer open. So the sender is force-closed
        (it fails the pending batches) before the producer's own close."""
        self._pending, self._failed = Counter(), []  # abandoned: never counted as published
        sender = getattr(self._producer, "_sender", None)
        if sender is not None:
            sender.force_close()
            sender.join(5.0)
        try:
            self._producer.close(timeout=0)
        except KafkaError as exc:  # nothing more can be done; the caller raises already
            log.warning("Kafka producer not closed cleanly: %s", exc)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- consumer
@dataclass(frozen=True)
class ConsumedEvent:
    """One event as a downstream app sees it: the envelope (always in the current version,
    :func:`ecohub.events.upgrade_envelope`) plus where it was read."""

    topic: str
    partition: int
    offset: int
    key: str
    headers: dict[str, str]
    envelope: dict[str, Any]

    @property
    def entity_type(self) -> str:
        return str(self.envelope["entitytype"])

    @property
    def entity_key(self) -> str:
        return str(self.envelope["entitykey"])

    @property
    def entity_version(self) -> int:
        return int(self.envelope["entityversion"])

    @property
    def operation(self) -> str:
        return str(self.envelope["operation"])

    @property
    def data(self) -> dict[str, Any] | None:
        data = self.envelope.get("data")
        return data if isinstance(data, dict) else None


class EventConsumer:
    """Typed consumer of entity topics: validated envelopes, manual commits (at-least-once).

    Iterate (or :meth:`poll`) and call :meth:`commit` after *your* side effects are durable:
    a crash in between re-delivers the events, which are safe to apply again if you de-duplicate
    by ``(entitykey, entityversion)`` (docs/events/delivery-semantics.md). An event that does
    not validate raises :class:`SchemaValidationError` naming topic, partition and offset.
    """

    def __init__(self, settings: Settings, topics: list[str], group_id: str, *,
                 auto_offset_reset: str = "earliest", validate: bool = True,
                 consumer_timeout_ms: float = float("inf")) -> None:
        self._validate = validate
        self._consumer = consumer(
            settings,
            *topics,
            group_id=group_id,
            auto_offset_reset=auto_offset_reset,
            consumer_timeout_ms=consumer_timeout_ms,
        )

    def _decode(self, message: Any) -> ConsumedEvent | None:
        if message.value is None:  # tombstone (restricted topic): nothing to decode
            return None
        envelope = upgrade_envelope(json.loads(message.value.decode("utf-8")))
        if self._validate:
            try:
                validate_event(envelope)
            except SchemaValidationError as exc:
                raise SchemaValidationError(exc.message, topic=message.topic,
                                            partition=message.partition,
                                            offset=message.offset) from None
        return ConsumedEvent(
            topic=message.topic, partition=message.partition, offset=message.offset,
            key=message.key.decode("utf-8") if message.key else "",
            headers={k: v.decode("utf-8") for k, v in (message.headers or [])},
            envelope=envelope,
        )

    def __iter__(self) -> Iterator[ConsumedEvent]:
        for message in self._consumer:
            event = self._decode(message)
            if event is not None:
                yield event

    def poll(self, timeout_ms: int = 1000, max_records: int | None = None) -> list[ConsumedEvent]:
        batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        events = [self._decode(m) for messages in batches.values() for m in messages]
        return [e for e in events if e is not None]

    def commit(self) -> None:
        """Commit the offsets of everything returned so far."""
        self._consumer.commit()

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> EventConsumer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

