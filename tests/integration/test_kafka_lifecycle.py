"""Topic creation and producer shutdown on the shared broker, in the situations that used to
hang or race: topics used right after creation, a topic deleted under a running publisher.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient

from ecohub.errors import ServiceUnavailable
from ecohub.kafka import (
    TOPICS_READY_TIMEOUT_S,
    Publisher,
    client_config,
    deadletter_topic,
    ensure_topics,
)
from ecohub.records import SourceRecord
from ecohub.settings import Settings, load_settings
from tests.fixtures.kafka_topics import kafka_config, unique_tag

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka_bootstrap: str) -> Iterator[Settings]:
    prefix = f"life{unique_tag()}"
    yield load_settings({
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ECOHUB_KAFKA__TOPIC_PREFIX": prefix,
        "ECOHUB_KAFKA__PARTITIONS": "2",
        "ECOHUB_PII_HMAC_KEY": "integration-test-key",
    })
    admin = KafkaAdminClient(**kafka_config(kafka_bootstrap))
    try:
        mine = [t for t in admin.list_topics() if t.startswith(f"{prefix}.")]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def test_ensure_topics_waits_for_a_leader_on_every_partition_with_its_own_budget(
    settings, monkeypatch
):
    """kafka-python's ``wait_for_metadata=True`` gives up after 10 s, less than a busy KRaft
    controller may need; ensure_topics waits with its own, longer budget, for every topic."""
    calls: list[tuple[list[str], Any]] = []
    original = KafkaAdminClient.wait_for_topics

    def spy(self: KafkaAdminClient, names: list[str], timeout_ms: Any = None) -> None:
        calls.append((sorted(names), timeout_ms))
        original(self, names, timeout_ms=timeout_ms)

    monkeypatch.setattr(KafkaAdminClient, "wait_for_topics", spy)
    names = ensure_topics(settings)
    assert TOPICS_READY_TIMEOUT_S > 10
    assert calls == [(sorted(names), int(TOPICS_READY_TIMEOUT_S * 1000))]
    assert ensure_topics(settings, ready_timeout_s=45) == names  # existing topics: waited too
    assert calls[1] == (sorted(names), 45_000)

    admin = KafkaAdminClient(**client_config(settings.kafka))
    try:
        described = admin.describe_topics(names)
    finally:
        admin.close()
    assert sorted(t["name"] for t in described) == sorted(names)
    leaders = [p["leader_id"] for t in described for p in t["partitions"]]
    assert len(leaders) == 2 * len(names) and min(leaders) >= 0


def _producer_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive() and "kafka" in t.name.lower()}


def test_close_after_the_topic_was_deleted_raises_within_its_timeout(settings):
    """The broker can no longer take a pending message (its topic was deleted): close() gives
    up after its timeout with ServiceUnavailable and stops the producer's thread, instead of
    blocking until kafka-python's delivery timeout (2 min) and then leaving it running."""
    ensure_topics(settings)
    before = _producer_threads()
    record = SourceRecord("techport", "suppliers", "TP-1", {"name": "x"})
    publisher = Publisher(settings, run_id="life-close")
    publisher.dead_letter(record, "first")
    assert publisher.flush().dead_lettered == 1

    topic = deadletter_topic(settings.kafka.topic_prefix)
    admin = KafkaAdminClient(**client_config(settings.kafka))
    try:
        admin.delete_topics([topic])
        while topic in admin.list_topics():  # deletion is asynchronous
            time.sleep(0.2)
    finally:
        admin.close()
    publisher.dead_letter(record, "second")  # accepted: the producer still has the metadata

    outcome: dict[str, BaseException] = {}

    def close() -> None:
        try:
            publisher.close(timeout=2.0)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    closer.join(60)  # a hang guard, far above the 2 s asked for
    assert not closer.is_alive(), "Publisher.close(timeout=2) still blocked after 60 s"
    assert isinstance(outcome.get("error"), ServiceUnavailable), outcome
    assert "Kafka" in str(outcome["error"])
    assert _producer_threads() - before == set()  # the sender thread is gone
