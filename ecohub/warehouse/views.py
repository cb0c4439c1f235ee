"""The typed unified model and the marts, as SQL views over the SCD2 history.

Why views: they hold no data, so they are rebuilt from this module whenever their definition
changes (a hash is stored in ``warehouse_meta``) without a data migration, and each is
compiled for the database at hand (``json_extract`` on SQLite, ``->>`` on PostgreSQL) from one
SQLAlchemy definition. ``docs/warehouse.md`` documents every view and column.

Unified views (one per entity type, current non-deleted versions only) carry the typed
columns of :data:`TYPED_COLUMNS` plus lineage (portal, entity key, version, event id, valid
from) and, for organizations and persons, the golden record the entity resolved to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select

from ecohub.catalog import ENTITY_TYPES
from ecohub.warehouse.sqlutil import upsert
from ecohub.warehouse.tables import (
    dim_field,
    entity_field,
    entity_link,
    entity_version,
    golden_entity,
    warehouse_meta,
)

__all__ = ["TYPED_COLUMNS", "VIEWS", "rebuild_views", "view_sql", "views_hash"]

# column -> (path in data, SQL type). Paths follow schemas/entities/<entity_type>.v1.json.
_Col = tuple[tuple[str, ...], Any]
TYPED_COLUMNS: dict[str, dict[str, _Col]] = {
    "organization": {
        "name": (("name",), String),
        "legal_form": (("legal_form",), String),
        "english_name": (("english_name",), String),
        "abbreviation": (("abbreviation",), String),
        "org_kind": (("org_kind",), String),
        "tax_code": (("tax_code", "value"), String),
        "tax_code_valid": (("tax_code", "valid"), Boolean),
        "address": (("address", "text"), String),
        "ward_2025": (("address", "ward_2025"), String),
        "website": (("website",), String),
    },
    "person": {
        "full_name": (("name", "full_name"), String),
        "degree": (("degree",), String),
        "gender": (("gender",), String),
        "birth_year": (("birth_year",), Integer),
        "organization_key": (("organization", "key"), String),
        "organization_name": (("organization", "name"), String),
        "position": (("position",), String),
        "email_token": (("email_token",), String),
    },
    "research_project": {
        "code": (("code",), String),
        "title": (("title",), String),
        "principal_investigator": (("principal_investigator", "full_name"), String),
        "host_organization_key": (("host_organization", "key"), String),
        "host_organization_name": (("host_organization", "name"), String),
        "budget_vnd": (("budget", "amount_vnd"), BigInteger),
        "start_date": (("start_date", "value"), String),
        "end_date": (("end_date", "value"), String),
        "status": (("status",), String),
    },
    "document": {
        "title": (("title",), String),
        "document_type": (("document_type",), String),
        "institution": (("institution",), String),
        "published": (("published", "value"), String),
        "language": (("language",), String),
        "research_project_code": (("research_project_code",), String),
    },
    "technology_offer": {
        "title": (("title",), String),
        "offer_kind": (("offer_kind",), String),
        "maturity": (("maturity",), String),
        "price_vnd": (("price", "amount_vnd"), BigInteger),
        "price_text": (("price", "text"), String),
        "supplier_key": (("supplier", "key"), String),
        "supplier_name": (("supplier", "name"), String),
        "published": (("published", "value"), String),
    },
    "technology_demand": {
        "title": (("title",), String),
        "demand_kind": (("demand_kind",), String),
        "budget_vnd": (("budget", "amount_vnd"), BigInteger),
        "requester_key": (("requester", "key"), String),
        "requester_name": (("requester", "name"), String),
        "deadline": (("deadline", "value"), String),
        "status": (("status",), String),
    },
    "startup_project": {
        "name": (("name",), String),
        "stage": (("stage",), String),
        "status": (("status",), String),
        "company_key": (("company", "key"), String),
        "company_name": (("company", "name"), String),
        "incubator_key": (("incubator", "key"), String),
        "programme_key": (("programme_key",), String),
        "requested_vnd": (("requested_funding", "amount_vnd"), BigInteger),
        "approved_support_vnd": (("approved_support_vnd",), BigInteger),
    },
    "programme": {
        "name": (("name",), String),
        "programme_kind": (("programme_kind",), String),
        "organizer_name": (("organizer", "name"), String),
        "start_date": (("start_date", "value"), String),
        "end_date": (("end_date", "value"), String),
        "budget_vnd": (("budget", "amount_vnd"), BigInteger),
        "status": (("status",), String),
    },
    "challenge": {
        "title": (("title",), String),
        "agency_name": (("agency", "name"), String),
        "deadline": (("deadline", "value"), String),
        "reward_vnd": (("reward", "amount_vnd"), BigInteger),
        "status": (("status",), String),
        "solutions_count": (("solutions_count",), Integer),
    },
    "support_application": {
        "startup_project_key": (("startup_project_key",), String),
        "programme_key": (("programme_key",), String),
        "policy": (("policy",), String),
        "stage": (("stage",), String),
        "requested_vnd": (("requested_amount", "amount_vnd"), BigInteger),
        "approved_amount_vnd": (("approved_amount_vnd",), BigInteger),
        "status": (("status",), String),
    },
}


def _json(path: tuple[str, ...], sql_type: Any) -> Any:
    ev = entity_version.c
    element = ev.data[path[0]] if len(path) == 1 else ev.data[path]
    if sql_type is Integer:
        return element.as_integer()
    if sql_type is Boolean:
        return element.as_boolean()
    if sql_type is BigInteger:
        return cast(element.as_string(), BigInteger)
    return element.as_string()


def _unified(entity_type: str) -> Select[Any]:
    ev = entity_version.c
    columns = [
        ev.entity_key,
        ev.portal,
        ev.source_id,
        ev.entityversion,
        ev.valid_from,
        ev.event_id,
    ]
    columns += [
        _json(path, t).label(name) for name, (path, t) in TYPED_COLUMNS[entity_type].items()
    ]
    query = select(*columns)
    if entity_type in {"organization", "person"}:
        query = query.add_columns(
            entity_link.c.golden_id,
            entity_link.c.rule.label("match_rule"),
            entity_link.c.score.label("match_score"),
            entity_link.c.evidence.label("match_evidence"),
        )
        query = query.select_from(
            entity_version.outerjoin(entity_link, entity_link.c.entity_key == ev.entity_key)
        )
    return query.where(
        ev.entity_type == entity_type, ev.is_current.is_(True), ev.is_deleted.is_(False)
    )


def _current(entity_type: str) -> Any:
    ev = entity_version.c
    return and_(ev.entity_type == entity_type, ev.is_current.is_(True), ev.is_deleted.is_(False))


def _mart_orgs_multi_portal() -> Select[Any]:
    """Organizations (golden records) present on two or three portals."""
    g = golden_entity.c
    return (
        select(
            g.golden_id,
            g.name,
            g.tax_code,
            g.member_count,
            func.count(distinct(entity_version.c.portal)).label("portal_count"),
        )
        .select_from(
            golden_entity.join(entity_link, entity_link.c.golden_id == g.golden_id).join(
                entity_version, entity_version.c.entity_key == entity_link.c.entity_key
            )
        )
        .where(g.kind == "organization", _current("organization"))
        .group_by(g.golden_id, g.name, g.tax_code, g.member_count)
        .having(func.count(distinct(entity_version.c.portal)) >= 2)
    )


def _per_field(entity_types: tuple[str, ...]) -> Select[Any]:
    f = dim_field.c
    return (
        select(
            f.field_code,
            f.name_vi,
            f.name_en,
            entity_field.c.entity_type,
            func.count().label("entity_count"),
        )
        .select_from(dim_field.join(entity_field, entity_field.c.field_code == f.field_code))
        .where(entity_field.c.entity_type.in_(entity_types))
        .group_by(f.field_code, f.name_vi, f.name_en, entity_field.c.entity_type)
    )


def _mart_startup_support() -> Select[Any]:
    """Startup projects and the support they received, by stage and field."""
    ev = entity_version.c
    stage = _json(("stage",), String)
    amount = _json(("approved_support_vnd",), BigInteger)
    return (
        select(
            stage.label("stage"),
            entity_field.c.field_code,
            func.count(distinct(ev.entity_key)).label("project_count"),
            func.coalesce(func.sum(amount), 0).label("support_vnd"),
        )
        .select_from(
            entity_version.outerjoin(entity_field, entity_field.c.entity_key == ev.entity_key)
        )
        .where(_current("startup_project"))
        .group_by(stage, entity_field.c.field_code)
    )


def _mart_experts_per_field() -> Select[Any]:
    """Distinct experts (golden persons where resolved) per field."""
    ev = entity_version.c
    who = func.coalesce(entity_link.c.golden_id, ev.entity_key)
    return (
        select(
            entity_field.c.field_code,
            func.count(distinct(who)).label("expert_count"),
            func.count(distinct(ev.entity_key)).label("source_records"),
        )
        .select_from(
            entity_version.join(entity_field, entity_field.c.entity_key == ev.entity_key).outerjoin(
                entity_link, entity_link.c.entity_key == ev.entity_key
            )
        )
        .where(_current("person"))
        .group_by(entity_field.c.field_code)
    )


def _mart_history_stats() -> Select[Any]:
    """Versions, current and deleted entities per entity type and portal (freshness aid)."""
    ev = entity_version.c
    return select(
        ev.entity_type,
        ev.portal,
        func.count().label("versions"),
        func.sum(case((and_(ev.is_current.is_(True), ev.is_deleted.is_(False)), 1), else_=0)).label(
            "current_entities"
        ),
        func.sum(case((and_(ev.is_current.is_(True), ev.is_deleted.is_(True)), 1), else_=0)).label(
            "deleted_entities"
        ),
        func.max(ev.valid_from).label("latest_change"),
    ).group_by(ev.entity_type, ev.portal)


def _mart_entity_links() -> Select[Any]:
    """Why each source record belongs to its golden record: rule, score, the evidence."""
    ev, link, g = entity_version.c, entity_link.c, golden_entity.c
    return (
        select(
            link.kind,
            link.golden_id,
            g.name.label("golden_name"),
            g.member_count,
            link.entity_key,
            ev.portal,
            ev.source_id,
            link.rule,
            link.score,
            link.evidence,
        )
        .select_from(
            entity_link.join(golden_entity, g.golden_id == link.golden_id).join(
                entity_version, ev.entity_key == link.entity_key
            )
        )
        .where(ev.is_current.is_(True), ev.is_deleted.is_(False))
    )


VIEWS: dict[str, Callable[[], Select[Any]]] = {
    **{t: (lambda t=t: _unified(t)) for t in ENTITY_TYPES},  # type: ignore[misc]
    "mart_organizations_multi_portal": _mart_orgs_multi_portal,
    "mart_technologies_per_field": lambda: _per_field(("technology_offer", "technology_demand")),
    "mart_tasks_per_field": lambda: _per_field(("research_project",)),
    "mart_startup_support": _mart_startup_support,
    "mart_experts_per_field": _mart_experts_per_field,
    "mart_entity_history": _mart_history_stats,
    "mart_entity_links": _mart_entity_links,
}
_ = literal  # kept for view authors


def view_sql(name: str, dialect: Any) -> str:
    """``SELECT`` text of view ``name`` compiled for ``dialect``."""
    return str(VIEWS[name]().compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _dialect(name: str) -> Any:
    return {"postgresql": postgresql.dialect(), "sqlite": sqlite.dialect()}[name]


def views_hash(dialect_name: str) -> str:
    """A digest of every view's SQL; ``init_db`` rebuilds the views when it changes."""
    dialect = _dialect(dialect_name)
    digest = hashlib.sha256()
    for name in sorted(VIEWS):
        digest.update(f"{name}\n{view_sql(name, dialect)}\n".encode())
    return digest.hexdigest()


def rebuild_views(conn: Connection) -> None:
    """Drop and re-create every view in the caller's transaction; store the new hash."""
    preparer = conn.dialect.identifier_preparer
    for name in sorted(VIEWS):
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {preparer.quote(name)}")
    for name in sorted(VIEWS):
        conn.exec_driver_sql(
            f"CREATE VIEW {preparer.quote(name)} AS {view_sql(name, conn.dialect)}"
        )
    row = {"key": "views_hash", "value": views_hash(conn.dialect.name)}
    upsert(conn, warehouse_meta, [row], keys=["key"])
