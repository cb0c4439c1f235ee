"""The loader gathers a micro-batch over several polls (pure logic: a scripted consumer)."""

from __future__ import annotations

from collections import namedtuple

import pytest
from kafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from ecohub import loader
from ecohub.errors import ServiceUnavailable
from ecohub.loader import _gather, _Outage, _Seeker

Record = namedtuple("Record", "topic partition offset value key headers")
TP = namedtuple("TP", "topic partition")


def _records(topic: str, partition: int, start: int, count: int) -> dict:
    tp = TP(topic, partition)
    return {tp: [Record(topic, partition, start + i, b"{}", None, []) for i in range(count)]}


class ScriptedConsumer:
    """Returns one scripted poll result per call; a callable entry runs first (a rebalance)."""

    def __init__(self, script: list) -> None:
        self.script = list(script)
        self.asked: list[int | None] = []

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        self.asked.append(max_records)
        if not self.script:
            return {}
        step = self.script.pop(0)
        if callable(step):
            return step()
        return step


def _outages(limit_s: float = 60.0) -> dict[str, _Outage]:
    return {"kafka": _Outage(limit_s), "warehouse": _Outage(limit_s)}


def _refused() -> dict:
    raise KafkaConnectionError("111 ECONNREFUSED")  # as ensure_coordinator_ready raises it


def _coordinates(messages) -> list[tuple[str, int, int]]:
    return [(m.topic, m.partition, m.offset) for m in messages]


def test_polls_until_the_batch_is_full_and_asks_only_for_what_is_missing():
    consumer = ScriptedConsumer(
        [_records("t", 0, 0, 4), _records("t", 1, 0, 3), _records("t", 0, 4, 3)]
    )

    batch = _gather(consumer, _Seeker(consumer, None, "g"), batch_size=10, linger_s=60,
                    outages=_outages())

    assert consumer.asked == [10, 6, 3]
    assert _coordinates(batch) == [
        *[("t", 0, i) for i in range(7)],
        *[("t", 1, i) for i in range(3)],
    ]


def test_stops_when_a_poll_finds_nothing_more():
    consumer = ScriptedConsumer([_records("t", 0, 0, 2), {}, _records("t", 0, 2, 2)])

    batch = _gather(consumer, _Seeker(consumer, None, "g"), batch_size=10, linger_s=60,
                    outages=_outages())

    assert _coordinates(batch) == [("t", 0, 0), ("t", 0, 1)]
    assert len(consumer.script) == 1  # the third poll waits for the next batch


def test_a_rebalance_while_gathering_drops_what_was_held_before_it():
    consumer = ScriptedConsumer([])
    seeker = _Seeker(consumer, None, "g")

    def rebalance() -> dict:
        seeker.rebalances += 1  # as on_partitions_revoked/assigned do (they need Kafka)
        return _records("t", 1, 5, 2)

    consumer.script = [_records("t", 0, 0, 3), rebalance, _records("t", 1, 7, 1), {}]

    batch = _gather(consumer, seeker, batch_size=10, linger_s=60,
                    outages=_outages())

    assert _coordinates(batch) == [("t", 1, 5), ("t", 1, 6), ("t", 1, 7)]


def test_what_the_joining_poll_returns_is_kept():
    consumer = ScriptedConsumer([])
    seeker = _Seeker(consumer, None, "g")

    def join() -> dict:
        seeker.rebalances += 1  # the first poll joins the group and is assigned partitions
        return _records("t", 0, 0, 2)

    consumer.script = [join, _records("t", 0, 2, 1), {}]

    batch = _gather(consumer, seeker, batch_size=10, linger_s=60,
                    outages=_outages())

    assert _coordinates(batch) == [("t", 0, 0), ("t", 0, 1), ("t", 0, 2)]


@pytest.fixture
def sleeps(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(loader.time, "sleep", slept.append)
    return slept


def test_a_broker_gone_at_the_first_poll_is_waited_out_with_backoff(sleeps):
    consumer = ScriptedConsumer([_refused, _refused, _records("t", 0, 0, 2), {}])

    batch = _gather(consumer, _Seeker(consumer, None, "g"), batch_size=10, linger_s=60,
                    outages=_outages())

    assert _coordinates(batch) == [("t", 0, 0), ("t", 0, 1)]
    assert sleeps == [0.5, 1.0]


def test_a_broker_gone_while_gathering_loads_what_is_held(sleeps):
    consumer = ScriptedConsumer([_records("t", 0, 0, 3), _refused, _records("t", 0, 3, 1)])

    batch = _gather(consumer, _Seeker(consumer, None, "g"), batch_size=10, linger_s=60,
                    outages=_outages())

    assert _coordinates(batch) == [("t", 0, 0), ("t", 0, 1), ("t", 0, 2)]  # polled past
    assert sleeps == [] and len(consumer.script) == 1  # the next gather waits the outage out


def test_a_broker_gone_past_the_limit_is_service_unavailable(sleeps):
    consumer = ScriptedConsumer([_refused] * 5)

    with pytest.raises(ServiceUnavailable, match=r"kafka unavailable for .*ECONNREFUSED"):
        _gather(consumer, _Seeker(consumer, None, "g"), batch_size=10, linger_s=60,
                outages=_outages(limit_s=0.0))


def test_a_client_error_that_is_no_outage_propagates_at_once(sleeps):
    def refused_topic() -> dict:
        raise TopicAuthorizationFailedError("not allowed")

    consumer = ScriptedConsumer([refused_topic])

    with pytest.raises(TopicAuthorizationFailedError):
        _gather(consumer, _Seeker(consumer, None, "g"), batch_size=10, linger_s=60,
                outages=_outages())
    assert sleeps == []


def test_a_broker_gone_during_a_rejoin_drops_what_was_held(sleeps):
    """The failed poll had revoked the partitions (a rejoin): their new owner reads them."""
    consumer = ScriptedConsumer([])
    seeker = _Seeker(consumer, None, "g")

    def revoked_then_refused() -> dict:
        seeker.rebalances += 1  # on_partitions_revoked ran, then the join failed
        raise KafkaConnectionError("111 ECONNREFUSED")

    consumer.script = [_records("t", 0, 0, 3), revoked_then_refused]

    batch = _gather(consumer, seeker, batch_size=10, linger_s=60, outages=_outages())

    assert batch == [] and sleeps == []
