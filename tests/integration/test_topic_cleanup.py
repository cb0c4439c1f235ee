"""The integration session's topic cleanup deletes its own topics only: a concurrent session on
the same broker (another engineer, another CI job) keeps the topics it is still writing to."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaAdminClient

from tests.fixtures.kafka_topics import (
    SESSION_MARK,
    delete_marked_topics,
    kafka_config,
    marked,
    unique_tag,
)

pytestmark = pytest.mark.integration


def test_marks_select_one_sessions_topics_and_never_the_hubs_or_kafkas():
    other = "s0123456789"
    names = [f"evt{unique_tag()}.organization.v1", f"evt{unique_tag(other)}.organization.v1",
             f"ecohub.x{unique_tag()}.organization.v1", "__consumer_offsets",
             "ecohub.organization.v1"]  # fmt: skip
    assert marked(names) == [names[0]]
    assert marked(names, other) == [names[1]]
    assert SESSION_MARK in unique_tag() and unique_tag() != unique_tag()


def test_cleanup_deletes_its_sessions_topics_and_leaves_a_concurrent_sessions(kafka_bootstrap):
    mine, theirs = f"s{uuid.uuid4().hex[:10]}", f"s{uuid.uuid4().hex[:10]}"  # two sessions
    topics = {
        "own": f"it{unique_tag(mine)}.organization.v1",
        "concurrent": f"it{unique_tag(theirs)}.organization.v1",
        "hub": f"ecohub.it{unique_tag(mine)}.organization.v1",
    }
    admin = KafkaAdminClient(**kafka_config(kafka_bootstrap))
    try:
        admin.create_topics({name: {"num_partitions": 1, "replication_factor": 1}
                             for name in topics.values()}, wait_for_metadata=True)  # fmt: skip
        assert delete_marked_topics(kafka_bootstrap, mine) == [topics["own"]]
        deadline = time.monotonic() + 60
        while topics["own"] in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.2)  # deletion is asynchronous
        left = set(admin.list_topics())
        assert (topics["own"] in left, topics["concurrent"] in left, topics["hub"] in left) == (
            False, True, True)  # fmt: skip
    finally:
        admin.delete_topics([t for t in (topics["concurrent"], topics["hub"])
                             if t in admin.list_topics()])  # fmt: skip
        admin.close()
