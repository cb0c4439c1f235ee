"""Every figure of the auditors' report, computed with SQL against the warehouse.

Why one module: the warehouse tables (``ecohub/warehouse/tables.py``) are the single source of
truth, and an auditor must be able to check each number on the page against one query. All
queries live here, written with SQLAlchemy Core so they run unchanged on SQLite and
PostgreSQL; the HTML layer only formats what :func:`collect` returns. A renamed column is a
one-place fix in this file.

Definitions (also in ``docs/report.md``):

* **Reconciliation** per run: ``fetched = published + dead_lettered`` (records, from
  ``run_extracts``) and ``events = loaded + quarantined`` (events, from ``load_receipts``). The
  stored verdict (``runs.status``) is shown next to the live check.
* **Validity**: records, ``published / fetched`` (normalization and JSON Schema passed); events,
  ``loaded / (loaded + quarantined)`` (the Great Expectations gate passed).
* **Field issues**: per portal and kind (``date``, ``money``, ``isbn``, ``tax_code``, ``type``...),
  the entries of ``issues`` of current entities - values nulled in records that still loaded.
* **Completeness** of a portal's entity type: the share of key attributes
  (:data:`KEY_ATTRIBUTES`) that are not null over its current, non-deleted entities.
* **Freshness**: the newest source change (``valid_from``) and the newest load (``loaded_at``)
  per portal and entity type; the newest run per portal and its age at report time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Float,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.sql import ColumnElement, Select

from ecohub.portals import portal_names
from ecohub.warehouse.tables import (
    entity_link,
    entity_version,
    golden_entity,
    load_receipts,
    quarantine,
    resolution_override,
    run_extracts,
    runs,
)

__all__ = [
    "KEY_ATTRIBUTES",
    "UNKNOWN_PORTAL",
    "ReportData",
    "collect",
]

UNKNOWN_PORTAL = "unknown"

# Nullable canonical attributes an auditor expects to be filled (schemas/entities/*.v1.json).
KEY_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "organization": ("tax_code", "address", "founded", "head", "website"),
    "person": ("degree", "organization", "position", "birth_year"),
    "research_project": ("code", "principal_investigator", "host_organization", "budget",
                         "start_date", "end_date"),
    "document": ("abstract", "publisher", "published", "language"),
    "technology_offer": ("description", "price", "supplier", "published"),
    "technology_demand": ("description", "budget", "requester", "deadline"),
    "startup_project": ("company", "description", "founded", "requested_funding"),
    "programme": ("organizer", "start_date", "end_date", "budget"),
    "challenge": ("agency", "description", "reward", "deadline"),
    "support_application": ("programme_key", "requested_amount", "approved_amount_vnd",
                            "decided_at"),
}

Row = dict[str, Any]


@dataclass
class ReportData:
    """What the report shows; every value came out of a query in this module."""

    generated_at: datetime
    dialect: str
    headline: Row = field(default_factory=dict)
    portals: list[Row] = field(default_factory=list)
    entities: list[Row] = field(default_factory=list)
    attributes: list[Row] = field(default_factory=list)
    runs: list[Row] = field(default_factory=list)
    daily: list[Row] = field(default_factory=list)
    expectations: list[Row] = field(default_factory=list)
    quarantine: list[Row] = field(default_factory=list)
    dead_letters: list[Row] = field(default_factory=list)
    field_issues: list[Row] = field(default_factory=list)
    resolution: list[Row] = field(default_factory=list)
    resolution_rules: list[Row] = field(default_factory=list)
    resolution_spread: list[Row] = field(default_factory=list)

    @property
    def has_runs(self) -> bool:
        return bool(self.headline.get("runs_total"))


def collect(engine: Engine, now: datetime) -> ReportData:
    """Run every report query in one read transaction (a consistent snapshot on PostgreSQL).

    ``now`` is naive UTC, the reference for freshness ages.
    """
    with engine.connect() as conn:
        data = ReportData(generated_at=now, dialect=conn.dialect.name)
        data.headline = _headline(conn)
        data.portals = _portals(conn, now)
        data.entities = _entities(conn)
        data.attributes = _attributes(conn)
        data.runs = _rows(conn, _runs_query())
        data.daily = _daily(conn)
        data.expectations = _rows(conn, _expectations_query(conn.dialect.name))
        data.quarantine = _rows(conn, _quarantine_query())
        data.dead_letters = _rows(conn, _dead_letter_query())
        data.field_issues = _rows(conn, _field_issues_query(conn.dialect.name))
        data.resolution = _resolution(conn)
        data.resolution_rules = _rows(conn, _rules_query())
        data.resolution_spread = _rows(conn, _spread_query())
    return data


# --------------------------------------------------------------------------- helpers


def _plain(value: Any) -> Any:
    """A SQL value as the report's Python types: ``Decimal`` becomes ``int`` or ``float``.

    Why: PostgreSQL answers ``SUM`` of integers and ``AVG`` with ``numeric`` (``Decimal``),
    SQLite with ``int``/``float``. Converting once, where rows are read, keeps every figure
    the same type on both backends, so formatting and charts never mix Decimal and float.
    ``SUM`` of integers has scale 0 and stays exact; a fractional numeric becomes a float.
    """
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    return value


def _plain_row(mapping: Mapping[Any, Any]) -> Row:
    return {str(key): _plain(value) for key, value in mapping.items()}


def _rows(conn: Connection, query: Select[Any]) -> list[Row]:
    return [_plain_row(r._mapping) for r in conn.execute(query)]


def _one(conn: Connection, query: Select[Any]) -> Row:
    return _plain_row(conn.execute(query).one()._mapping)


def _scalar(conn: Connection, query: Select[Any]) -> Any:
    return _plain(conn.execute(query).scalar_one())


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _ratio(part: Any, whole: Any) -> ColumnElement[Any]:
    """``part / whole`` as a float, NULL when ``whole`` is 0 (no data is not 0 %)."""
    return cast(part, Float) / func.nullif(whole, 0)


def _portal_of_key(key: Any) -> ColumnElement[Any]:
    """The portal named by the prefix of an entity key (``<portal>:<type>:<id>``)."""
    whens = [(key.like(f"{portal}:%"), literal(portal)) for portal in portal_names()]
    return case(*whens, else_=literal(UNKNOWN_PORTAL))


def _current_entity() -> ColumnElement[bool]:
    ev = entity_version.c
    return and_(ev.is_current.is_(True), ev.is_deleted.is_(False))


def _run_totals() -> Any:
    """One row per run: portal, start, streams and extract-side sums."""
    e = run_extracts.c
    return (
        select(
            e.run_id,
            func.min(e.portal).label("portal"),
            func.min(e.recorded_at).label("started"),
            func.count().label("streams"),
            func.sum(e.fetched).label("fetched"),
            func.sum(e.published).label("published"),
            func.sum(e.dead_lettered).label("dead_lettered"),
            func.sum(e.events).label("events"),
        )
        .group_by(e.run_id)
        .subquery("run_totals")
    )


def _receipt_totals() -> Any:
    """One row per run id seen by the loader: loaded and quarantined messages."""
    r = load_receipts.c
    return (
        select(
            r.runid,
            _count_if(r.outcome == "loaded").label("loaded"),
            _count_if(r.outcome == "quarantined").label("quarantined"),
        )
        .group_by(r.runid)
        .subquery("receipt_totals")
    )


def _run_portal() -> Any:
    e = run_extracts.c
    return (
        select(e.run_id, func.min(e.portal).label("portal"))
        .group_by(e.run_id)
        .subquery("run_portal")
    )


# --------------------------------------------------------------------------- headline


def _headline(conn: Connection) -> Row:
    e, r, rn = run_extracts.c, load_receipts.c, runs.c
    extract = _one(
        conn,
        select(
            func.count(distinct(e.run_id)).label("runs_total"),
            func.coalesce(func.sum(e.fetched), 0).label("fetched"),
            func.coalesce(func.sum(e.published), 0).label("published"),
            func.coalesce(func.sum(e.dead_lettered), 0).label("dead_lettered"),
            func.coalesce(func.sum(e.events), 0).label("events"),
            _ratio(func.sum(e.published), func.sum(e.fetched)).label("record_validity"),
        )
    )
    receipts = _one(
        conn,
        select(
            _count_if(r.outcome == "loaded").label("loaded"),
            _count_if(r.outcome == "quarantined").label("quarantined"),
            _ratio(_count_if(r.outcome == "loaded"), func.count()).label("event_validity"),
        )
    )
    status = _one(
        conn,
        select(
            _count_if(rn.status == "balanced").label("runs_balanced"),
            _count_if(rn.status == "unbalanced").label("runs_unbalanced"),
            _count_if(rn.status == "pending").label("runs_pending"),
        )
    )
    unchecked = _scalar(
        conn, select(func.count(distinct(e.run_id))).where(e.run_id.not_in(select(rn.run_id)))
    )
    ev = entity_version.c
    entities = _one(
        conn,
        select(
            func.count().label("versions"),
            _count_if(_current_entity()).label("current"),
            _count_if(and_(ev.is_current.is_(True), ev.is_deleted.is_(True))).label("deleted"),
        )
    )
    quarantined_rows = _scalar(conn, select(func.count()).select_from(quarantine))
    return {
        **dict(extract),
        **dict(receipts),
        **dict(status),
        "runs_unchecked": unchecked,
        **{f"entities_{k}": v for k, v in entities.items()},
        "quarantine_rows": quarantined_rows,
    }


# --------------------------------------------------------------------------- per portal


def _portals(conn: Connection, now: datetime) -> list[Row]:
    """Reconciliation, validity and freshness per portal (only portals with data)."""
    totals = _run_totals()
    extract = select(
        totals.c.portal,
        func.count().label("runs"),
        func.max(totals.c.started).label("last_run"),
        func.sum(totals.c.fetched).label("fetched"),
        func.sum(totals.c.published).label("published"),
        func.sum(totals.c.dead_lettered).label("dead_lettered"),
        func.sum(totals.c.events).label("events"),
        _ratio(func.sum(totals.c.published), func.sum(totals.c.fetched)).label("record_validity"),
    ).group_by(totals.c.portal)
    rn = runs.c
    status = select(
        totals.c.portal,
        _count_if(rn.status == "balanced").label("balanced"),
        _count_if(rn.status == "unbalanced").label("unbalanced"),
        _count_if(rn.status == "pending").label("pending"),
        _count_if(rn.status.is_(None)).label("unchecked"),
    ).select_from(totals.outerjoin(runs, rn.run_id == totals.c.run_id)).group_by(totals.c.portal)
    counts = ("runs", "balanced", "unbalanced", "pending", "unchecked", "fetched", "published",
              "dead_lettered", "events", "loaded", "quarantined", "quarantine_rows")
    merged: dict[str, Row] = {}
    for query in (extract, status, _portal_receipts(), _portal_quarantine()):
        for row in _rows(conn, query):
            merged.setdefault(row["portal"], dict.fromkeys(counts, 0)).update(row)
    for row in merged.values():
        last = row.get("last_run")
        row["age_hours"] = (now - last).total_seconds() / 3600 if last is not None else None
    return [merged[p] for p in _portal_order(merged)]


def _portal_receipts() -> Select[Any]:
    rp = _run_portal()
    r = load_receipts.c
    portal = func.coalesce(rp.c.portal, literal(UNKNOWN_PORTAL)).label("portal")
    return (
        select(
            portal,
            _count_if(r.outcome == "loaded").label("loaded"),
            _count_if(r.outcome == "quarantined").label("quarantined"),
            _ratio(_count_if(r.outcome == "loaded"), func.count()).label("event_validity"),
        )
        .select_from(load_receipts.outerjoin(rp, rp.c.run_id == r.runid))
        .group_by(portal)
    )


def _portal_quarantine() -> Select[Any]:
    portal = _portal_of_key(quarantine.c.entity_key).label("portal")
    return select(portal, func.count().label("quarantine_rows")).group_by(portal)


def _portal_order(names: Mapping[str, Any]) -> list[str]:
    known = [p for p in portal_names() if p in names]
    return known + sorted(set(names) - set(known))


# --------------------------------------------------------------------------- per entity type


def _entities(conn: Connection) -> list[Row]:
    """History, validity, completeness and freshness per portal and entity type."""
    ev = entity_version.c
    history = select(
        ev.portal,
        ev.entity_type,
        func.count().label("versions"),
        _count_if(_current_entity()).label("current"),
        _count_if(and_(ev.is_current.is_(True), ev.is_deleted.is_(True))).label("deleted"),
        func.max(case((ev.is_current.is_(True), ev.valid_from))).label("latest_change"),
        func.max(ev.loaded_at).label("latest_load"),
    ).group_by(ev.portal, ev.entity_type)
    rp = _run_portal()
    r = load_receipts.c
    portal = func.coalesce(rp.c.portal, literal(UNKNOWN_PORTAL)).label("portal")
    entity_type = func.coalesce(r.entity_type, literal("unknown")).label("entity_type")
    receipts = (
        select(
            portal,
            entity_type,
            _count_if(r.outcome == "loaded").label("loaded"),
            _count_if(r.outcome == "quarantined").label("quarantined"),
            _ratio(_count_if(r.outcome == "loaded"), func.count()).label("validity"),
        )
        .select_from(load_receipts.outerjoin(rp, rp.c.run_id == r.runid))
        .group_by(portal, entity_type)
    )
    counts = ("versions", "current", "deleted", "loaded", "quarantined")
    merged: dict[tuple[str, str], Row] = {}
    for query in (history, receipts, *_completeness_queries()):
        for row in _rows(conn, query):
            key = (row["portal"], row["entity_type"])
            merged.setdefault(key, dict.fromkeys(counts, 0)).update(row)
    order = {p: i for i, p in enumerate(portal_names())}
    return [merged[k] for k in sorted(merged, key=lambda k: (order.get(k[0], 99), k))]


def _present(attribute: str) -> ColumnElement[bool]:
    """The attribute is in the entity and not JSON null (SQLite json_extract, PG ->>)."""
    return entity_version.c.data[attribute].as_string().is_not(None)


def _completeness_queries() -> list[Select[Any]]:
    ev = entity_version.c
    queries = []
    for entity_type, attributes in KEY_ATTRIBUTES.items():
        filled = sum((_count_if(_present(a)) for a in attributes), literal(0))
        queries.append(
            select(
                ev.portal,
                ev.entity_type,
                _ratio(filled, func.count() * len(attributes)).label("completeness"),
            )
            .where(ev.entity_type == entity_type, _current_entity())
            .group_by(ev.portal, ev.entity_type)
        )
    return queries


def _attributes(conn: Connection) -> list[Row]:
    """Fill rate of every key attribute, per portal and entity type."""
    ev = entity_version.c
    result: list[Row] = []
    for entity_type, attributes in KEY_ATTRIBUTES.items():
        query = (
            select(
                ev.portal,
                func.count().label("entities"),
                *[_count_if(_present(a)).label(a) for a in attributes],
            )
            .where(ev.entity_type == entity_type, _current_entity())
            .group_by(ev.portal)
        )
        for row in _rows(conn, query):
            for attribute in attributes:
                result.append(
                    {
                        "portal": row["portal"],
                        "entity_type": entity_type,
                        "attribute": attribute,
                        "entities": row["entities"],
                        "filled": row[attribute],
                    }
                )
    return result


# --------------------------------------------------------------------------- runs over time


def _runs_query(limit: int | None = None) -> Select[Any]:
    totals, receipts, rn = _run_totals(), _receipt_totals(), runs.c
    loaded = func.coalesce(receipts.c.loaded, 0)
    quarantined = func.coalesce(receipts.c.quarantined, 0)
    balanced = and_(
        totals.c.fetched == totals.c.published + totals.c.dead_lettered,
        totals.c.events == loaded + quarantined,
    )
    query = (
        select(
            totals.c.run_id,
            totals.c.portal,
            totals.c.started,
            totals.c.streams,
            totals.c.fetched,
            totals.c.published,
            totals.c.dead_lettered,
            totals.c.events,
            loaded.label("loaded"),
            quarantined.label("quarantined"),
            _ratio(loaded, loaded + quarantined).label("validity"),
            case((balanced, true()), else_=false()).label("balanced_now"),
            func.coalesce(rn.status, literal("unchecked")).label("status"),
            rn.message,
        )
        .select_from(
            totals.outerjoin(receipts, receipts.c.runid == totals.c.run_id).outerjoin(
                runs, rn.run_id == totals.c.run_id
            )
        )
        .order_by(totals.c.started.desc(), totals.c.run_id)
    )
    return query.limit(limit) if limit else query


def _daily(conn: Connection) -> list[Row]:
    """Sums per day (of the run's first extract) and portal."""
    runs_sub = _runs_query().subquery("per_run")
    day = func.date(runs_sub.c.started).label("day")
    query = (
        select(
            day,
            runs_sub.c.portal,
            func.count().label("runs"),
            func.sum(runs_sub.c.fetched).label("fetched"),
            func.sum(runs_sub.c.published).label("published"),
            func.sum(runs_sub.c.dead_lettered).label("dead_lettered"),
            func.sum(runs_sub.c.events).label("events"),
            func.sum(runs_sub.c.loaded).label("loaded"),
            func.sum(runs_sub.c.quarantined).label("quarantined"),
            _ratio(
                func.sum(runs_sub.c.loaded),
                func.sum(runs_sub.c.loaded) + func.sum(runs_sub.c.quarantined),
            ).label("validity"),
        )
        .group_by(day, runs_sub.c.portal)
        .order_by(day, runs_sub.c.portal)
    )
    rows = _rows(conn, query)
    for row in rows:
        row["day"] = str(row["day"])  # a date on PostgreSQL, a string on SQLite
    return rows


# --------------------------------------------------------------------------- quality gate


def _failed_names(dialect: str) -> Any:
    """The elements of ``quarantine.failed_expectations`` as a table (one row per name)."""
    column = quarantine.c.failed_expectations
    if dialect == "postgresql":
        return func.json_array_elements_text(cast(column, JSON)).table_valued(
            "value", joins_implicitly=True
        )
    return func.json_each(column).table_valued("value", joins_implicitly=True)


def _field_issues_query(dialect: str) -> Select[Any]:
    """Field issues of current entities per portal and kind: values the normalizers could not
    use (an invalid ISBN, an impossible date...), nulled in a record that still loaded."""
    ev = entity_version.c
    kind: ColumnElement[Any]
    if dialect == "postgresql":
        items = func.json_array_elements(cast(ev.data, JSON)["issues"]).table_valued(
            "value", joins_implicitly=True)
        kind = items.c.value.op("->>")(literal("kind"))
    else:
        items = func.json_each(ev.data, literal("$.issues")).table_valued(
            "value", joins_implicitly=True)
        kind = func.json_extract(items.c.value, literal("$.kind"))
    kind_label = func.coalesce(kind, literal("unspecified")).label("kind")
    return (
        select(ev.portal, kind_label, func.count().label("issues"),
               func.count(distinct(ev.entity_key)).label("entities"))
        .select_from(entity_version.join(items, true()))
        .where(_current_entity())
        .group_by(ev.portal, kind_label)
        .order_by(ev.portal, func.count().desc())
    )


def _expectations_query(dialect: str) -> Select[Any]:
    """Quarantined rows per failed expectation name, most frequent first."""
    names = _failed_names(dialect)
    name = names.c.value.label("expectation")
    return (
        select(
            name,
            func.count().label("failures"),
            func.count(distinct(quarantine.c.entity_type)).label("entity_types"),
            func.min(quarantine.c.entity_type).label("example_entity_type"),
        )
        .select_from(quarantine.join(names, true()))
        .group_by(name)
        .order_by(func.count().desc(), name)
    )


def _quarantine_query() -> Select[Any]:
    q = quarantine.c
    portal = _portal_of_key(q.entity_key).label("portal")
    entity_type = func.coalesce(q.entity_type, literal("unknown")).label("entity_type")
    return (
        select(
            portal,
            entity_type,
            func.count().label("rows"),
            func.max(q.quarantined_at).label("latest"),
        )
        .group_by(portal, entity_type)
        .order_by(portal, entity_type)
    )


def _dead_letter_query() -> Select[Any]:
    e = run_extracts.c
    return (
        select(
            e.portal,
            e.stream,
            func.count().label("runs"),
            func.sum(e.fetched).label("fetched"),
            func.sum(e.dead_lettered).label("dead_lettered"),
            _ratio(func.sum(e.dead_lettered), func.sum(e.fetched)).label("rate"),
        )
        .group_by(e.portal, e.stream)
        .order_by(e.portal, e.stream)
    )


# --------------------------------------------------------------------------- entity resolution


def _golden_portals() -> Any:
    """Per golden record: how many distinct portals its current source entities come from."""
    g, link, ev = golden_entity.c, entity_link.c, entity_version.c
    return (
        select(
            g.golden_id,
            g.kind,
            func.count(distinct(ev.portal)).label("portal_count"),
        )
        .select_from(
            # entity keys name their type; laboratories are organizations of kind laboratory
            golden_entity.join(entity_link, link.golden_id == g.golden_id).join(
                entity_version, ev.entity_key == link.entity_key
            )
        )
        .where(_current_entity())
        .group_by(g.golden_id, g.kind)
        .subquery("golden_portals")
    )


def _resolution(conn: Connection) -> list[Row]:
    """Golden records, links, multi-portal records and unlinked entities per kind."""
    g, link, ev, ov = golden_entity.c, entity_link.c, entity_version.c, resolution_override.c
    spread = _golden_portals()
    queries: Sequence[Select[Any]] = (
        select(g.kind, func.count().label("golden")).group_by(g.kind),
        select(
            link.kind,
            func.count().label("links"),
            func.avg(link.score).label("avg_score"),
        ).group_by(link.kind),
        select(
            spread.c.kind, _count_if(spread.c.portal_count >= 2).label("multi_portal")
        ).group_by(spread.c.kind),
        select(ov.kind, func.count().label("overrides")).group_by(ov.kind),
        select(
            func.coalesce(link.kind, ev.entity_type).label("kind"),
            func.count().label("source_entities"),
            _count_if(link.entity_key.is_(None)).label("unlinked"),
        )
        .select_from(entity_version.outerjoin(entity_link, link.entity_key == ev.entity_key))
        .where(_current_entity(), ev.entity_type.in_(("organization", "person")))
        .group_by(func.coalesce(link.kind, ev.entity_type)),
    )
    counts = ("golden", "links", "multi_portal", "overrides", "source_entities", "unlinked")
    merged: dict[str, Row] = {}
    for query in queries:
        for row in _rows(conn, query):
            merged.setdefault(row["kind"], dict.fromkeys(counts, 0)).update(row)
    return [merged[k] for k in sorted(merged)]


def _rules_query() -> Select[Any]:
    link = entity_link.c
    return (
        select(
            link.kind,
            link.rule,
            func.count().label("links"),
            func.min(link.score).label("min_score"),
            func.avg(link.score).label("avg_score"),
        )
        .group_by(link.kind, link.rule)
        .order_by(link.kind, func.count().desc(), link.rule)
    )


def _spread_query() -> Select[Any]:
    spread = _golden_portals()
    return (
        select(spread.c.kind, spread.c.portal_count, func.count().label("golden"))
        .group_by(spread.c.kind, spread.c.portal_count)
        .order_by(spread.c.kind, spread.c.portal_count)
    )
