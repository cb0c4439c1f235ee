"""The event contract on a real Kafka broker, fed by a full sync of the three simulators.

Runs the real connectors against the simulators (real sockets), normalizes with
ecohub.normalize, publishes with ecohub.kafka.Publisher to topics under a unique prefix, then
reads every topic back and checks: topic configuration, keys and headers, every message valid
against its schema with an independent validator (jsonschema Draft202012Validator on the
committed schema files), dead letters with their reasons, no clear email or phone on any shared
topic, and the clear values on the restricted topic only.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

import simulators
from connectors import get_connector
from ecohub.errors import DataQualityError
from ecohub.kafka import EventConsumer, Publisher, client_config, ensure_topics
from ecohub.landing import Landing
from ecohub.normalize import normalize
from ecohub.normalize.pii import find_clear_pii
from ecohub.records import SourceRecord
from ecohub.settings import Settings, load_settings
from tests.fixtures.kafka_topics import kafka_config, unique_tag

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
PORTALS = ("stinet", "techport", "hoip")


def validator(relative: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / relative).read_text(encoding="utf-8")))


def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every message of a topic, from the beginning to the current end."""
    consumer = KafkaConsumer(**kafka_config(bootstrap), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        messages: list[Any] = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=1000).values():
                messages.extend(batch)
        return messages
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    prefix = f"evt{unique_tag()}"
    return load_settings({
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ECOHUB_KAFKA__TOPIC_PREFIX": prefix,
        "ECOHUB_KAFKA__PARTITIONS": "2",
        "ECOHUB_KAFKA__RETENTION_MS": "86400000",
        "ECOHUB_LANDING__URL": f"file://{tmp_path_factory.mktemp('landing')}",
        "ECOHUB_PII_HMAC_KEY": "integration-test-key",
    })


@pytest.fixture(scope="module")
def topics(settings: Settings) -> Iterator[list[str]]:
    names = ensure_topics(settings)
    yield names
    admin = KafkaAdminClient(**client_config(settings.kafka))
    try:
        admin.delete_topics(names)
    finally:
        admin.close()


@pytest.fixture(scope="module")
def synced(settings: Settings, topics: list[str]) -> dict[str, Any]:
    """A full sync of the three simulators published to Kafka; returns what was sent."""
    servers = {p: simulators.start(p, scale="small", seed=42, port=0) for p in PORTALS}
    env = {f"ECOHUB_{p.upper()}__BASE_URL": s.url for p, s in servers.items()}
    sync_settings = load_settings({**env, "ECOHUB_LANDING__URL": settings.landing.url})
    landing = Landing.from_settings(sync_settings)
    key = settings.pii_hmac_key.get_secret_value().encode()
    sent: Counter[str] = Counter()
    clear_values: set[str] = set()
    dead: list[str] = []
    try:
        with Publisher(settings, run_id="it-run") as publisher:
            for portal in PORTALS:
                connector = get_connector(portal, sync_settings)
                for stream in connector.stream_names:
                    for batch in connector.read(stream, state=None, run_id="it-run",
                                                landing=landing):
                        for record in batch.records:
                            try:
                                entities = normalize(record, pii_key=key)
                            except DataQualityError as exc:
                                publisher.dead_letter(record, str(exc))
                                dead.append(record.ref)
                                continue
                            for entity in entities:
                                publisher.publish(entity)
                                sent[entity.entity_type] += 1
                                clear_values |= {v["value"] for v in entity.restricted.values()}
                        counts = publisher.flush()
    finally:
        for server in servers.values():
            server.stop()
    return {"sent": sent, "dead": dead, "counts": counts, "clear": clear_values}


def test_topics_are_created_with_the_configured_config(settings: Settings,
                                                       topics: list[str]) -> None:
    prefix = settings.kafka.topic_prefix
    assert ensure_topics(settings) == topics  # idempotent
    admin = KafkaAdminClient(**client_config(settings.kafka))
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(topics)}
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics])
    finally:
        admin.close()
    assert described == dict.fromkeys(topics, 2)
    found = configs["topic"]

    def value(topic: str, key: str) -> str:
        return str(found[topic][key]["value"])

    assert {name: value(name, "cleanup.policy") for name in topics} == {
        **{name: "compact" for name in topics},
        f"{prefix}.deadletter.v1": "delete",
        f"{prefix}.quarantine.v1": "delete",
    }
    assert value(f"{prefix}.deadletter.v1", "retention.ms") == "86400000"
    assert value(f"{prefix}.restricted.pii.v1", "delete.retention.ms") == "86400000"


def test_every_entity_message_validates_with_key_and_headers(settings: Settings,
                                                             synced: dict[str, Any]) -> None:
    envelope = validator("envelope.v2.json")
    prefix = settings.kafka.topic_prefix
    received: Counter[str] = Counter()
    for entity_type, count in synced["sent"].items():
        entity = validator(f"entities/{entity_type}.v1.json")
        messages = read_all(settings.kafka.bootstrap_servers, f"{prefix}.{entity_type}.v1")
        for message in messages:
            event = json.loads(message.value)
            assert list(envelope.iter_errors(event)) == []
            if event["data"] is not None:
                assert list(entity.iter_errors(event["data"])) == []
            assert message.key.decode() == event["entitykey"]
            assert dict((k, v.decode()) for k, v in message.headers) == {
                "content-type": "application/cloudevents+json; charset=utf-8",
                "schema_id": f"{entity_type}/v1", "run_id": "it-run"}
        received[entity_type] = len(messages)
        assert len(messages) == count
    assert set(received) >= {"organization", "person", "research_project", "document",
                             "technology_offer", "technology_demand", "startup_project",
                             "programme", "challenge", "support_application"}
    assert synced["counts"].published == sum(synced["sent"].values())


def test_records_that_fail_normalization_are_dead_lettered_with_reason(
        settings: Settings, synced: dict[str, Any]) -> None:
    messages = read_all(settings.kafka.bootstrap_servers,
                        f"{settings.kafka.topic_prefix}.deadletter.v1")
    schema = validator("deadletter.v1.json")
    letters = [json.loads(m.value) for m in messages]
    assert all(list(schema.iter_errors(letter)) == [] for letter in letters)
    by_ref = {m.key.decode(): json.loads(m.value) for m in messages}
    assert sorted(by_ref) == sorted(synced["dead"])
    assert synced["dead"], "the simulators serve faulty records; some must be dead-lettered"
    for letter in by_ref.values():
        assert letter["reason"].startswith("required field")
        assert letter["stage"] == "normalize"
        assert letter["landinguri"].startswith("file://")
        assert letter["runid"] == "it-run"


def test_a_record_failing_normalization_lands_in_the_dlq(settings: Settings,
                                                        topics: list[str]) -> None:
    record = SourceRecord("techport", "cong-nghe", "999001",
                          {"ten_cong_nghe": "", "ngay_cap_nhat": "01/03/2026 09:40",
                           "mo_ta": "gọi 0903 123 456"},
                          landing_uri="s3://ecohub-landing/techport/cong-nghe/x/page-1.json.gz")
    with Publisher(settings, run_id="it-dlq") as publisher:
        with pytest.raises(DataQualityError) as caught:
            normalize(record, pii_key=b"k")
        publisher.dead_letter(record, str(caught.value))
        assert publisher.flush().dead_lettered == 1
    messages = read_all(settings.kafka.bootstrap_servers,
                        f"{settings.kafka.topic_prefix}.deadletter.v1")
    (letter,) = [json.loads(m.value) for m in messages if m.key == b"techport:cong-nghe:999001"]
    assert letter["reason"].startswith("required field 'ten_cong_nghe' is missing or empty")
    assert letter["sourceref"] == {"portal": "techport", "stream": "cong-nghe", "id": "999001",
                                   "cursor": None}
    assert letter["landinguri"] == "s3://ecohub-landing/techport/cong-nghe/x/page-1.json.gz"
    assert letter["record"]["data"]["mo_ta"].startswith("gọi hmac:sha256:")


def test_no_clear_email_or_phone_on_shared_topics(settings: Settings,
                                                  synced: dict[str, Any]) -> None:
    prefix = settings.kafka.topic_prefix
    shared = [f"{prefix}.{t}.v1" for t in synced["sent"]] + [f"{prefix}.deadletter.v1"]
    clear = synced["clear"]
    assert clear, "the simulators serve contacts; some clear values must exist"
    for topic in shared:
        for message in read_all(settings.kafka.bootstrap_servers, topic):
            text = message.value.decode("utf-8")
            assert find_clear_pii(json.loads(text)["data"] if ".deadletter." not in topic
                                  else json.loads(text)["record"]) == []
            assert not [v for v in clear if v in text]


def test_clear_values_go_to_the_restricted_topic_only(settings: Settings,
                                                      synced: dict[str, Any]) -> None:
    messages = read_all(settings.kafka.bootstrap_servers,
                        f"{settings.kafka.topic_prefix}.restricted.pii.v1")
    schema = validator("restricted_pii.v1.json")
    values = set()
    for message in messages:
        if message.value is None:  # tombstone of a deleted entity
            continue
        payload = json.loads(message.value)
        assert list(schema.iter_errors(payload)) == []
        assert message.key.decode() == payload["entitykey"]
        values |= {v["value"] for v in payload["values"].values()}
    assert values == synced["clear"]


def test_typed_consumer_reads_back_events(settings: Settings, synced: dict[str, Any]) -> None:
    topic = f"{settings.kafka.topic_prefix}.programme.v1"
    with EventConsumer(settings, [topic], group_id=f"it-{uuid.uuid4().hex[:6]}",
                       consumer_timeout_ms=5000) as consumer:
        events = list(consumer)
        consumer.commit()
    assert len(events) == synced["sent"]["programme"]
    assert all(e.entity_type == "programme" and e.key == e.entity_key for e in events)
    assert all(e.headers["schema_id"] == "programme/v1" for e in events)
