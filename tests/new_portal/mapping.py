"""SciPort's mapping: source fields -> canonical entities, on the shared MapContext helpers
(required values, dates, money, field labels, issues)."""

from __future__ import annotations

from ecohub.normalize.mapping import MapContext, register
from ecohub.normalize.text import fold
from ecohub.records import CanonicalRecord

__all__ = ["map_lab", "map_project"]

_KINDS = {fold("laboratory"): "laboratory", fold("institute"): "research_institute"}
_STATUS = {fold("running"): "in_progress", fold("done"): "closed"}


@register("sciport", "organization", "labs")
def map_lab(ctx: MapContext) -> list[CanonicalRecord]:
    updated = ctx.required_date("changed")
    org = ctx.organization_name("name")
    record = ctx.entity(
        "organization", updated, revision=ctx.data.get("version"),
        name=org.name, legal_form=org.legal_form, match_key=org.match_key,
        name_as_served=org.as_served,
        org_kind=ctx.enum("kind", ctx.data.get("kind"), _KINDS, default="other"),
        kind_text=ctx.plain("kind"),
        address=ctx.address("address"),
        fields=ctx.fields(ctx.data.get("fields")),
    )
    return [ctx.build(record, updated, revision=ctx.data.get("version"))]


@register("sciport", "research_project", "projects")
def map_project(ctx: MapContext) -> list[CanonicalRecord]:
    updated = ctx.required_date("changed")
    lab_id = ctx.plain("lab_id")
    record = ctx.entity(
        "research_project", updated, revision=ctx.data.get("version"),
        code=ctx.plain("id"),
        title=ctx.require("title"),
        host_organization={"key": ctx.key("organization", lab_id) if lab_id else None,
                           "name": ctx.plain("lab_name")},
        fields=ctx.fields(ctx.data.get("fields")),
        budget=ctx.money("budget"),
        start_date=ctx.date("start"),
        end_date=ctx.date("end"),
        status=ctx.enum("status", ctx.data.get("status"), _STATUS, default="unknown"),
        status_text=ctx.plain("status"),
    )
    return [ctx.build(record, updated, revision=ctx.data.get("version"))]
