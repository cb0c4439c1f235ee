"""SciPort's connector: the toolkit does the HTTP, retries, paging loop and cursors; this class
says only how SciPort pages, filters and spells its cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from connectors.toolkit.connector import Connector
from connectors.toolkit.http import Request
from connectors.toolkit.pagination import PageInfo, PageNumberPaginator, Paginator
from connectors.toolkit.safety import parse_json
from connectors.toolkit.stream import ParsedPage, RawRecord, Stream, record_schema
from ecohub.errors import PortalContractError

__all__ = ["STREAMS", "SciportConnector"]

_COMMON = {"id": "string", "changed": "string", "version": "integer"}

LABS = Stream(name="labs", path="/v1/labs", key="id", cursor="changed",
              schema=record_schema(_COMMON), deletes="inline")
PROJECTS = Stream(name="projects", path="/v1/projects", key="id", cursor="changed",
                  schema=record_schema(_COMMON), deletes="inline")
STREAMS = (LABS, PROJECTS)


class SciportConnector(Connector):
    """SciPort's API v1 (``X-API-Key``, the toolkit's default API-key header)."""

    portal: ClassVar[str] = "sciport"
    streams: ClassVar[tuple[Stream, ...]] = STREAMS

    def paginator(self, stream: Stream) -> Paginator:
        return PageNumberPaginator(page_size=self.settings.page_size, param="page")

    def first_request(self, stream: Stream, since: datetime | None) -> Request:
        params: dict[str, object] = {"page": 1, "per_page": self.settings.page_size}
        if since is not None:
            params["changed_since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Request(stream.path, params)

    def parse_page(self, stream: Stream, body: bytes) -> ParsedPage:
        document = parse_json(body)
        items = document.get("items") if isinstance(document, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise PortalContractError("SciPort page without an items list", stream=stream.name)
        records = [RawRecord(str(i.get("id")), i, i.get("changed"), bool(i.get("deleted")))
                   for i in items]
        info = PageInfo(len(records), page=document.get("page"), total=document.get("total"),
                        total_pages=document.get("pages"))
        return ParsedPage(records, info)

    def parse_cursor(self, stream: Stream, value: str) -> datetime:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise PortalContractError("unreadable changed", portal=self.portal,
                                      stream=stream.name, value=value) from None
