"""The loader's position in each Kafka partition, kept in the warehouse.

Why here and not only in Kafka: the position is written in the same database transaction as
the rows it produced, so after a crash the warehouse and its position always agree. Kafka's
committed offsets are refreshed afterwards as a hint for monitoring tools; on (re)assignment
the loader seeks to the offsets stored here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, select, tuple_

from ecohub.warehouse.sqlutil import upsert
from ecohub.warehouse.tables import consumer_offsets

__all__ = ["TopicPartitionKey", "reset_offsets", "stored_offsets", "write_offsets"]

TopicPartitionKey = tuple[str, int]


def stored_offsets(
    engine_or_conn: Engine | Connection,
    group_id: str,
    partitions: Iterable[TopicPartitionKey] | None = None,
) -> dict[TopicPartitionKey, int]:
    """Next offset to read per (topic, partition); partitions never loaded are absent."""
    c = consumer_offsets.c
    query = select(c.topic, c.kafka_partition, c.next_offset).where(c.group_id == group_id)
    wanted = list(partitions) if partitions is not None else None
    if wanted is not None:
        if not wanted:
            return {}
        query = query.where(tuple_(c.topic, c.kafka_partition).in_(wanted))
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            rows = conn.execute(query).all()
    else:
        rows = engine_or_conn.execute(query).all()
    return {(topic, partition): offset for topic, partition, offset in rows}


def write_offsets(
    conn: Connection, group_id: str, next_offsets: Mapping[TopicPartitionKey, int]
) -> None:
    """Record the next offset to read; call inside the transaction that wrote the rows."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "group_id": group_id,
            "topic": t,
            "kafka_partition": p,
            "next_offset": o,
            "updated_at": now,
        }
        for (t, p), o in sorted(next_offsets.items())
    ]
    upsert(conn, consumer_offsets, rows, keys=["group_id", "topic", "kafka_partition"])


def reset_offsets(engine: Engine, group_id: str, topics: Iterable[str] | None = None) -> int:
    """Forget the stored position (a full replay from the beginning); returns rows removed."""
    stmt = delete(consumer_offsets).where(consumer_offsets.c.group_id == group_id)
    if topics is not None:
        stmt = stmt.where(consumer_offsets.c.topic.in_(list(topics)))
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount or 0
