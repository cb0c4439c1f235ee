"""Layer 2 of each portal alone: first requests, cursor formats and page parsers, on the
examples of the written contracts (docs/portals/*.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from connectors import get_connector
from connectors.hoip import parse_changes
from connectors.toolkit.connector import ListingRestart
from ecohub.errors import MalformedResponse, PortalContractError
from ecohub.settings import load_settings

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SINCE = datetime(2026, 3, 1, 2, 0, 30, tzinfo=UTC)  # 09:00:30 in Ho Chi Minh City
SETTINGS = load_settings({})


def connector(portal):
    return get_connector(portal, SETTINGS)


@pytest.mark.parametrize(
    ("portal", "stream", "expected"),
    [
        (
            "techport",
            "technologies",
            {"trang": 1, "so_dong": 100, "updated_from": "01/03/2026 09:00"},
        ),
        (
            "stinet",
            "experts",
            {"page": 1, "page_size": 100, "modified_since": "2026-03-01T09:00:30"},
        ),
        (
            "stinet",
            "documents",
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-03-01T02:00:30Z"},
        ),
        ("hoip", "organizations", {"limit": 100, "updated_after": "2026-03-01T09:00:29+07:00"}),
    ],
)
def test_first_requests_speak_each_portal_format(portal, stream, expected):
    c = connector(portal)
    assert dict(c.first_request(c.stream(stream), SINCE).params) == expected


@pytest.mark.parametrize(
    ("portal", "stream", "value", "expected"),
    [
        ("techport", "technologies", "05/03/2026 14:30", datetime(2026, 3, 5, 14, 30, tzinfo=HCM)),
        ("stinet", "tasks", "2026-03-01 10:00:00", datetime(2026, 3, 1, 10, 0, tzinfo=HCM)),
        (
            "stinet",
            "documents",
            "2026-03-01T03:12:40Z",
            datetime(2026, 3, 1, 3, 12, 40, tzinfo=UTC),
        ),
        ("stinet", "documents", "2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("hoip", "programs", "2026-03-02T10:00:00+07:00", datetime(2026, 3, 2, 3, 0, tzinfo=UTC)),
    ],
)
def test_cursor_formats(portal, stream, value, expected):
    c = connector(portal)
    assert c.parse_cursor(c.stream(stream), value) == expected


@pytest.mark.parametrize(
    ("portal", "stream", "value"),
    [
        ("techport", "technologies", "31/02/2024 10:00"),
        ("hoip", "programs", "2026-03-02T10:00:00"),
        ("stinet", "tasks", "01/03/2026"),
    ],
)
def test_unreadable_cursors_are_contract_errors(portal, stream, value):
    c = connector(portal)
    with pytest.raises(PortalContractError):
        c.parse_cursor(c.stream(stream), value)


TECHPORT_PAGE = {
    "trang_thai": "thanh_cong",
    "du_lieu": [
        {
            "ma_cong_nghe": 104211,
            "ten_cong_nghe": "Hệ thống tưới nhỏ giọt điều khiển qua IoT",
            "loai": "Công nghệ",
            "gia_tham_khao": "450 triệu VNĐ",
            "ngay_cap_nhat": "01/03/2026 09:40",
            "phien_ban": 4,
        }
    ],
    "phan_trang": {"trang": 1, "so_dong": 1, "tong_so": 57, "tong_so_trang": 57},
}


def test_techport_page():
    c = connector("techport")
    page = c.parse_page(c.stream("technologies"), json.dumps(TECHPORT_PAGE).encode())
    record = page.records[0]
    assert (record.key, record.cursor, record.deleted) == ("104211", "01/03/2026 09:40", False)
    assert (page.info.page, page.info.total, page.info.total_pages) == (1, 57, 57)


def test_techport_error_envelope_is_a_contract_error():
    c = connector("techport")
    body = {
        "trang_thai": "loi",
        "ma_loi": "SAI_THAM_SO",
        "thong_bao": "so_dong phải nằm trong khoảng 1..200",
    }
    with pytest.raises(PortalContractError, match="not a successful envelope") as caught:
        c.parse_page(c.stream("technologies"), json.dumps(body).encode())
    assert caught.value.context["code"] == "SAI_THAM_SO"


STINET_JSON = {
    "data": [
        {
            "id": 1017,
            "name": "Viện Sinh học Nhiệt đới",
            "tax_code": "0301456789",
            "created": "2018-04-02 08:15:00",
            "modified": "2026-03-01 10:00:00",
            "revision": 3,
        }
    ],
    "meta": {"page": 2, "page_size": 50, "total": 626, "total_pages": 13},
    "links": {"next": "/api/v1/organizations?page=3&page_size=50", "prev": None},
}


def test_stinet_json_page_follows_links_next():
    c = connector("stinet")
    page = c.parse_page(c.stream("organizations"), json.dumps(STINET_JSON).encode())
    assert page.records[0].key == "1017" and page.records[0].cursor == "2026-03-01 10:00:00"
    assert page.info.token == "/api/v1/organizations?page=3&page_size=50"
    assert page.info.total == 626


OAI = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <responseDate>2026-03-02T02:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">http://127.0.0.1:8101/oai</request>
  {body}
</OAI-PMH>"""
RECORDS = """<ListRecords>
    <record><header><identifier>oai:stinet.gov.vn:doc/00012345</identifier>
      <datestamp>2026-03-01T03:12:40Z</datestamp><setSpec>inst:hcmus</setSpec><setSpec>type:thesis</setSpec>
    </header><metadata>
      <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <dc:title>Nghiên cứu ứng dụng học sâu trong chẩn đoán bệnh lúa</dc:title>
        <dc:creator>Trần Thị Bích Ngọc</dc:creator>
        <dc:contributor>PGS.TS. Lê Hoàng Thái</dc:contributor>
        <dc:identifier>https://stinet.gov.vn/tai-lieu/12345</dc:identifier>
        <dc:identifier>ISBN 978-604-73-1234-4</dc:identifier>
      </oai_dc:dc></metadata></record>
    <record><header status="deleted"><identifier>oai:stinet.gov.vn:doc/00000871</identifier>
      <datestamp>2026-03-01T04:00:00Z</datestamp><setSpec>inst:hcmus</setSpec></header></record>
    <resumptionToken completeListSize="5321" cursor="0">c3RpbmV0Oj</resumptionToken>
  </ListRecords>"""


def test_oai_page_with_a_record_a_deleted_header_and_a_token():
    c = connector("stinet")
    page = c.parse_page(c.stream("documents"), OAI.format(body=RECORDS).encode())
    live, gone = page.records
    assert live.key == "oai:stinet.gov.vn:doc/00012345" and not live.deleted
    assert live.data["dc"]["title"] == ["Nghiên cứu ứng dụng học sâu trong chẩn đoán bệnh lúa"]
    assert live.data["dc"]["identifier"] == [
        "https://stinet.gov.vn/tai-lieu/12345",
        "ISBN 978-604-73-1234-4",
    ]
    assert live.data["set_specs"] == ["inst:hcmus", "type:thesis"]
    assert gone.deleted and gone.cursor == "2026-03-01T04:00:00Z" and gone.data["dc"] == {}
    assert (page.info.token, page.info.total) == ("c3RpbmV0Oj", 5321)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        ("noRecordsMatch", "empty"),
        ("badResumptionToken", ListingRestart),
        ("badArgument", PortalContractError),
        ("cannotDisseminateFormat", PortalContractError),
    ],
)
def test_oai_errors(error, outcome):
    c = connector("stinet")
    body = OAI.format(body=f'<error code="{error}">thông báo</error>').encode()
    if outcome == "empty":
        assert c.parse_page(c.stream("documents"), body).records == []
    else:
        with pytest.raises(outcome):
            c.parse_page(c.stream("documents"), body)


def test_a_cut_oai_page_is_retriable():
    c = connector("stinet")
    with pytest.raises(MalformedResponse):
        c.parse_page(c.stream("documents"), OAI.format(body=RECORDS).encode()[:700])


def test_hoip_page_and_change_feed():
    c = connector("hoip")
    spec = c.stream("organizations")
    items = {
        "items": [
            {
                "id": "org_0000017",
                "name": "Trung tâm Khởi nghiệp Đổi mới sáng tạo TP.HCM (SIHUB)",
                "kind": "incubator",
                "updated_at": "2026-03-01T10:00:00+07:00",
                "version": 4,
            }
        ],
        "next_cursor": "eyJ1IjoxNzcyMzM0MDAwfQ",
        "has_more": True,
    }
    page = c.parse_page(spec, json.dumps(items).encode())
    assert page.records[0].key == "org_0000017" and page.info.token == "eyJ1IjoxNzcyMzM0MDAwfQ"
    last = c.parse_page(
        spec, json.dumps({**items, "next_cursor": None, "has_more": False}).encode()
    )
    assert last.info.token is None
    feed = {
        "changes": [
            {
                "seq": 20417,
                "resource": "organizations",
                "id": "org_0000312",
                "op": "upsert",
                "version": 3,
                "updated_at": "2026-03-02T10:00:00+07:00",
            },
            {
                "seq": 20418,
                "resource": "organizations",
                "id": "org_0000313",
                "op": "delete",
                "version": 5,
                "updated_at": "2026-03-02T10:00:00+07:00",
                "deleted_at": "2026-03-02T10:05:00+07:00",
            },
        ],
        "next_since": 20418,
        "has_more": True,
    }
    changes = parse_changes(spec, json.dumps(feed).encode())
    (tombstone,) = changes.tombstones.records
    assert (tombstone.key, tombstone.cursor, tombstone.deleted) == (
        "org_0000313",
        "2026-03-02T10:05:00+07:00",
        True,
    )
    assert [u["id"] for u in changes.upserts] == ["org_0000312"]
    assert changes.next_since == 20418 and changes.tombstones.info.token == "20418"
