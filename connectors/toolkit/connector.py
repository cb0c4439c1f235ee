"""The connector base class (layer 1): the read loop every portal shares.

A portal's connector (layer 2) subclasses :class:`Connector` and answers five questions: how to
authenticate, which paginator, the first request of a stream given a start cursor, how to parse
one page, and how to read its cursor format. The loop here does everything else, identically
for all portals: fetch (retried, rate limited, size capped), land the raw page, check and
de-duplicate its records, and yield one :class:`Batch` per page with the state to save once
that batch is published.

Listings that shift while we page (records created or removed between two requests, visible
as a changed total) are listed again from the run's start, since the newcomers may sort anywhere
before our position; listings whose token expired restart from the largest cursor fully read.
Nothing is skipped, and what is re-read is de-duplicated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from connectors.toolkit.auth import AuthStrategy, auth_from_settings
from connectors.toolkit.http import HttpClient, Request, Response
from connectors.toolkit.incremental import CursorTracker, to_utc_text
from connectors.toolkit.pagination import PageInfo, Paginator
from connectors.toolkit.ratelimit import shared_limiter
from connectors.toolkit.retry import RetryPolicy
from connectors.toolkit.stream import ParsedPage, RawRecord, Stream
from ecohub.errors import (
    ConfigError,
    ListingRestart,
    PaginationLoopError,
    PortalContractError,
    ReconciliationError,
    RunLimitError,
)
from ecohub.records import SourceRecord
from ecohub.settings import PortalSettings

if TYPE_CHECKING:
    from ecohub.landing import Landing

__all__ = ["RECONCILIATION_KEY", "Batch", "Connector", "Followed", "ListingRestart", "ReadRun"]

log = logging.getLogger(__name__)
T = TypeVar("T")
RECONCILIATION_KEY = "ecohub_reconciliation"


@dataclass(frozen=True)
class Batch:
    """One fetched page: its new records, the state to save after publishing them, its landing.

    ``state`` is empty for batches that must not move the stream's state (replays, and
    reconciliation of a connector that has not read the stream in this process).
    """

    records: list[SourceRecord]
    state: dict[str, Any]
    landing_uri: str
    page: int


@dataclass
class ReadRun:
    """One read of one stream under way: where pages go and what state they carry."""

    spec: Stream
    tracker: CursorTracker
    extras: dict[str, Any]
    run_id: str
    landing: Landing
    page: int
    emitted: int = 0


@dataclass(frozen=True)
class Followed(Generic[T]):
    """One page of :meth:`Connector.follow`: ``more`` pages follow; ``repeated``: seen already."""

    response: Response
    parsed: T
    more: bool
    repeated: bool


@dataclass
class _Fetched:
    response: Response
    parsed: ParsedPage
    finished: bool
    advanced: bool
    emit: bool = True


class Connector(ABC):
    """A portal: its streams (layer 3) and how to talk to it (layer 2 hooks)."""

    portal: ClassVar[str]
    streams: ClassVar[tuple[Stream, ...]]
    sorted_by_cursor: ClassVar[bool] = True
    max_stalled_restarts: ClassVar[int] = 5
    max_full_restarts: ClassVar[int] = 20
    max_delete_fraction: ClassVar[float] = 0.5

    def __init__(self, settings: PortalSettings, *, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.http = HttpClient(
            portal=self.portal,
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_response_bytes=settings.max_response_bytes,
            retry=RetryPolicy(settings.max_retries, settings.backoff_base, settings.backoff_max),
            limiter=shared_limiter(self.portal, settings.rate_limit),
            sleep=sleep,
        )
        self.http.auth = self.build_auth()
        self._last_state: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    # ---- what the pipeline uses -------------------------------------------------------------

    @property
    def stream_names(self) -> list[str]:
        return [s.name for s in self.streams]

    @property
    def needs_key_reconciliation(self) -> bool:
        """True when some stream has no delete signal and needs :meth:`reconcile_deletes`."""
        return any(s.deletes == "reconcile" for s in self.streams)

    def stream(self, name: str) -> Stream:
        for spec in self.streams:
            if spec.name == name:
                return spec
        valid = ", ".join(self.stream_names)
        raise ConfigError(f"unknown stream {name!r} of {self.portal}; valid streams: {valid}")

    def read(
        self, stream: str, *, state: dict[str, Any] | None, run_id: str, landing: Landing
    ) -> Iterator[Batch]:
        """Fetch the stream from ``state`` on; one batch per page, already de-duplicated."""
        spec = self.stream(stream)
        tracker = CursorTracker(
            state,
            lookback=timedelta(seconds=self.settings.lookback_seconds),
            sorted_by_cursor=self.sorted_by_cursor,
        )
        extras = {k: v for k, v in (state or {}).items() if k not in CursorTracker.KEYS}
        run = ReadRun(spec, tracker, extras, run_id, landing,
                      _next_page_number(landing, self.portal, stream, run_id))
        yield from self.lead_in(run)
        for fetched in self._walk(spec, tracker):
            yield self.emit_page(run, fetched.response, fetched.parsed,
                                 finished=fetched.finished, advanced=fetched.advanced,
                                 emit=fetched.emit)
        yield from self.follow_up(run)
        landing.write_manifest(self.portal, stream, run_id, summary={
            "emitted": run.emitted, "since": tracker.since, "cursor_after": tracker.high_water,
            "resumed": tracker.resumed,
        })

    def emit_page(
        self, run: ReadRun, response: Response, parsed: ParsedPage, *, finished: bool,
        advanced: bool = True, listing: bool = True, kind: str = "page", emit: bool = True,
    ) -> Batch:
        """Land one fetched page, admit its new records and build its batch.

        ``advanced`` is false for a listing page read just before a restart (it does not move
        the restart point); ``listing`` is false for pages outside the cursor-ordered listing
        (follow-ups such as a change feed), whose records do not move the cursor; ``emit``
        is false for a resume probe, whose records were all read before.
        """
        before = run.tracker.high_water
        if emit:
            admitted, page_max = self._decide(run.spec, parsed, run.tracker, advance=listing)
        else:
            admitted, page_max = [False] * len(parsed.records), None
        uri = run.landing.put_page(
            self.portal, run.spec.name, run.run_id, run.page, response.body,
            request=response.request, status=response.status, record_count=len(parsed.records),
            cursor_before=before, cursor_after=max(before or "", page_max or "") or None,
            content_type=response.content_type, kind=kind,
            skipped=[i for i, ok in enumerate(admitted) if not ok],
        )
        records = self.records_of(run.spec, parsed, admitted, uri, run.run_id)
        if advanced and listing:
            run.tracker.page_done(page_max)
        state = run.tracker.checkpoint(finished=finished, pages=run.page) | run.extras
        self._last_state[run.spec.name] = state
        run.emitted += len(records)
        batch = Batch(records, state, uri, run.page)
        run.page += 1
        return batch

    def _decide(
        self, spec: Stream, parsed: ParsedPage, tracker: CursorTracker, *, advance: bool
    ) -> tuple[list[bool], str | None]:
        """Which records of a page are new versions; also the page's largest cursor.

        ``advance=False`` for pages outside the cursor-ordered listing (a change feed, detail
        lookups): their records are de-duplicated but do not move the stream's cursor.
        """
        admitted, page_max = [], None
        for raw in parsed.records:
            cursor = to_utc_text(self.parse_cursor(spec, raw.cursor)) if raw.cursor else None
            if cursor is not None and advance:
                page_max = max(page_max or cursor, cursor)
            admitted.append(tracker.admit(raw.key, cursor, raw.deleted, advance=advance))
        return admitted, page_max

    def records_of(
        self, spec: Stream, parsed: ParsedPage, admitted: list[bool], uri: str, run_id: str
    ) -> list[SourceRecord]:
        """The admitted records of a landed page, each checked against the stream's schema."""
        records = []
        for index, (raw, ok) in enumerate(zip(parsed.records, admitted, strict=True)):
            if not raw.deleted:
                spec.check(raw.data, where=f"{uri}#{index}")
            if ok:
                records.append(SourceRecord(
                    self.portal, spec.name, raw.key, raw.data, raw.cursor, raw.deleted, uri, run_id
                ))
        return records

    def reconcile_deletes(
        self, stream: str, *, run_id: str, landing: Landing, known_keys: Iterable[str]
    ) -> Iterator[Batch]:
        """Emit deletes for known keys the portal no longer lists (streams without a signal).

        Lists every key, then confirms each vanished key through the detail endpoint (a key
        missed only because the listing shifted while we paged still answers 200 there). More
        than ``max_delete_fraction`` of the known keys vanishing at once is refused as a
        :class:`ReconciliationError`: that smells of a broken listing, not of deletions.
        Its batches carry the state of this connector's last read of the stream (or none).
        """
        spec = self.stream(stream)
        if spec.deletes != "reconcile":
            return
        known, listed = set(known_keys), set[str]()
        state = self._last_state.get(stream, {})
        page = _next_page_number(landing, self.portal, stream, run_id)
        pages = self.follow(
            spec, self.key_listing_request(spec), self.paginator(spec),
            lambda b: self.parse_page(spec, b), lambda parsed: parsed.info,
        )
        for got in pages:
            listed.update(r.key for r in got.parsed.records)
            response = got.response
            uri = landing.put_page(
                self.portal, stream, run_id, page, response.body, request=response.request,
                status=response.status, record_count=len(got.parsed.records), cursor_before=None,
                cursor_after=None, content_type=response.content_type, kind="listing",
            )
            yield Batch([], state, uri, page)
            page += 1
        yield self._deletes_batch(spec, known, listed, run_id, landing, page, state)

    def follow(
        self, spec: Stream, request: Request, paginator: Paginator,
        parse: Callable[[bytes], T], info: Callable[[T], PageInfo],
    ) -> Iterator[Followed[T]]:
        """The pages of a listing read without cursor bookkeeping (key listings, change feeds).

        A page served twice in a row is yielded with ``repeated=True`` and asked again; more
        than ``_Walk.max_repeats`` times in a row it is a loop (:class:`PaginationLoopError`).
        """
        current: Request | None = request
        digest, repeats = None, 0
        while current is not None:
            response, parsed = self.http.get(current, parse=parse)
            body = hashlib.sha256(response.body).hexdigest()
            try:
                if body == digest:
                    raise PaginationLoopError("the portal served the same page twice in a row",
                                              path=current.path)
                following = paginator.next_request(current, info(parsed))
            except PaginationLoopError as loop:
                repeats += 1
                self._repeat_or_raise(spec, loop, repeats)
                yield Followed(response, parsed, more=True, repeated=True)
                continue
            digest, repeats = body, 0
            yield Followed(response, parsed, more=following is not None, repeated=False)
            current = following

    def _repeat_or_raise(self, spec: Stream, loop: PaginationLoopError, repeats: int) -> None:
        if repeats > _Walk.max_repeats:
            loop.context.update(portal=self.portal, stream=spec.name, attempts=repeats)
            raise loop
        wait = self.http.retry.delay(repeats - 1)
        log.warning("%s/%s: %s; asking again in %.2fs", self.portal, spec.name, loop.message, wait)
        self.http.sleep(wait)

    def close(self) -> None:
        self.http.close()

    # ---- layer-2 hooks ----------------------------------------------------------------------

    def build_auth(self) -> AuthStrategy:
        """The auth strategy named in the settings; override for another header or token path."""
        return auth_from_settings(self.settings, fetch=self.http.fetch_token)

    @abstractmethod
    def paginator(self, stream: Stream) -> Paginator:
        """A fresh paginator for one listing of ``stream``."""

    @abstractmethod
    def first_request(self, stream: Stream, since: datetime | None) -> Request:
        """The first request of a listing, from ``since`` (``None``: everything)."""

    @abstractmethod
    def parse_page(self, stream: Stream, body: bytes) -> ParsedPage:
        """Records and pagination info of one page; raise ``MalformedResponse`` if cut off."""

    @abstractmethod
    def parse_cursor(self, stream: Stream, value: str) -> datetime:
        """An aware datetime from the portal's own cursor format."""

    def lead_in(self, run: ReadRun) -> Iterator[Batch]:
        """Pages read before the listing (H.OIP: the feed position of a first sync)."""
        return iter(())

    def follow_up(self, run: ReadRun) -> Iterator[Batch]:
        """Pages read after the listing (H.OIP: its change feed); nothing by default."""
        return iter(())

    def parse_landed(self, stream: Stream, kind: str, body: bytes) -> ParsedPage | None:
        """Re-parse a landed page for replay; ``None`` for pages that carried no records."""
        if kind == "page":
            return self.parse_page(stream, body)
        if kind == "reconciliation":
            summary = json.loads(body)[RECONCILIATION_KEY]
            when = summary.get("detected_at")
            tombstones = [self.tombstone_raw(stream, k, when) for k in summary["deleted"]]
            return ParsedPage(tombstones, PageInfo(0))
        return None

    def key_listing_request(self, stream: Stream) -> Request:
        """The first request of a full key listing (reconciliation)."""
        return self.first_request(stream, None)

    def detail_request(self, stream: Stream, key: str) -> Request:
        if stream.detail_path is None:
            raise ConfigError("stream declares no detail_path", stream=stream.name)
        return Request(stream.detail_path.format(key=key))

    def listing_shifted(self, previous: PageInfo, current: PageInfo) -> bool:
        """True when the listing changed between two pages (its total moved)."""
        return previous.total is not None and current.total not in (None, previous.total)

    # ---- the shared loop --------------------------------------------------------------------

    def _walk(self, spec: Stream, tracker: CursorTracker) -> Iterator[_Fetched]:
        """The listing's pages: restarted when it shifts, re-asked when repeated, and resumed
        (after a kill or an expired token) only once its total shows nothing moved behind."""
        walk = _Walk(self, spec, tracker)
        limits = _RunLimits(self.portal, spec.name, self.settings)
        while walk.request is not None:
            limits.check()
            try:
                response, parsed = self.http.get(
                    walk.request, parse=lambda body: self.parse_page(spec, body)
                )
            except ListingRestart as signal:
                walk.resume(str(signal))
                continue
            if walk.probing and walk.probe(parsed.info):  # its records were read before
                yield _Fetched(response, parsed, finished=False, advanced=False, emit=False)
                continue
            if walk.shifted(parsed.info):
                yield _Fetched(response, parsed, finished=False, advanced=False)
                walk.restart("listing changed while paging")
                continue
            try:
                walk.advance(response, parsed.info)
            except PaginationLoopError as loop:
                walk.repeated(loop)  # raises once the portal keeps repeating itself
                yield _Fetched(response, parsed, finished=False, advanced=False)
                continue
            yield _Fetched(response, parsed, finished=walk.request is None, advanced=True)

    def _deletes_batch(
        self, spec: Stream, known: set[str], listed: set[str], run_id: str, landing: Landing,
        page: int, state: dict[str, Any],
    ) -> Batch:
        vanished = sorted(known - listed)
        if known and len(vanished) > self.max_delete_fraction * len(known):
            raise ReconciliationError(
                "too many known keys vanished at once; refusing to delete them", portal=self.portal,
                stream=spec.name, known=len(known), listed=len(listed), vanished=len(vanished),
            )
        gone = [key for key in vanished if self.http.probe(self.detail_request(spec, key)) >= 400]
        detected_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps({RECONCILIATION_KEY: {
            "stream": spec.name, "known": len(known), "listed": len(listed),
            "vanished": vanished, "deleted": gone, "detected_at": detected_at,
        }}, ensure_ascii=False).encode()
        uri = landing.put_page(
            self.portal, spec.name, run_id, page, body,
            request={"method": "RECONCILE", "known": len(known), "listed": len(listed)},
            status=200, record_count=len(gone), cursor_before=None, cursor_after=None,
            content_type="application/json", kind="reconciliation",
        )
        landing.write_manifest(self.portal, spec.name, run_id, summary={"deleted": len(gone)})
        records = [
            SourceRecord(self.portal, spec.name, raw.key, raw.data, raw.cursor, True, uri, run_id)
            for raw in (self.tombstone_raw(spec, key, detected_at) for key in gone)
        ]
        return Batch(records, state, uri, page)

    def tombstone_raw(self, spec: Stream, key: str, detected_at: str | None = None) -> RawRecord:
        """The delete record of a key found gone by reconciliation: its key and when the hub
        noticed (the portal says nothing; the detection time, landed with the page, is what
        versions the delete deterministically on replay)."""
        data = {spec.key: key, "_deleted_by": "reconciliation", "deleted_at": detected_at}
        return RawRecord(key, data, detected_at, True)


class _RunLimits:
    """The per-run page and time limits of one stream read (settings ``max_pages``,
    ``max_run_seconds``): a portal serving endless fresh tokens or an endless trickle of pages
    fails the run with :class:`RunLimitError` before the next request. Pages read so far were
    published with in-progress state only; the stream's cursor moves only when a read ends."""

    def __init__(self, portal: str, stream: str, settings: PortalSettings) -> None:
        self.portal, self.stream = portal, stream
        self.max_pages, self.max_seconds = settings.max_pages, settings.max_run_seconds
        self.pages, self.started = 0, time.monotonic()

    def check(self) -> None:
        elapsed = time.monotonic() - self.started
        where = {"portal": self.portal, "stream": self.stream, "pages": self.pages}
        if self.pages >= self.max_pages:
            raise RunLimitError(
                f"stream read {self.pages} pages, its per-run limit (max_pages); cursor not moved",
                max_pages=self.max_pages, **where,
            )
        if elapsed > self.max_seconds:
            raise RunLimitError(
                f"stream ran {elapsed:.0f}s, over its per-run limit (max_run_seconds); "
                "cursor not moved", max_run_seconds=self.max_seconds, **where,
            )
        self.pages += 1


class _Walk:
    """Where a listing stands: the pass under way, and the guards against shifts and loops.

    A *pass* lists from the run's start (``since``) or, to resume, from the largest cursor
    fully read. Resuming is only safe when nothing was inserted behind that point meanwhile,
    so it is preceded by a *probe*: the first page from ``since``, whose total must equal the
    one last seen from ``since`` (portals without totals cannot be checked and are resumed).
    A total that moves within a pass means records were inserted or removed before our
    position: the listing starts over from ``since``. A page served twice in a row (same
    bytes, or a page number / token already followed) is asked again after a backoff;
    ``max_repeats`` times in a row it is a loop and aborts with :class:`PaginationLoopError`.
    """

    max_repeats = 3

    def __init__(self, connector: Connector, spec: Stream, tracker: CursorTracker) -> None:
        self.connector, self.spec, self.tracker = connector, spec, tracker
        self.stalled = self.full_restarts = 0
        self.last_resume: str | None = None
        if tracker.resumed and tracker.can_jump:
            self._begin(probing=True)
        else:
            tracker.rewind()
            self._begin()

    def _begin(self, *, probing: bool = False, jump: bool = False) -> None:
        self.paginator = self.connector.paginator(self.spec)
        origin = self.tracker.resume_point if jump else self.tracker.start
        self.request: Request | None = self.connector.first_request(self.spec, origin)
        self.from_start, self.probing = not jump, probing
        self.previous: PageInfo | None = None
        self.digest: str | None = None
        self.repeats = 0

    def probe(self, info: PageInfo) -> bool:
        """After the probe page: jump to the resume point (True) or list on from ``since``."""
        self.probing = False
        known = self.tracker.since_total
        if info.total is None or (known is not None and info.total == known):
            self._begin(jump=True)
            return True
        self.tracker.rewind()
        return False

    def shifted(self, info: PageInfo) -> bool:
        return self.previous is not None and self.connector.listing_shifted(self.previous, info)

    def advance(self, response: Response, info: PageInfo) -> None:
        assert self.request is not None
        digest = hashlib.sha256(response.body).hexdigest()
        if digest == self.digest:
            raise PaginationLoopError("the portal served the same page twice in a row",
                                      path=self.request.path)
        self.request = self.paginator.next_request(self.request, info)
        self.previous, self.digest, self.repeats = info, digest, 0
        if self.from_start and info.total is not None:
            self.tracker.since_total = info.total

    def repeated(self, loop: PaginationLoopError) -> None:
        self.repeats += 1
        self.connector._repeat_or_raise(self.spec, loop, self.repeats)

    def restart(self, reason: str) -> None:
        """Records were inserted or removed before our position: list again from ``since``."""
        self.full_restarts += 1
        if self.full_restarts > self.connector.max_full_restarts:
            raise self._giving_up(reason)
        log.info("%s/%s: %s; listing again from %s", self.connector.portal, self.spec.name,
                 reason, self.tracker.since)
        self.tracker.rewind()
        self._begin()

    def resume(self, reason: str) -> None:
        """The listing expired (e.g. a resumption token): probe, then resume where we were."""
        tracker = self.tracker
        self.stalled = self.stalled + 1 if tracker.restart_from == self.last_resume else 1
        if self.stalled > self.connector.max_stalled_restarts:
            raise self._giving_up(reason)
        self.last_resume = tracker.restart_from
        log.info("%s/%s: %s; resuming from %s", self.connector.portal, self.spec.name, reason,
                 tracker.restart_from)
        self._begin(probing=tracker.can_jump)

    def _giving_up(self, reason: str) -> PortalContractError:
        return PortalContractError(
            "listing keeps changing while we page; giving up", portal=self.connector.portal,
            stream=self.spec.name, reason=reason, restart_from=self.tracker.restart_from,
            full_restarts=self.full_restarts,
        )


def _next_page_number(landing: Landing, portal: str, stream: str, run_id: str) -> int:
    """Page numbers continue within a run (a read followed by its reconciliation)."""
    pages = landing.run_pages(portal, stream, run_id)
    return max((p.page for p in pages), default=0) + 1
