"""Techport records (docs/portals/techport.md) to canonical entities.

* ``cong-nghe`` -> technology_offer, ``techport:technology_offer:<id>``
* ``nhu-cau`` -> technology_demand (technology), ``techport:technology_demand:<id>``
* ``tim-doi-tac`` -> technology_demand (partner_search),
  ``techport:technology_demand:tim-doi-tac-<id>``
* ``nha-cung-cap`` -> organization, ``techport:organization:<id>``
* ``tu-van`` -> organization *or* person, ``techport:{organization,person}:tu-van-<id>``

English aliases are registered too (``technologies``, ``demands``, ``partner_projects``,
``suppliers``, ``consultants``). A technology refers to its supplier by key
(``supplier.key = techport:organization:<ma_nha_cung_cap>``) but does *not* publish a copy of the
supplier: the supplier stream is the authoritative record of that key, and on a compacted topic
a thin copy from a listing would overwrite it. A consultant is an organization or an expert
(``loai``); since Techport signals no deletes, a reconciliation delete of a consultant yields a
delete for both keys (the one that never existed is a no-op for consumers).
``phien_ban == 1`` means ``create``. ``ngay_cap_nhat`` has minute precision: two changes in one
minute share an ``entityversion``; ``source_revision`` (``phien_ban``) orders them.
"""

from __future__ import annotations

from typing import Any

from ecohub.normalize.mapping import MapContext, register
from ecohub.normalize.text import fold
from ecohub.records import CanonicalRecord

__all__ = ["DEMAND_STATUS", "MATURITY", "OFFER_KINDS", "SUPPLIER_KINDS"]


def _labels(table: dict[str, str]) -> dict[str, str]:
    return {fold(k): v for k, v in table.items()} | {fold(v): v for v in table.values()}


OFFER_KINDS = _labels({"Công nghệ": "technology", "Thiết bị": "equipment"})
MATURITY = _labels({
    "Phòng thí nghiệm": "laboratory",
    "Thử nghiệm": "pilot",
    "Sản xuất thử": "trial_production",
    "Thương mại hóa": "commercialized",
})
DEMAND_STATUS = _labels(
    {"Đang tìm kiếm": "searching", "Đã kết nối": "connected", "Đã đóng": "closed"}
)
SUPPLIER_KINDS = _labels({
    "Doanh nghiệp": "enterprise",
    "Viện nghiên cứu": "research_institute",
    "Trường đại học": "university",
    "Trung tâm": "centre",
    "Khác": "other",
})
_CONSULTANT_KINDS = _labels({"Tổ chức": "organization", "Chuyên gia": "person"})


def _updated(ctx: MapContext) -> Any:
    return ctx.required_date("ngay_cap_nhat")


def _named_ref(ctx: MapContext, name_field: str) -> dict[str, Any] | None:
    name = ctx.plain(name_field)
    return {"key": None, "name": name} if name else None


@register("techport", "technology_offer", "cong-nghe", "technologies", "technology")
def map_technology(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = _updated(ctx)
    supplier_id = ctx.plain("ma_nha_cung_cap")
    supplier_name = ctx.plain("ten_nha_cung_cap")
    record = ctx.entity(
        "technology_offer", updated, created=data.get("ngay_dang"), revision=data.get("phien_ban"),
        title=ctx.require("ten_cong_nghe"),
        offer_kind=ctx.required_enum("loai", data.get("loai"), OFFER_KINDS),
        fields=ctx.fields(data.get("linh_vuc"), "linh_vuc"),
        description=ctx.text("mo_ta"),
        origin_country=ctx.plain("xuat_xu"),
        maturity=ctx.enum("muc_do_phat_trien", data.get("muc_do_phat_trien"), MATURITY),
        maturity_text=ctx.plain("muc_do_phat_trien"),
        transfer_modes=ctx.strings(data.get("hinh_thuc_chuyen_giao"), "hinh_thuc_chuyen_giao"),
        price=ctx.money("gia_tham_khao"),
        supplier=({"key": ctx.key("organization", supplier_id) if supplier_id else None,
                   "name": supplier_name} if supplier_id or supplier_name else None),
        published=ctx.date("ngay_dang"),
        views=ctx.integer("luot_xem"),
    )
    return [ctx.build(record, updated, revision=data.get("phien_ban"))]


@register("techport", "technology_demand", "nhu-cau", "demands", "demand")
def map_demand(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = _updated(ctx)
    record = ctx.entity(
        "technology_demand", updated, created=data.get("ngay_dang"), revision=data.get("phien_ban"),
        title=ctx.require("tieu_de"),
        demand_kind="technology",
        description=ctx.text("mo_ta"),
        fields=ctx.fields(data.get("linh_vuc"), "linh_vuc"),
        budget=ctx.money("ngan_sach_du_kien"),
        requester=_named_ref(ctx, "don_vi_yeu_cau"),
        contact_name=ctx.person("nguoi_lien_he"),
        email_token=ctx.pii.email(data.get("email_lien_he"), "email_token"),
        phone_token=ctx.pii.phone(data.get("dien_thoai_lien_he"), "phone_token"),
        deadline=ctx.date("han_chot"),
        status=ctx.enum("tinh_trang", data.get("tinh_trang"), DEMAND_STATUS),
        status_text=ctx.plain("tinh_trang"),
        published=ctx.date("ngay_dang"),
    )
    return [ctx.build(record, updated, revision=data.get("phien_ban"))]


@register("techport", "technology_demand", "tim-doi-tac", "partner_search", "partner_projects",
          "partners", id_formats={"technology_demand": "tim-doi-tac-{}"})
def map_partner_search(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = _updated(ctx)
    record = ctx.entity(
        "technology_demand", updated, created=data.get("ngay_dang"), revision=data.get("phien_ban"),
        title=ctx.require("ten_du_an"),
        demand_kind="partner_search",
        description=ctx.text("mo_ta"),
        fields=ctx.fields(data.get("linh_vuc"), "linh_vuc"),
        budget=ctx.money("von_can_goi"),
        requester=_named_ref(ctx, "don_vi_de_xuat"),
        cooperation_forms=ctx.strings(data.get("hinh_thuc_hop_tac"), "hinh_thuc_hop_tac"),
        deadline=ctx.date("han_chot"),
        published=ctx.date("ngay_dang"),
    )
    return [ctx.build(record, updated, revision=data.get("phien_ban"))]


@register("techport", "organization", "nha-cung-cap", "suppliers", "supplier")
def map_supplier(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = _updated(ctx)
    org = ctx.organization_name("ten_don_vi")
    record = ctx.entity(
        "organization", updated, created=data.get("ngay_tham_gia"), revision=data.get("phien_ban"),
        name=org.name, legal_form=org.legal_form, match_key=org.match_key,
        name_as_served=org.as_served,
        english_name=ctx.plain("ten_tieng_anh"),
        abbreviation=ctx.plain("ten_viet_tat"),
        org_kind=ctx.enum("loai_hinh", data.get("loai_hinh"), SUPPLIER_KINDS, default="other"),
        kind_text=ctx.plain("loai_hinh"),
        tax_code=ctx.tax_code("ma_so_thue"),
        address=ctx.address("dia_chi"),
        website=ctx.plain("website"),
        head=ctx.person("nguoi_dai_dien"),
        technology_count=ctx.integer("so_cong_nghe"),
        email_token=ctx.pii.email(data.get("email"), "email_token"),
        phone_token=ctx.pii.phone(data.get("dien_thoai"), "phone_token"),
    )
    return [ctx.build(record, updated, revision=data.get("phien_ban"))]


@register("techport", ("organization", "person"), "tu-van", "consultants", "consultant",
          id_formats={"organization": "tu-van-{}", "person": "tu-van-{}"})
def map_consultant(ctx: MapContext) -> list[CanonicalRecord]:
    data = ctx.data
    updated = _updated(ctx)
    kind = ctx.required_enum("loai", data.get("loai"), _CONSULTANT_KINDS)
    common = {
        "fields": ctx.fields(data.get("linh_vuc_tu_van"), "linh_vuc_tu_van"),
        "services": ctx.strings(data.get("dich_vu"), "dich_vu"),
        "email_token": ctx.pii.email(data.get("email"), "email_token"),
        "phone_token": ctx.pii.phone(data.get("dien_thoai"), "phone_token"),
    }
    if kind == "person":
        record = ctx.entity(
            "person", updated, revision=data.get("phien_ban"),
            name=ctx.required_person("ten"),
            roles=["consultant"],
            organization=_named_ref(ctx, "to_chuc_cong_tac"),
            **common,
        )
        return [ctx.build(record, updated, revision=data.get("phien_ban"), entity_type="person")]
    org = ctx.organization_name("ten")
    record = ctx.entity(
        "organization", updated, revision=data.get("phien_ban"),
        name=org.name, legal_form=org.legal_form, match_key=org.match_key,
        name_as_served=org.as_served, org_kind="other", kind_text="Tổ chức tư vấn",
        tax_code=ctx.tax_code("ma_so_thue"),
        address=ctx.address("dia_chi"),
        **common,
    )
    return [ctx.build(record, updated, revision=data.get("phien_ban"), entity_type="organization")]
