"""Stinet records (docs/portals/stinet.md) to canonical entities.

Streams and what they yield (one entity per record):

=================  ====================  ==============================================
stream             entity                entity key
=================  ====================  ==============================================
documents (OAI)    document              ``stinet:document:<OAI identifier>``
tasks              research_project      ``stinet:research_project:<id>``
experts            person                ``stinet:person:<id>``
laboratories       organization          ``stinet:organization:lab-<id>`` (ids of labs and
                                         organizations are separate sequences)
organizations      organization          ``stinet:organization:<id>``
=================  ====================  ==============================================

An OAI record's ``data`` is what the Stinet connector yields
(``{"identifier", "datestamp", "set_specs", "deleted", "dc": {"title": [...], ...}}``); a
split ``{"header": {...}, "metadata": {...}}`` form and ``dc:``-prefixed element names are read
too; values may be a string or a list. OAI-PMH has no creation time, so documents are
always ``update`` (upsert); the JSON API's ``revision == 1`` means ``create``.
"""

from __future__ import annotations

from typing import Any

from ecohub.normalize.identifiers import normalize_isbn, normalize_issn
from ecohub.normalize.mapping import MapContext, register
from ecohub.normalize.text import clean_optional, describe_json, fold, is_text_like, type_name
from ecohub.records import CanonicalRecord

__all__ = ["DOCUMENT_TYPES", "ORG_KINDS", "TASK_STATUS"]


def _labels(table: dict[str, str]) -> dict[str, str]:
    return {fold(k): v for k, v in table.items()} | {fold(v): v for v in table.values()}


DOCUMENT_TYPES = _labels({
    "Báo cáo kết quả nhiệm vụ KH&CN": "task_report",
    "Sách": "book",
    "Giáo trình nội bộ": "textbook",
    "Luận văn thạc sĩ": "thesis",
    "Luận án tiến sĩ": "dissertation",
    "Bài báo tạp chí KH&CN": "journal_article",
    "Bài báo hội nghị": "conference_paper",
})
TASK_STATUS = _labels({
    "Đang thực hiện": "in_progress",
    "Đã nghiệm thu": "accepted",
    "Tạm dừng": "suspended",
    "Đã thanh lý": "closed",
})
ORG_KINDS = _labels({
    "Trường đại học": "university",
    "Viện nghiên cứu": "research_institute",
    "Trung tâm": "centre",
    "Doanh nghiệp KH&CN": "science_technology_enterprise",
    "Tổ chức KH&CN khác": "other",
})
_GENDER = _labels({"Nam": "male", "Nữ": "female"})
_DC = frozenset({"title", "creator", "subject", "description", "publisher", "contributor", "date",
                 "type", "format", "identifier", "source", "language", "relation", "coverage",
                 "rights"})


# --------------------------------------------------------------------------- helpers
def _org_ref(ctx: MapContext, raw: Any, source_format: str = "{}") -> dict[str, Any] | None:
    """``{id, name}`` (or a bare name) -> orgRef; the key only when Stinet gives an id."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        name = ctx.plain("organization", raw)
        return {"key": None, "name": name} if name else None
    org_id, name = raw.get("id"), ctx.plain("organization.name", raw.get("name"))
    if org_id is not None and not ctx.plain("organization.id", org_id):
        org_id = None
    if org_id in (None, "") and name is None:
        return None
    if org_id in (None, ""):
        return {"key": None, "name": name}
    key = ctx.key("organization", source_format.format(org_id))
    return {"key": key, "name": name}


def _metadata(data: dict[str, Any]) -> Any:
    """Where the oai_dc elements are: ``data["dc"]``, ``data["metadata"]`` or ``data`` itself."""
    for key in ("dc", "metadata"):
        value = data.get(key)
        if isinstance(value, dict):
            return value
    return data


# The spellings of each element's key, tried in order (spelled once, not per record: _dc runs
# a dozen times a document).
_DC_KEYS = {name: (name, f"dc:{name}", f"dc_{name}") for name in _DC}


def _dc(data: dict[str, Any], name: str) -> list[str]:
    """All text values of one oai_dc element, wherever the connector put them (values that
    are not text are left out here; :func:`_dc_problems` reports them)."""
    metadata = _metadata(data)
    if not isinstance(metadata, dict):
        return []
    for key in _DC_KEYS.get(name) or (name, f"dc:{name}", f"dc_{name}"):
        value = metadata.get(key)
        if value is not None:
            texts = []
            for item in value if isinstance(value, list) else (value,):
                if is_text_like(item):
                    text = clean_optional(item)
                    if text:
                        texts.append(text)
            return texts
    return []


def _dc_problems(ctx: MapContext, data: dict[str, Any]) -> None:
    """A ``type`` issue for every oai_dc value that is not text (object, list, boolean)."""
    metadata = _metadata(data)
    if not isinstance(metadata, dict):
        return
    for key, value in metadata.items():
        if metadata is data and key in ("identifier", "datestamp"):
            continue  # the OAI header, not Dublin Core
        for item in value if isinstance(value, list) else [value]:
            if not is_text_like(item) and item is not None and key.removeprefix("dc:") in _DC:
                ctx.issue(f"dc:{key.removeprefix('dc:').removeprefix('dc_')}", "type",
                          f"expected text, got a JSON {type_name(item)}", describe_json(item))


def _first(data: dict[str, Any], name: str) -> str | None:
    values = _dc(data, name)
    return values[0] if values else None


def _header(data: dict[str, Any], name: str) -> Any:
    header = data.get("header") if isinstance(data.get("header"), dict) else data
    return header.get(name) if isinstance(header, dict) else None


def _organization_data(
    ctx: MapContext, name_field: str, updated: Any, **values: Any
) -> dict[str, Any]:
    org = ctx.organization_name(name_field)
    return ctx.entity(
        "organization", updated, created=ctx.data.get("created"), revision=ctx.data.get("revision"),
        name=org.name, legal_form=org.legal_form, match_key=org.match_key,
        name_as_served=org.as_served, **values,
    )


# --------------------------------------------------------------------------- documents
def _identifiers(ctx: MapContext, values: list[str]) -> dict[str, str | None]:
    """URL, ISBN and ISSN from ``dc:identifier`` (compact, check digit verified)."""
    found: dict[str, str | None] = {"source_url": None, "isbn": None, "issn": None}
    for value in values:
        upper = value.upper()
        if value.startswith(("http://", "https://")) and found["source_url"] is None:
            found["source_url"] = value
        elif upper.startswith("ISBN") and found["isbn"] is None:
            found["isbn"] = ctx.identifier("dc:identifier", value[4:].strip(" :"), normalize_isbn)
        elif upper.startswith("ISSN") and found["issn"] is None:
            found["issn"] = ctx.identifier("dc:identifier", value[4:].strip(" :"), normalize_issn)
    return found


def _relation_code(values: list[str]) -> str | None:
    for value in values:
        head, _, code = value.partition(":")
        if fold(head) == "nhiem vu" and code.strip():
            return code.strip()
    return None


def _institution(data: dict[str, Any]) -> str | None:
    sets = _header(data, "set_specs") or _header(data, "setSpec") or _header(data, "sets") or []
    for spec in sets if isinstance(sets, list) else [sets]:
        if isinstance(spec, str) and spec.startswith("inst:"):
            return spec.removeprefix("inst:")
    return None


@register("stinet", "document", "documents", "oai", "oai_dc", "records")
def map_document(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("datestamp", _header(data, "datestamp"))
    titles = _dc(data, "title")
    title = ctx.require("dc:title", titles[0] if titles else None)
    type_text = _first(data, "type")
    rights = _first(data, "rights")
    _dc_problems(ctx, data)
    identifiers = _identifiers(ctx, _dc(data, "identifier"))
    subjects = _dc(data, "subject")
    publisher = _first(data, "publisher")
    record = ctx.entity(
        "document", updated,
        title=title,
        document_type=ctx.enum("dc:type", type_text, DOCUMENT_TYPES, default="other"),
        type_text=type_text,
        authors=[p for p in (ctx.person("dc:creator", c) for c in _dc(data, "creator")) if p],
        contributors=[
            p for p in (ctx.person("dc:contributor", c) for c in _dc(data, "contributor")) if p
        ],
        subjects=subjects,
        fields=ctx.fields(subjects[:1], "dc:subject"),
        abstract=ctx.text("dc:description", _first(data, "description")),
        publisher={"key": None, "name": publisher} if publisher else None,
        institution=_institution(data),
        published=ctx.date("dc:date", _first(data, "date")),
        format=_first(data, "format"),
        language=_first(data, "language"),
        isbn=identifiers["isbn"],
        issn=identifiers["issn"],
        research_project_code=_relation_code(_dc(data, "relation")),
        full_text_available=None if rights is None else fold(rights) == "toan van",
    )
    record["source_url"] = identifiers["source_url"]
    return [ctx.build(record, updated)]


# --------------------------------------------------------------------------- JSON API
@register("stinet", "research_project", "tasks", "nhiem_vu")
def map_task(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("modified")
    document_ids = ctx.strings(data.get("document_ids"), "document_ids")
    record = ctx.entity(
        "research_project", updated, created=data.get("created"), revision=data.get("revision"),
        code=ctx.plain("code"),
        title=ctx.require("title"),
        principal_investigator=ctx.person("principal_investigator"),
        host_organization=_org_ref(ctx, data.get("host_organization")),
        fields=ctx.fields(data.get("field"), "field"),
        budget=ctx.money("budget"),
        start_date=ctx.date("start_date"),
        end_date=ctx.date("end_date"),
        status=ctx.enum("status", data.get("status"), TASK_STATUS, default="unknown"),
        status_text=ctx.plain("status"),
        results=ctx.text("results"),
        document_keys=[ctx.key("document", doc_id) for doc_id in document_ids],
    )
    return [ctx.build(record, updated, revision=data.get("revision"))]


@register("stinet", "person", "experts", "chuyen_gia")
def map_expert(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("modified")
    name = ctx.required_person("full_name")
    record = ctx.entity(
        "person", updated, created=data.get("created"), revision=data.get("revision"),
        name=name,
        roles=["expert"],
        degree=ctx.plain("degree"),
        gender=ctx.enum("gender", data.get("gender"), _GENDER),
        birth_year=ctx.integer("birth_year"),
        organization=_org_ref(ctx, data.get("organization")),
        position=ctx.plain("position"),
        fields=ctx.fields(data.get("fields"), "fields"),
        specialization=ctx.text("specialization"),
        publications=ctx.integer("publications"),
        email_token=ctx.pii.email(data.get("email"), "email_token"),
        phone_token=ctx.pii.phone(data.get("phone"), "phone_token"),
    )
    return [ctx.build(record, updated, revision=data.get("revision"))]


@register("stinet", "organization", "laboratories", "labs", id_formats={"organization": "lab-{}"})
def map_laboratory(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("modified")
    record = _organization_data(
        ctx, "name", updated,
        english_name=ctx.plain("english_name"),
        org_kind="laboratory",
        kind_text=ctx.plain("lab_type"),
        parent=_org_ref(ctx, data.get("organization")),
        accreditation=ctx.plain("vilas_code"),
        fields=ctx.fields(data.get("fields"), "fields"),
        head=ctx.person("head"),
        address=ctx.address("address"),
        equipment_count=ctx.integer("equipment_count"),
        email_token=ctx.pii.email(data.get("email"), "email_token"),
        phone_token=ctx.pii.phone(data.get("phone"), "phone_token"),
    )
    return [ctx.build(record, updated, revision=data.get("revision"))]


@register("stinet", "organization", "organizations", "to_chuc")
def map_organization(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = ctx.required_date("modified")
    record = _organization_data(
        ctx, "name", updated,
        english_name=ctx.plain("english_name"),
        abbreviation=ctx.plain("abbreviation"),
        org_kind=ctx.enum("org_type", data.get("org_type"), ORG_KINDS, default="other"),
        kind_text=ctx.plain("org_type"),
        tax_code=ctx.tax_code("tax_code"),
        registration=ctx.plain("registration"),
        founded=ctx.date("founded_date"),
        address=ctx.address("address"),
        website=ctx.plain("website"),
        head=ctx.person("director"),
        fields=ctx.fields(data.get("fields"), "fields"),
        email_token=ctx.pii.email(data.get("email"), "email_token"),
        phone_token=ctx.pii.phone(data.get("phone"), "phone_token"),
    )
    return [ctx.build(record, updated, revision=data.get("revision"))]
