"""The loader against the real Kafka broker and a real warehouse (SQLite and PostgreSQL).

Each test uses its own topic prefix and consumer group, so parallel runs never collide.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import select

from ecohub.db import get_engine
from ecohub.events import event_headers, side_message_validator
from ecohub.kafka import client_config, ensure_topics
from ecohub.loader import consume, lag, quarantine_topic
from ecohub.settings import Settings, load_settings
from ecohub.warehouse import checksums, init_db
from ecohub.warehouse.offsets import reset_offsets
from ecohub.warehouse.runs import reconcile, record_extract
from ecohub.warehouse.tables import quarantine
from tests.fixtures.kafka_topics import unique_tag
from tests.fixtures.warehouse_sample import make_event, sample_data, temporary_postgres_database

pytestmark = pytest.mark.integration

RUN = "techport-20250305T073000Z-5e6f7a8b"


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/warehouse.db"
    else:
        with temporary_postgres_database() as url:
            yield url
            get_engine(url).dispose()


def _settings(url: str, prefix: str) -> Settings:
    return load_settings(
        {
            "ECOHUB_WAREHOUSE_URL": url,
            "ECOHUB_KAFKA__TOPIC_PREFIX": prefix,
            "ECOHUB_KAFKA__CONSUMER_GROUP": f"{prefix}-loader",
            "ECOHUB_KAFKA__PARTITIONS": "3",
        }
    )


def _events() -> tuple[list[dict], int]:
    """Three suppliers, one updated, one deleted, plus two bad events; returns (events, bad)."""

    def org(sid, name, tax, version, operation="update"):
        data = (
            None
            if operation == "delete"
            else sample_data(
                "organization",
                "techport",
                sid,
                name=name,
                tax_code={
                    "text": tax,
                    "valid": True,
                    "value": tax,
                    "parent": tax,
                    "branch": None,
                    "reason": None,
                },
            )
        )
        return make_event(
            "organization", sid, data, version=version, operation=operation, runid=RUN
        )

    good = [
        org(
            "TP-NCC-0001",
            "Công ty TNHH Cơ khí Bách Việt",
            "0301112223",
            1_741_159_800_000,
            "create",
        ),
        org("TP-NCC-0001", "Công ty Cổ phần Cơ khí Bách Việt", "0301112223", 1_748_736_000_000),
        org("TP-NCC-0002", "Viện Sinh học Nhiệt đới", "0301234560", 1_741_159_800_000, "create"),
        org("TP-NCC-0002", None, "", 1_750_000_000_000, "delete"),
        org(
            "TP-NCC-0003",
            "Trung tâm Thiết kế Chế tạo Thiết bị mới",
            "0302223334",
            1_741_159_800_000,
        ),
    ]
    bad = [
        {**org("TP-NCC-0004", "X", "123", 1_741_159_800_000)},  # name too short, bad tax code
        {**good[4], "id": str(uuid.uuid4()), "entityversion": -5},
    ]
    return good + bad, len(bad)


def _publish(settings: Settings, events: list[dict]) -> None:
    ensure_topics(settings)
    producer = KafkaProducer(**client_config(settings.kafka), acks="all")
    topic = f"{settings.kafka.topic_prefix}.organization.v1"
    for event in events:
        producer.send(
            topic,
            key=event["entitykey"].encode(),
            value=json.dumps(event).encode(),
            headers=event_headers(event),
        )
    producer.send(
        topic,
        key=b"techport:organization:broken",
        value=b"\x00not json",
        headers=[("run_id", RUN.encode())],
    )
    producer.flush()
    producer.close()


def _quarantine_messages(settings: Settings) -> list[dict]:
    consumer = KafkaConsumer(
        quarantine_topic(settings),
        **client_config(settings.kafka),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        group_id=None,
    )
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def test_bad_records_are_quarantined_and_the_run_balances(warehouse_url):
    prefix = f"it{unique_tag()}"
    settings = _settings(warehouse_url, prefix)
    events, bad = _events()
    _publish(settings, events)
    engine = get_engine(warehouse_url)
    init_db(engine)
    record_extract(
        engine,
        RUN,
        "techport",
        "nha-cung-cap",
        fetched=len(events) + 2,
        published=len(events) + 1,
        dead_lettered=1,
        events=len(events) + 1,
    )

    stats = consume(settings, idle_timeout_s=1)
    balance = reconcile(engine, RUN, consumer_lag=sum(lag(settings).values()))

    assert (stats.loaded, stats.quarantined) == (len(events) - bad, bad + 1)
    assert (balance.status, balance.loaded, balance.quarantined) == ("balanced", 5, 3)
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.entity_key, quarantine.c.failed_expectations)).all()
    named = {key: sorted(names) for key, names in rows}
    assert named["techport:organization:TP-NCC-0004"] == [
        "organization.name.length",
        "organization.tax_code.format",
    ]
    assert named["techport:organization:TP-NCC-0003"] == [
        "envelope.entityversion.plausible_epoch_ms"
    ]
    assert named[None] == ["envelope.value_is_json_object"]
    on_topic = _quarantine_messages(settings)
    validator = side_message_validator("quarantine")
    assert sorted(len(m["expectations"]) for m in on_topic) == [1, 1, 2]
    assert [list(validator.iter_errors(m)) for m in on_topic] == [[], [], []]


def test_replaying_every_topic_changes_nothing_and_two_replays_agree(warehouse_url, tmp_path):
    prefix = f"it{unique_tag()}"
    settings = _settings(warehouse_url, prefix)
    events, _ = _events()
    _publish(settings, events)

    consume(settings, idle_timeout_s=1)
    engine = get_engine(warehouse_url)
    first = checksums(engine)
    reset_offsets(engine, settings.kafka.consumer_group)
    replay = consume(settings, idle_timeout_s=1)

    assert replay.messages == len(events) + 1
    assert checksums(engine) == first
    other = _settings(f"sqlite:///{tmp_path}/second.db", prefix)
    consume(other, idle_timeout_s=1)
    assert checksums(get_engine(other.warehouse_url)) == first


def test_a_restarted_loader_resumes_from_the_warehouse_offsets(warehouse_url):
    prefix = f"it{unique_tag()}"
    settings = _settings(warehouse_url, prefix)
    events, _ = _events()
    _publish(settings, events)

    first = consume(settings, idle_timeout_s=1, max_batches=1, batch_size=2)
    rest = consume(settings, idle_timeout_s=1)

    assert first.messages == 2
    assert first.messages + rest.messages == len(events) + 1
    assert rest.skipped == 0
    assert sum(lag(settings).values()) == 0


def test_several_loader_processes_in_one_group_load_what_one_loader_does(warehouse_url, tmp_path):
    prefix = f"it{unique_tag()}"
    settings = _settings(warehouse_url, prefix)
    events, bad = _events()
    _publish(settings, events)

    stats = consume(settings, idle_timeout_s=1, workers=3)  # one member per partition

    assert (stats.messages, stats.loaded, stats.quarantined) == (
        len(events) + 1, len(events) - bad, bad + 1)  # fmt: skip
    assert sum(lag(settings).values()) == 0
    alone = _settings(f"sqlite:///{tmp_path}/alone.db", prefix)
    consume(alone, idle_timeout_s=1)
    assert checksums(get_engine(warehouse_url)) == checksums(get_engine(alone.warehouse_url))
