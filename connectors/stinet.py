"""Stinet (stinet.gov.vn): OAI-PMH 2.0 for documents, a JSON API for tasks, experts, labs, orgs.

Contract: ``docs/portals/stinet.md``. Public, no auth. The JSON API is paged by following
``links.next`` (refused if it ever leaves the configured origin). Both interfaces sort by
cursor ascending (datestamp / ``modified``, then id), which lets a killed or restarted harvest
resume from the largest cursor fully read. Deletes: OAI ``status="deleted"`` headers for
documents; the JSON API has no delete signal, so its streams are reconciled by key set (the
detail URL answers 404).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from connectors.toolkit.connector import Connector, ListingRestart
from connectors.toolkit.http import Request
from connectors.toolkit.incremental import parse_time
from connectors.toolkit.pagination import (
    NextLinkPaginator,
    PageInfo,
    Paginator,
    ResumptionTokenPaginator,
)
from connectors.toolkit.safety import DEFAULT_XML_MAX_ELEMENTS, parse_json, parse_xml
from connectors.toolkit.stream import ParsedPage, RawRecord, Stream, raw_records, record_schema
from ecohub.errors import PortalContractError

__all__ = ["STREAMS", "StinetConnector"]

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
JSON_PAGE_MAX = 500
_JSON_RECORD = {"id": "integer", "modified": "string", "revision": "integer"}

# ---- layer 3: the streams ------------------------------------------------------------------

DOCUMENTS = Stream(
    name="documents",
    path="/oai",
    key="identifier",
    cursor="datestamp",
    schema=record_schema({"identifier": "string", "datestamp": "string", "dc": "object"}),
    deletes="inline",
    options={"protocol": "oai-pmh", "metadata_prefix": "oai_dc"},
)
TASKS = Stream(
    name="tasks",
    path="/api/v1/tasks",
    key="id",
    cursor="modified",
    schema=record_schema({**_JSON_RECORD, "code": ["string", "null"], "title": "string"}),
    deletes="reconcile",
    detail_path="/api/v1/tasks/{key}",
)
EXPERTS = Stream(
    name="experts",
    path="/api/v1/experts",
    key="id",
    cursor="modified",
    schema=record_schema({**_JSON_RECORD, "full_name": "string"}),
    deletes="reconcile",
    detail_path="/api/v1/experts/{key}",
)
LABORATORIES = Stream(
    name="laboratories",
    path="/api/v1/laboratories",
    key="id",
    cursor="modified",
    schema=record_schema({**_JSON_RECORD, "name": "string"}),
    deletes="reconcile",
    detail_path="/api/v1/laboratories/{key}",
)
ORGANIZATIONS = Stream(
    name="organizations",
    path="/api/v1/organizations",
    key="id",
    cursor="modified",
    schema=record_schema({**_JSON_RECORD, "name": "string"}),
    deletes="reconcile",
    detail_path="/api/v1/organizations/{key}",
)
STREAMS = (DOCUMENTS, TASKS, EXPERTS, LABORATORIES, ORGANIZATIONS)


# ---- layer 2: the client ---------------------------------------------------------------------


def _is_oai(stream: Stream) -> bool:
    return stream.options.get("protocol") == "oai-pmh"


class StinetConnector(Connector):
    """Stinet's two interfaces behind one connector."""

    portal: ClassVar[str] = "stinet"
    streams: ClassVar[tuple[Stream, ...]] = STREAMS

    def paginator(self, stream: Stream) -> Paginator:
        if _is_oai(stream):
            return ResumptionTokenPaginator()
        return NextLinkPaginator()  # links.next, checked against the configured origin

    def first_request(self, stream: Stream, since: datetime | None) -> Request:
        if _is_oai(stream):
            params: dict[str, Any] = {"verb": "ListRecords",
                                      "metadataPrefix": stream.options["metadata_prefix"]}
            if since is not None:
                params["from"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if stream.options.get("set"):
                params["set"] = stream.options["set"]
            return Request(stream.path, {**stream.params, **params})
        params = {"page": 1, "page_size": self._page_size()}
        if since is not None:  # local time without offset: no "+" to mis-encode in links.next
            params["modified_since"] = since.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M:%S")
        return Request(stream.path, {**stream.params, **params})

    def parse_page(self, stream: Stream, body: bytes) -> ParsedPage:
        if _is_oai(stream):
            return parse_oai_page(body, max_elements=self.settings.xml_max_elements)
        return parse_json_page(stream, body)

    def parse_cursor(self, stream: Stream, value: str) -> datetime:
        try:
            if _is_oai(stream):
                return _parse_datestamp(value)
            return parse_time(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=LOCAL)
        except ValueError:
            raise PortalContractError(
                "unreadable cursor value", portal=self.portal, stream=stream.name, value=value
            ) from None

    def _page_size(self) -> int:
        return min(self.settings.page_size, JSON_PAGE_MAX)


# ---- parsers (also used by replay) -----------------------------------------------------------


def parse_json_page(stream: Stream, body: bytes) -> ParsedPage:
    """The JSON API envelope: ``data`` list, ``meta`` totals, ``links.next``."""
    document = parse_json(body)
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise PortalContractError("Stinet JSON page without a data list", stream=stream.name)
    meta = document.get("meta") or {}
    links = document.get("links") or {}
    records = raw_records(document["data"], stream)
    info = PageInfo(len(records), token=links.get("next") or None, page=meta.get("page"),
                    total=meta.get("total"), total_pages=meta.get("total_pages"))
    return ParsedPage(records, info)


def parse_oai_page(body: bytes, *, max_elements: int = DEFAULT_XML_MAX_ELEMENTS) -> ParsedPage:
    """A ``ListRecords`` response: records, deleted headers, the resumption token."""
    root = parse_xml(body, max_elements=max_elements)
    error = root.find(f"{OAI}error")
    if error is not None:
        return _oai_error(error)
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        raise PortalContractError("OAI-PMH answer holds neither ListRecords nor error")
    records = [_oai_record(node) for node in listing.findall(f"{OAI}record")]
    token = listing.find(f"{OAI}resumptionToken")
    if token is None:
        return ParsedPage(records, PageInfo(len(records)))
    size = token.get("completeListSize")
    info = PageInfo(len(records), token=(token.text or "").strip() or None,
                    total=int(size) if size and size.isdigit() else None)
    return ParsedPage(records, info)


def _oai_error(error: Element) -> ParsedPage:
    code = error.get("code", "")
    if code == "noRecordsMatch":
        return ParsedPage([], PageInfo(0))
    if code == "badResumptionToken":
        raise ListingRestart("resumption token expired or rejected")
    raise PortalContractError(f"OAI-PMH error {code}", detail=(error.text or "").strip())


def _oai_record(node: Element) -> RawRecord:
    header = node.find(f"{OAI}header")
    if header is None:
        raise PortalContractError("OAI-PMH record without a header")
    identifier = (header.findtext(f"{OAI}identifier") or "").strip()
    datestamp = (header.findtext(f"{OAI}datestamp") or "").strip()
    deleted = header.get("status") == "deleted"
    data: dict[str, Any] = {
        "identifier": identifier,
        "datestamp": datestamp,
        "set_specs": [(s.text or "").strip() for s in header.findall(f"{OAI}setSpec")],
        "deleted": deleted,
        "dc": {} if deleted else _dublin_core(node),
    }
    return RawRecord(identifier, data, datestamp or None, deleted)


def _dublin_core(node: Element) -> dict[str, list[str]]:
    """Every ``dc:*`` element as a list of its texts (elements repeat), order kept."""
    fields: dict[str, list[str]] = {}
    metadata = node.find(f"{OAI}metadata")
    if metadata is None:
        return fields
    for element in metadata.iter():
        if element.tag.startswith(DC):
            fields.setdefault(element.tag[len(DC):], []).append(element.text or "")
    return fields


def _parse_datestamp(value: str) -> datetime:
    if len(value) == 10:
        return parse_time(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return parse_time(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
