"""The warehouse tables, declared once on the shared :data:`ecohub.db.metadata`.

Layers, in the order an event travels:

* ``stg_<portal>``: the staging layer, one table per registered portal (:mod:`ecohub.portals`),
  holding the *latest* event seen for each entity key (an upsert that only moves forward in
  ``entityversion``). It answers "what does this portal say right now", including tombstones.
  The Alembic baseline created the built-in three; any other registered portal's table is
  created, same shape, by :func:`ecohub.warehouse.init_db` (``schema.create_staging_tables``).
* ``entity_version``: SCD type 2 history of every entity of every type, one row per distinct
  event (tombstone rows for deletes), with ``valid_from``/``valid_to``/``is_current``. The typed
  unified views (``organization``, ``person``...) and the marts read it.
* ``quarantine`` and ``load_receipts``: what the loader did with every Kafka message, keyed by
  its coordinates (topic, partition, offset), so a replay re-writes the same keys (a no-op).
* ``consumer_offsets``: the loader's position, written in the same transaction as the rows.
* ``run_extracts`` and ``runs``: the reconciliation ledger of every sync run.
* ``golden_entity``, ``entity_link``, ``resolution_override``: cross-portal entity resolution.
* ``dim_field`` and ``dim_date``: conformed dimensions.

Timestamps are naive UTC (SQLite has no time zones; PostgreSQL gets the same values). Columns
named ``*_at`` record *when we loaded*, never *what the source said*; checksums ignore them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ecohub.db import metadata
from ecohub.portals import portal_names, portal_spec

__all__ = [
    "consumer_offsets",
    "dim_date",
    "dim_field",
    "entity_field",
    "entity_link",
    "entity_version",
    "golden_entity",
    "load_receipts",
    "quarantine",
    "resolution_override",
    "run_extracts",
    "runs",
    "source_keys",
    "staging_table",
    "staging_tables",
    "sync_state",
    "warehouse_meta",
]

_KEY = 300  # entity keys are "<portal>:<entity_type>:<source id>"


def _staging(portal: str) -> Table:
    return Table(
        f"stg_{portal}",
        metadata,
        Column("entity_key", String(_KEY), primary_key=True),
        Column("entity_type", String(40), nullable=False),
        Column("stream", String(80), nullable=False),
        Column("source_id", String(200), nullable=False),
        Column("entityversion", BigInteger, nullable=False),
        Column("operation", String(10), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("event_time", DateTime, nullable=True),
        Column("runid", String(120), nullable=True),
        Column("landinguri", Text, nullable=True),
        Column("data", JSON, nullable=True),
        Column("loaded_at", DateTime, nullable=False),
        Index(f"ix_stg_{portal}_entity_type", "entity_type"),
        comment=f"Latest event per entity key as {portal} sent it (staging layer).",
    )


_STAGING: dict[str, Table] = {}


def staging_table(portal: str) -> Table:
    """The staging table of ``portal``, declared on first use for any registered portal; an
    unknown portal fails (:class:`~ecohub.errors.ConfigError`) listing the valid ones."""
    table = _STAGING.get(portal)
    if table is None:
        portal_spec(portal)
        table = _STAGING[portal] = _staging(portal)
    return table


def staging_tables() -> dict[str, Table]:
    """The staging tables of every registered portal, by rank. The table of a portal that is no
    longer registered leaves the metadata, so the declared model is always the registry's."""
    names = portal_names()
    for gone in sorted(set(_STAGING) - set(names)):
        metadata.remove(_STAGING.pop(gone))
    return {portal: staging_table(portal) for portal in names}


staging_tables()  # the built-in portals' tables, which the Alembic baseline creates


entity_version = Table(
    "entity_version",
    metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True),
    Column("entity_type", String(40), nullable=False),
    Column("entity_key", String(_KEY), nullable=False),
    Column("portal", String(20), nullable=False),
    Column("stream", String(80), nullable=False),
    Column("source_id", String(200), nullable=False),
    Column("entityversion", BigInteger, nullable=False),
    Column("operation", String(10), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("valid_from", DateTime, nullable=False),
    Column("valid_to", DateTime, nullable=True),
    Column("is_current", Boolean, nullable=False),
    Column("is_deleted", Boolean, nullable=False),
    Column("data", JSON, nullable=True),
    Column("runid", String(120), nullable=True),
    Column("landinguri", Text, nullable=True),
    Column("loaded_at", DateTime, nullable=False),
    Column("content_hash", String(64), nullable=True),
    UniqueConstraint("event_id", name="uq_entity_version_event_id"),
    Index("ix_entity_version_key_version", "entity_key", "entityversion"),
    Index("ix_entity_version_type_current", "entity_type", "is_current"),
    comment="SCD type 2 history of every entity; one row per distinct event.",
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("kafka_partition", Integer, primary_key=True),
    Column("kafka_offset", BigInteger, primary_key=True),
    Column("event_id", String(64), nullable=True),
    Column("runid", String(120), nullable=True),
    Column("entity_type", String(40), nullable=True),
    Column("entity_key", String(_KEY), nullable=True),
    Column("failed_expectations", JSON, nullable=False),
    Column("event", JSON, nullable=True),
    Column("raw_value", Text, nullable=True),
    Column("quarantined_at", DateTime, nullable=False),
    Column("content_hash", String(64), nullable=True),
    Index("ix_quarantine_runid", "runid"),
    Index("ix_quarantine_event_id", "event_id"),
    comment="Messages that failed the quality gate, with the names of the failed expectations.",
)

load_receipts = Table(
    "load_receipts",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("kafka_partition", Integer, primary_key=True),
    Column("kafka_offset", BigInteger, primary_key=True),
    Column("event_id", String(64), nullable=True),
    Column("runid", String(120), nullable=True),
    Column("entity_type", String(40), nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Index("ix_load_receipts_runid", "runid"),
    comment="One row per consumed message: loaded or quarantined (reconciliation source).",
)

consumer_offsets = Table(
    "consumer_offsets",
    metadata,
    Column("group_id", String(200), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("kafka_partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    comment="Loader position, committed with the rows it produced (exactly-once effect).",
)

run_extracts = Table(
    "run_extracts",
    metadata,
    Column("run_id", String(120), primary_key=True),
    Column("portal", String(20), nullable=False),
    Column("stream", String(80), primary_key=True),
    Column("fetched", Integer, nullable=False),
    Column("published", Integer, nullable=False),
    Column("dead_lettered", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    comment="Extract-side counts of one sync run and stream, reported by the pipeline.",
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(120), primary_key=True),
    Column("portal", String(20), nullable=True),
    Column("status", String(20), nullable=False),
    Column("fetched", Integer, nullable=False),
    Column("published", Integer, nullable=False),
    Column("dead_lettered", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("message", Text, nullable=True),
    Column("checked_at", DateTime, nullable=True),
    comment="Reconciliation verdict per run: pending, balanced or unbalanced.",
)

golden_entity = Table(
    "golden_entity",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("name", Text, nullable=False),
    Column("tax_code", String(20), nullable=True),
    Column("portals", JSON, nullable=False),
    Column("member_count", Integer, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("provenance", JSON, nullable=False),
    Column("resolved_at", DateTime, nullable=False),
    Index("ix_golden_entity_kind", "kind"),
    comment="One real-world organization or expert; provenance says which portal said what.",
)

entity_link = Table(
    "entity_link",
    metadata,
    Column("entity_key", String(_KEY), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("golden_id", String(64), nullable=False),
    Column("rule", String(60), nullable=False),
    Column("score", Float, nullable=False),
    Column("evidence", JSON, nullable=False),
    Index("ix_entity_link_golden_id", "golden_id"),
    comment="Which golden record each source entity belongs to, and why (rule, score).",
)

resolution_override = Table(
    "resolution_override",
    metadata,
    Column("override_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("action", String(10), nullable=False),
    Column("entity_key", String(_KEY), nullable=False),
    Column("other_entity_key", String(_KEY), nullable=True),
    Column("reason", Text, nullable=False),
    Column("author", String(120), nullable=False),
    Column("created_at", DateTime, nullable=False),
    comment="Human decisions applied on top of automatic resolution: merge or split.",
)

dim_field = Table(
    "dim_field",
    metadata,
    Column("field_code", String(20), primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("oecd_fos", String(20), nullable=True),
    Column("parent_code", String(20), nullable=True),
    Column("level", Integer, nullable=False),
    comment="S&T field classification (Vietnam, aligned with OECD Fields of Science).",
)

entity_field = Table(
    "entity_field",
    metadata,
    Column("entity_key", String(_KEY), primary_key=True),
    Column("field_code", String(20), primary_key=True),
    Column("entity_type", String(40), nullable=False),
    Index("ix_entity_field_field_code", "field_code"),
    comment="Bridge: the canonical S&T fields of each entity's current version.",
)

dim_date = Table(
    "dim_date",
    metadata,
    Column("date_key", Integer, primary_key=True),
    Column("date", Date, nullable=False),
    Column("year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("day", Integer, nullable=False),
    Column("iso_week", Integer, nullable=False),
    Column("weekday", Integer, nullable=False),
    UniqueConstraint("date", name="uq_dim_date_date"),
    comment="Calendar dimension, 1975-2050; date_key is yyyymmdd.",
)

warehouse_meta = Table(
    "warehouse_meta",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("value", Text, nullable=False),
    comment="Small facts about the warehouse itself (e.g. the hash of the view definitions).",
)


# The connector toolkit's state (connectors.toolkit.state reads and writes them): declared here
# so the warehouse owns every table its migrations create and never imports the connectors.
sync_state = Table(
    "sync_state",
    metadata,
    Column("portal", String(20), primary_key=True),
    Column("stream", String(80), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

source_keys = Table(
    "source_keys",
    metadata,
    Column("portal", String(20), primary_key=True),
    Column("stream", String(80), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("last_seen_run", String(120), nullable=False),
)
