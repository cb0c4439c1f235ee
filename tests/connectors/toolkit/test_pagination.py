from __future__ import annotations

import pytest

from connectors.toolkit.http import Request
from connectors.toolkit.pagination import (
    CursorPaginator,
    NextLinkPaginator,
    OffsetPaginator,
    PageInfo,
    PageNumberPaginator,
    ResumptionTokenPaginator,
)
from ecohub.errors import PaginationLoopError

UPDATED = {"updated_from": "01/03/2026 00:00"}


def walk(paginator, first: Request, infos: list[PageInfo]) -> list[Request | None]:
    requests, request = [], first
    for info in infos:
        request = paginator.next_request(request, info)
        requests.append(request)
        if request is None:
            break
    return requests


@pytest.mark.parametrize(
    ("infos", "expected_pages"),
    [
        # totals given: 45 records of 20 -> pages 2, 3, then stop
        (
            [
                PageInfo(20, page=1, total=45),
                PageInfo(20, page=2, total=45),
                PageInfo(5, page=3, total=45),
            ],
            [2, 3, None],
        ),
        # total_pages wins over counting
        ([PageInfo(20, page=1, total_pages=2), PageInfo(20, page=2, total_pages=2)], [2, None]),
        # no totals: a short page ends it
        ([PageInfo(20), PageInfo(20), PageInfo(3)], [2, 3, None]),
        # an empty page ends it even when the total says more (records vanished)
        ([PageInfo(20, page=1, total=60), PageInfo(0, page=2, total=60)], [2, None]),
    ],
)
def test_page_number_paginator(infos, expected_pages):
    paginator = PageNumberPaginator(page_size=20, param="trang")
    first = Request("/api/v2/cong-nghe", {"trang": 1, "so_dong": 20, **UPDATED})
    got = walk(paginator, first, infos)
    assert [r.params["trang"] if r else None for r in got] == expected_pages
    assert all(r.params["updated_from"] == "01/03/2026 00:00" for r in got if r)


def test_page_number_paginator_refuses_a_page_served_twice():
    paginator = PageNumberPaginator(page_size=20)
    paginator.next_request(Request("/api/v1/experts", {"page": 1}), PageInfo(20, page=1, total=90))
    with pytest.raises(PaginationLoopError, match="same page number twice"):
        paginator.next_request(
            Request("/api/v1/experts", {"page": 2}), PageInfo(20, page=1, total=90)
        )


@pytest.mark.parametrize(
    ("infos", "expected_offsets"),
    [
        (
            [PageInfo(50, total=120), PageInfo(50, total=120), PageInfo(20, total=120)],
            [50, 100, None],
        ),
        ([PageInfo(50), PageInfo(49)], [50, None]),
        ([PageInfo(50, total=50)], [None]),
    ],
)
def test_offset_paginator(infos, expected_offsets):
    got = walk(OffsetPaginator(limit=50), Request("/x", {"limit": 50}), infos)
    assert [r.params["offset"] if r else None for r in got] == expected_offsets


def test_offset_paginator_refuses_an_offset_twice():
    paginator = OffsetPaginator(limit=10)
    paginator.next_request(Request("/x", {"offset": 0}), PageInfo(10))
    with pytest.raises(PaginationLoopError):
        paginator.next_request(Request("/x", {"offset": 0}), PageInfo(10))


def test_cursor_paginator_keeps_the_filter_and_stops_without_a_cursor():
    paginator = CursorPaginator(param="cursor")
    first = Request(
        "/api/v1/organizations", {"limit": 50, "updated_after": "2026-03-01T09:00:00+07:00"}
    )
    got = walk(
        paginator,
        first,
        [
            PageInfo(50, token="eyJ1IjoxfQ"),
            PageInfo(50, token="eyJ1IjoyfQ"),
            PageInfo(7, token=None),
        ],
    )
    assert [r.params.get("cursor") if r else None for r in got] == [
        "eyJ1IjoxfQ",
        "eyJ1IjoyfQ",
        None,
    ]
    assert got[0].params["updated_after"] == "2026-03-01T09:00:00+07:00"


def test_cursor_paginator_refuses_a_cursor_served_twice():
    paginator = CursorPaginator()
    paginator.next_request(Request("/x"), PageInfo(50, token="abc"))
    with pytest.raises(PaginationLoopError, match="same cursor twice") as caught:
        paginator.next_request(Request("/x", {"cursor": "abc"}), PageInfo(50, token="abc"))
    assert caught.value.context["cursor"] == "abc"


def test_resumption_token_request_carries_only_the_verb_and_the_token():
    paginator = ResumptionTokenPaginator()
    first = Request(
        "/oai",
        {
            "verb": "ListRecords",
            "metadataPrefix": "oai_dc",
            "from": "2026-03-01T00:00:00Z",
            "set": "type:thesis",
        },
    )
    got = walk(
        paginator,
        first,
        [PageInfo(100, token="c3RpbmV0OjEwMA", total=5321), PageInfo(100, token=None, total=5321)],
    )
    assert got[0].params == {"verb": "ListRecords", "resumptionToken": "c3RpbmV0OjEwMA"}
    assert got[1] is None


def test_resumption_token_seen_twice_aborts():
    paginator = ResumptionTokenPaginator()
    paginator.next_request(Request("/oai", {"verb": "ListRecords"}), PageInfo(100, token="t1"))
    with pytest.raises(PaginationLoopError, match="resumption token"):
        paginator.next_request(Request("/oai", {"verb": "ListRecords"}), PageInfo(100, token="t1"))


def test_next_link_paginator_follows_links_once():
    paginator = NextLinkPaginator()
    link = "http://127.0.0.1:8101/api/v1/experts?page=2&page_size=50"
    assert paginator.next_request(Request("/api/v1/experts"), PageInfo(50, token=link)) == Request(
        link, {}
    )
    with pytest.raises(PaginationLoopError):
        paginator.next_request(Request(link), PageInfo(50, token=link))
    assert NextLinkPaginator().next_request(Request("/x"), PageInfo(3, token=None)) is None
