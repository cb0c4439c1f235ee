"""Techport (techport.vn): REST JSON with Vietnamese field names, page numbers, an API key.

Contract: ``docs/portals/techport.md``. ``updated_from`` is ``dd/mm/yyyy HH:MM`` in
Asia/Ho_Chi_Minh (minute precision, inclusive), listings sort by (``ngay_cap_nhat``, id)
ascending and state their totals (``tong_so``), so a listing that changes while we page is
restarted from the largest minute fully read. Techport has no delete signal: every stream is
reconciled by key set, each vanished id confirmed by its detail URL answering 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from connectors.toolkit.connector import Connector
from connectors.toolkit.http import Request
from connectors.toolkit.incremental import parse_time
from connectors.toolkit.pagination import PageInfo, PageNumberPaginator, Paginator
from connectors.toolkit.safety import parse_json
from connectors.toolkit.stream import ParsedPage, Stream, raw_records, record_schema
from ecohub.errors import PortalContractError

__all__ = ["STREAMS", "TechportConnector"]

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
CURSOR_FORMAT = "%d/%m/%Y %H:%M"
PAGE_MAX = 200
_COMMON = {"ngay_cap_nhat": "string", "phien_ban": "integer"}

# ---- layer 3: the streams ------------------------------------------------------------------

TECHNOLOGIES = Stream(
    name="technologies",
    path="/api/v2/cong-nghe",
    key="ma_cong_nghe",
    cursor="ngay_cap_nhat",
    schema=record_schema({"ma_cong_nghe": "integer", **_COMMON, "ten_cong_nghe": "string"}),
    deletes="reconcile",
    detail_path="/api/v2/cong-nghe/{key}",
)
DEMANDS = Stream(
    name="demands",
    path="/api/v2/nhu-cau",
    key="ma_nhu_cau",
    cursor="ngay_cap_nhat",
    schema=record_schema({"ma_nhu_cau": "integer", **_COMMON, "tieu_de": "string"}),
    deletes="reconcile",
    detail_path="/api/v2/nhu-cau/{key}",
)
SUPPLIERS = Stream(
    name="suppliers",
    path="/api/v2/nha-cung-cap",
    key="ma_nha_cung_cap",
    cursor="ngay_cap_nhat",
    schema=record_schema({"ma_nha_cung_cap": "integer", **_COMMON, "ten_don_vi": "string"}),
    deletes="reconcile",
    detail_path="/api/v2/nha-cung-cap/{key}",
)
CONSULTANTS = Stream(
    name="consultants",
    path="/api/v2/tu-van",
    key="ma_tu_van",
    cursor="ngay_cap_nhat",
    schema=record_schema({"ma_tu_van": "integer", **_COMMON, "loai": "string", "ten": "string"}),
    deletes="reconcile",
    detail_path="/api/v2/tu-van/{key}",
)
PARTNER_PROJECTS = Stream(
    name="partner_projects",
    path="/api/v2/tim-doi-tac",
    key="ma_du_an",
    cursor="ngay_cap_nhat",
    schema=record_schema({"ma_du_an": "integer", **_COMMON, "ten_du_an": "string"}),
    deletes="reconcile",
    detail_path="/api/v2/tim-doi-tac/{key}",
)
STREAMS = (TECHNOLOGIES, DEMANDS, SUPPLIERS, CONSULTANTS, PARTNER_PROJECTS)


# ---- layer 2: the client ---------------------------------------------------------------------


class TechportConnector(Connector):
    """Techport's partner API v2 (``X-API-Key``)."""

    portal: ClassVar[str] = "techport"
    streams: ClassVar[tuple[Stream, ...]] = STREAMS

    def paginator(self, stream: Stream) -> Paginator:
        return PageNumberPaginator(page_size=self._page_size(), param="trang")

    def first_request(self, stream: Stream, since: datetime | None) -> Request:
        params: dict[str, Any] = {"trang": 1, "so_dong": self._page_size()}
        if since is not None:  # minute precision, inclusive: truncating only reads more
            params["updated_from"] = since.astimezone(LOCAL).strftime(CURSOR_FORMAT)
        return Request(stream.path, {**stream.params, **params})

    def parse_page(self, stream: Stream, body: bytes) -> ParsedPage:
        return parse_page(stream, body)

    def parse_cursor(self, stream: Stream, value: str) -> datetime:
        try:
            return parse_time(value, CURSOR_FORMAT).replace(tzinfo=LOCAL)
        except ValueError:
            raise PortalContractError(
                "unreadable ngay_cap_nhat", portal=self.portal, stream=stream.name, value=value
            ) from None

    def _page_size(self) -> int:
        return min(self.settings.page_size, PAGE_MAX)


def parse_page(stream: Stream, body: bytes) -> ParsedPage:
    """The envelope ``{"trang_thai", "du_lieu": [...], "phan_trang": {...}}``."""
    document = parse_json(body)
    if not isinstance(document, dict) or document.get("trang_thai") != "thanh_cong":
        raise PortalContractError(
            "Techport page is not a successful envelope", stream=stream.name,
            code=document.get("ma_loi") if isinstance(document, dict) else None,
        )
    items = document.get("du_lieu")
    if not isinstance(items, list):
        raise PortalContractError("Techport page without a du_lieu list", stream=stream.name)
    paging = document.get("phan_trang") or {}
    records = raw_records(items, stream)
    info = PageInfo(len(records), page=paging.get("trang"), total=paging.get("tong_so"),
                    total_pages=paging.get("tong_so_trang"))
    return ParsedPage(records, info)
