"""Paginators: given the request just made and what its page said, the next request or ``None``.

Each is a small class with one method, :meth:`Paginator.next_request`, so a portal picks one by
name and a unit test can drive it alone. Every paginator remembers what it has seen: a page
number, cursor or resumption token served twice means the portal is looping, and the stream is
aborted with :class:`~ecohub.errors.PaginationLoopError` instead of reading forever.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

from connectors.toolkit.http import Request
from ecohub.errors import PaginationLoopError

__all__ = [
    "CursorPaginator",
    "NextLinkPaginator",
    "OffsetPaginator",
    "PageInfo",
    "PageNumberPaginator",
    "Paginator",
    "ResumptionTokenPaginator",
    "SinglePage",
]


@dataclass(frozen=True)
class PageInfo:
    """What a parsed page says about pagination; each portal's parser fills what it has.

    ``token`` is the next cursor, resumption token or next link (``None`` or empty: last page);
    ``page`` the page number the portal says it served; ``total`` its count of records or pages
    (``total_pages`` when the portal gives both).
    """

    record_count: int
    token: str | None = None
    page: int | None = None
    total: int | None = None
    total_pages: int | None = None


class Paginator(ABC):
    """Turns (request, page info) into the next request."""

    @abstractmethod
    def next_request(self, request: Request, info: PageInfo) -> Request | None:
        """The request for the following page, or ``None`` after the last one."""

    def _first_time(self, kind: str, value: object, request: Request) -> None:
        """Remember ``value``; seeing it again means the portal loops: abort the stream."""
        seen: set[object] = self.__dict__.setdefault("_seen", set())
        if value in seen:
            raise PaginationLoopError(
                f"the portal served the same {kind} twice; aborting the stream",
                **{kind.replace(" ", "_"): value, "path": request.path},
            )
        seen.add(value)


class SinglePage(Paginator):
    """Endpoints that answer everything at once."""

    def next_request(self, request: Request, info: PageInfo) -> Request | None:
        return None


class PageNumberPaginator(Paginator):
    """``?page=N&page_size=S`` (Techport, Stinet JSON API): stop on a short page or the total."""

    def __init__(self, *, page_size: int, param: str = "page", start: int = 1) -> None:
        self.page_size = page_size
        self.param = param
        self.start = start

    def next_request(self, request: Request, info: PageInfo) -> Request | None:
        current = int(request.params.get(self.param, self.start))
        served = info.page if info.page is not None else current
        self._first_time("page number", served, request)
        if info.record_count == 0 or self._is_last(current, info):
            return None
        return Request(request.path, {**request.params, self.param: current + 1})

    def _is_last(self, current: int, info: PageInfo) -> bool:
        pages = info.total_pages
        if pages is None and info.total is not None:
            pages = math.ceil(info.total / self.page_size)
        if pages is not None:
            return current - self.start + 1 >= pages
        return info.record_count < self.page_size


class OffsetPaginator(Paginator):
    """``?offset=N&limit=S``: advance by the records received, stop on a short page or total."""

    def __init__(self, *, limit: int, param: str = "offset") -> None:
        self.limit = limit
        self.param = param

    def next_request(self, request: Request, info: PageInfo) -> Request | None:
        offset = int(request.params.get(self.param, 0))
        self._first_time("offset", offset, request)
        following = offset + info.record_count
        if info.record_count == 0 or info.record_count < self.limit:
            return None
        if info.total is not None and following >= info.total:
            return None
        return Request(request.path, {**request.params, self.param: following})


class CursorPaginator(Paginator):
    """An opaque ``next_cursor`` (H.OIP): pass it back until the portal sends none."""

    def __init__(self, *, param: str = "cursor", keep_params: bool = True) -> None:
        self.param = param
        self.keep_params = keep_params

    def next_request(self, request: Request, info: PageInfo) -> Request | None:
        if not info.token:
            return None
        self._first_time("cursor", info.token, request)
        params = dict(request.params) if self.keep_params else {}
        return Request(request.path, {**params, self.param: info.token})


class ResumptionTokenPaginator(Paginator):
    """OAI-PMH: the next request carries only the verb and the resumptionToken (exclusive)."""

    def next_request(self, request: Request, info: PageInfo) -> Request | None:
        if not info.token:
            return None
        self._first_time("resumption token", info.token, request)
        verb = request.params["verb"]
        return Request(request.path, {"verb": verb, "resumptionToken": info.token})


class NextLinkPaginator(Paginator):
    """A full ``next`` URL in the body or Link header; the HTTP client checks its origin."""

    def next_request(self, request: Request, info: PageInfo) -> Request | None:
        if not info.token:
            return None
        self._first_time("next link", info.token, request)
        return Request(info.token, {})
