"""H.OIP records (docs/portals/hoip.md) to canonical entities.

======================  =========================================  ================================
stream                  entities                                   entity keys
======================  =========================================  ================================
startup-projects        startup_project + its company (organization)  ``hoip:startup_project:<id>``,
                                                                   ``hoip:organization:<id>.company``
organizations           organization                               ``hoip:organization:<id>``
programs                programme                                  ``hoip:programme:<id>``
challenges              challenge                                  ``hoip:challenge:<id>``
support-applications    support_application                        ``hoip:support_application:<id>``
======================  =========================================  ================================

A startup project yields two entities: the project, and the startup's company as an
organization (H.OIP has no record of its own for it; its key is derived from the project id and
the project refers to it in ``company.key``). Founders stay inside the project, their contacts
tokenized; a delete of a project deletes both keys. Change-feed records (stream ``changes``) are
routed by their ``resource``; a tombstone carries ``deleted_at``, which gives the version.
``version == 1`` means ``create``.
"""

from __future__ import annotations

from typing import Any

from ecohub.normalize.mapping import MapContext, register, register_stream_resolver
from ecohub.normalize.orgnames import parse_org_name
from ecohub.normalize.text import describe_json, fold, type_name
from ecohub.records import CanonicalRecord, SourceRecord

__all__ = ["ORG_KINDS", "STAGES"]


def _labels(values: dict[str, str]) -> dict[str, str]:
    return {fold(k): v for k, v in values.items()}


STAGES = _labels(
    {v: v for v in ("idea", "pre_incubation", "incubation", "acceleration", "speedup")}
)
ORG_KINDS = _labels({
    "incubator": "incubator", "accelerator": "accelerator", "investor": "investor",
    "university": "university", "research_institute": "research_institute",
    "agency": "state_agency", "company": "enterprise",
})
_PROJECT_STATUS = _labels({v: v for v in ("draft", "submitted", "active", "graduated", "closed")})
_PROGRAMME_KINDS = _labels({v: v for v in ("competition", "support_programme")})
_PROGRAMME_STATUS = _labels({v: v for v in ("upcoming", "open", "closed")})
_CHALLENGE_STATUS = _labels({v: v for v in ("open", "closed", "solved")})
_APPLICATION_STATUS = _labels(
    {v: v for v in ("submitted", "under_review", "approved", "rejected", "disbursed")}
)
_COMPANY = "{}.company"


def _resource(record: SourceRecord) -> str:
    """Change-feed records name their resource; everything else keeps its stream."""
    is_feed = record.stream.replace("-", "_") in ("changes", "change_feed")
    if is_feed and isinstance(record.data, dict):
        resource = record.data.get("resource")
        if isinstance(resource, str) and resource:
            return resource
    return record.stream


register_stream_resolver("hoip", _resource)


def _ref(ctx: MapContext, raw: Any, entity_type: str = "organization",
         name_field: str = "ref") -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        name = ctx.plain(name_field, raw)
        return {"key": None, "name": name} if name else None
    ref_id = ctx.plain(f"{name_field}.id", raw.get("id"))
    name = ctx.plain(f"{name_field}.name", raw.get("name"))
    if ref_id is None and name is None:
        return None
    return {"key": ctx.key(entity_type, ref_id) if ref_id else None, "name": name}


def _key_or_none(ctx: MapContext, entity_type: str, raw: Any, name: str = "id") -> str | None:
    ref_id = ctx.plain(name, raw)
    return ctx.key(entity_type, ref_id) if ref_id else None


def _address(ctx: MapContext) -> dict[str, Any] | None:
    raw = ctx.data.get("address")
    if isinstance(raw, dict):
        full = ctx.plain("address.full", raw.get("full"))
        if full is None:
            parts = [ctx.plain(f"address.{k}", raw.get(k)) for k in ("street", "ward", "district",
                                                                     "city")]
            full = ", ".join(p for p in parts if p) or None
        return ctx.address("address", full) if full else None
    return ctx.address("address", raw)


def _founders(ctx: MapContext) -> list[dict[str, Any]]:
    raw = ctx.data.get("founders") or []
    founders = []
    for index, founder in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(founder, dict):
            if founder is not None:
                ctx.issue(f"founders[{index}]", "type",
                          f"expected an object, got a JSON {type_name(founder)}",
                          describe_json(founder))
            continue
        name = ctx.person(f"founders[{index}].name", founder.get("name"))
        if name is None:
            continue
        founders.append({
            "name": name,
            "role": ctx.plain(f"founders[{index}].role", founder.get("role")),
            "email_token": ctx.pii.email(founder.get("email"), f"founders[{index}].email_token"),
            "phone_token": ctx.pii.phone(founder.get("phone"), f"founders[{index}].phone_token"),
        })
    return founders


@register("hoip", ("startup_project", "organization"), "startup-projects", "startup_projects",
          "projects", id_formats={"organization": _COMPANY})
def map_startup_project(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("updated_at")
    fields = ctx.fields(data.get("fields"), "fields")
    company_name = ctx.plain("company_name")
    company_key = ctx.key("organization") if company_name else None
    tax_code = ctx.tax_code("company_tax_id")
    project = ctx.entity(
        "startup_project", updated, created=data.get("created_at"), revision=data.get("version"),
        name=ctx.require("name"),
        company={"key": company_key, "name": company_name} if company_name else None,
        company_tax_code=tax_code,
        description=ctx.text("description"),
        stage=ctx.required_enum("stage", data.get("stage"), STAGES),
        fields=fields,
        founders=_founders(ctx),
        incubator=_ref(ctx, data.get("incubator"), name_field="incubator"),
        programme_key=_key_or_none(ctx, "programme", data.get("program_id"), "program_id"),
        requested_funding=ctx.money("requested_funding"),
        approved_support_vnd=ctx.integer("approved_support_vnd"),
        status=ctx.required_enum("status", data.get("status"), _PROJECT_STATUS),
        founded=ctx.date("founded_date"),
        website=ctx.plain("website"),
    )
    records = [ctx.build(project, updated, revision=data.get("version"))]
    if company_name:
        org = parse_org_name(company_name)
        company = ctx.entity(
            "organization", updated, created=data.get("created_at"), revision=data.get("version"),
            name=org.name, legal_form=org.legal_form, match_key=org.match_key,
            name_as_served=org.as_served, org_kind="enterprise", kind_text="startup company",
            tax_code=tax_code, website=ctx.plain("website"), fields=fields,
        )
        records.append(ctx.build(company, updated, revision=data.get("version"),
                                 entity_type="organization", restricted={},
                                 issues=[i for i in ctx.issues if i["field"] == "company_tax_id"]))
    return records


@register("hoip", "organization", "organizations", "orgs")
def map_organization(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("updated_at")
    org = ctx.organization_name("name")
    founded_year = ctx.integer("founded_year")
    record = ctx.entity(
        "organization", updated, created=data.get("created_at"), revision=data.get("version"),
        name=org.name, legal_form=org.legal_form, match_key=org.match_key,
        name_as_served=org.as_served,
        english_name=ctx.plain("name_en"),
        org_kind=ctx.enum("kind", data.get("kind"), ORG_KINDS, default="other"),
        kind_text=ctx.plain("kind"),
        tax_code=ctx.tax_code("tax_id"),
        founded=ctx.date("founded_year", founded_year) if founded_year else None,
        address=_address(ctx),
        website=ctx.plain("website"),
        description=ctx.text("description"),
        email_token=ctx.pii.email(data.get("email"), "email_token"),
        phone_token=ctx.pii.phone(data.get("phone"), "phone_token"),
    )
    return [ctx.build(record, updated, revision=data.get("version"))]


@register("hoip", "programme", "programs", "programmes")
def map_programme(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("updated_at")
    record = ctx.entity(
        "programme", updated, created=data.get("created_at"), revision=data.get("version"),
        name=ctx.require("name"),
        programme_kind=ctx.required_enum("type", data.get("type"), _PROGRAMME_KINDS),
        organizer=_ref(ctx, data.get("organizer"), name_field="organizer"),
        start_date=ctx.date("start_date"),
        end_date=ctx.date("end_date"),
        budget=ctx.money("budget"),
        description=ctx.text("description"),
        status=ctx.required_enum("status", data.get("status"), _PROGRAMME_STATUS),
    )
    return [ctx.build(record, updated, revision=data.get("version"))]


@register("hoip", "challenge", "challenges")
def map_challenge(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("updated_at")
    record = ctx.entity(
        "challenge", updated, created=data.get("created_at"), revision=data.get("version"),
        title=ctx.require("title"),
        agency=_ref(ctx, data.get("agency"), name_field="agency"),
        description=ctx.text("description"),
        fields=ctx.fields(data.get("field"), "field"),
        reward=ctx.money("reward"),
        deadline=ctx.date("deadline"),
        status=ctx.required_enum("status", data.get("status"), _CHALLENGE_STATUS),
        solutions_count=ctx.integer("solutions_count"),
    )
    return [ctx.build(record, updated, revision=data.get("version"))]


@register("hoip", "support_application", "support-applications", "support_applications",
          "applications")
def map_support_application(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("updated_at")
    record = ctx.entity(
        "support_application", updated,
        created=data.get("created_at"), revision=data.get("version"),
        startup_project_key=ctx.key("startup_project", ctx.require("project_id")),
        programme_key=_key_or_none(ctx, "programme", data.get("program_id"), "program_id"),
        policy=ctx.plain("policy"),
        stage=ctx.required_enum("stage", data.get("stage"), STAGES),
        requested_amount=ctx.money("requested_amount"),
        approved_amount_vnd=ctx.integer("approved_amount_vnd"),
        status=ctx.required_enum("status", data.get("status"), _APPLICATION_STATUS),
        submitted_at=ctx.date("submitted_at"),
        decided_at=ctx.date("decided_at"),
    )
    return [ctx.build(record, updated, revision=data.get("version"))]
