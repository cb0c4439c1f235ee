"""H.OIP (HCMC Open Innovation Platform): OAuth2 client credentials, keyset cursors, a change feed.

Contract: ``docs/portals/hoip.md``. Lists sort by (``updated_at``, id) with a keyset cursor, so
nothing is skipped while paging. ``updated_after`` is *strictly after*: we ask one second
earlier (the precision of ``updated_at``) so a resumed read never skips ties.

After the listing, each stream reads its slice of ``/api/v1/changes`` from the stored
``changes_since``: tombstones become deletes, and an upsert whose version this run has not
seen (a late arrival older than the look-back, a record inserted behind the keyset position)
is fetched through its detail URL. A first sync reads the feed to its end *before* listing,
so the feed position it stores predates the listing. The position is saved with the batch
that completes each feed page, so a killed read loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from connectors.toolkit.connector import Batch, Connector, Followed, ReadRun
from connectors.toolkit.http import Request
from connectors.toolkit.incremental import to_utc_text
from connectors.toolkit.pagination import CursorPaginator, PageInfo, Paginator
from connectors.toolkit.safety import parse_json
from connectors.toolkit.stream import ParsedPage, RawRecord, Stream, raw_records, record_schema
from ecohub.errors import PortalContractError

__all__ = ["STREAMS", "HoipConnector", "parse_changes", "parse_delivery", "stream_of_resource"]

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PAGE_MAX = 200
CHANGES_PATH = "/api/v1/changes"
CHANGES_PAGE = 1000
_COMMON = {"id": "string", "updated_at": "string", "version": "integer"}

# ---- layer 3: the streams ------------------------------------------------------------------

STARTUP_PROJECTS = Stream(
    name="startup_projects",
    path="/api/v1/startup-projects",
    key="id",
    cursor="updated_at",
    schema=record_schema({**_COMMON, "name": "string", "stage": "string"}),
    deletes="inline",
    detail_path="/api/v1/startup-projects/{key}",
    options={"resource": "startup-projects"},
)
ORGANIZATIONS = Stream(
    name="organizations",
    path="/api/v1/organizations",
    key="id",
    cursor="updated_at",
    schema=record_schema({**_COMMON, "name": "string", "kind": "string"}),
    deletes="inline",
    detail_path="/api/v1/organizations/{key}",
    options={"resource": "organizations"},
)
PROGRAMS = Stream(
    name="programs",
    path="/api/v1/programs",
    key="id",
    cursor="updated_at",
    schema=record_schema({**_COMMON, "name": "string", "type": "string"}),
    deletes="inline",
    detail_path="/api/v1/programs/{key}",
    options={"resource": "programs"},
)
CHALLENGES = Stream(
    name="challenges",
    path="/api/v1/challenges",
    key="id",
    cursor="updated_at",
    schema=record_schema({**_COMMON, "title": "string"}),
    deletes="inline",
    detail_path="/api/v1/challenges/{key}",
    options={"resource": "challenges"},
)
SUPPORT_APPLICATIONS = Stream(
    name="support_applications",
    path="/api/v1/support-applications",
    key="id",
    cursor="updated_at",
    schema=record_schema({**_COMMON, "project_id": "string", "status": "string"}),
    deletes="inline",
    detail_path="/api/v1/support-applications/{key}",
    options={"resource": "support-applications"},
)
STREAMS = (STARTUP_PROJECTS, ORGANIZATIONS, PROGRAMS, CHALLENGES, SUPPORT_APPLICATIONS)


# ---- layer 2: the client ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChangesPage:
    """One page of the change feed: tombstones as records, upserts as they were announced."""

    tombstones: ParsedPage
    upserts: list[dict[str, Any]]
    next_since: int


class HoipConnector(Connector):
    """H.OIP partner API v1 (OAuth2 client credentials)."""

    portal: ClassVar[str] = "hoip"
    streams: ClassVar[tuple[Stream, ...]] = STREAMS

    def paginator(self, stream: Stream) -> Paginator:
        return CursorPaginator(param="cursor", keep_params=True)

    def first_request(self, stream: Stream, since: datetime | None) -> Request:
        params: dict[str, Any] = {"limit": min(self.settings.page_size, PAGE_MAX)}
        if since is not None:
            inclusive = since.replace(microsecond=0) - timedelta(seconds=1)
            params["updated_after"] = inclusive.astimezone(LOCAL).isoformat()
        return Request(stream.path, {**stream.params, **params})

    def parse_page(self, stream: Stream, body: bytes) -> ParsedPage:
        document = parse_json(body)
        if not isinstance(document, dict) or not isinstance(document.get("items"), list):
            raise PortalContractError("H.OIP page without an items list", stream=stream.name)
        records = raw_records(document["items"], stream)
        token = document.get("next_cursor") if document.get("has_more") else None
        return ParsedPage(records, PageInfo(len(records), token=token))

    def parse_cursor(self, stream: Stream, value: str) -> datetime:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise PortalContractError(
                "updated_at is not an ISO-8601 time with offset", stream=stream.name, value=value
            )
        return moment

    def parse_landed(self, stream: Stream, kind: str, body: bytes) -> ParsedPage | None:
        if kind == "changes":
            return parse_changes(stream, body).tombstones
        if kind == "detail":
            return ParsedPage(raw_records([_detail_record(parse_json(body))], stream), PageInfo(1))
        if kind == "webhook":
            return parse_delivery(stream, body)
        return super().parse_landed(stream, kind, body)

    # ---- the change feed ------------------------------------------------------------------------

    def lead_in(self, run: ReadRun) -> Iterator[Batch]:
        """First sync: read the feed to its end before listing, keeping only its tombstones.

        The listing that follows holds every record the feed announced so far; what changes
        from now on (including records inserted behind the listing's keyset position) is read
        from the stored feed position by :meth:`follow_up`, in this run and the next ones.
        """
        if "changes_since" in run.extras:
            return
        for got in self._feed(run.spec, 0):
            if not got.more:
                run.extras["changes_since"] = got.parsed.next_since
            yield self.emit_page(run, got.response, got.parsed.tombstones, finished=False,
                                 listing=False, kind="changes", emit=not got.repeated)

    def follow_up(self, run: ReadRun) -> Iterator[Batch]:
        """Tombstones, and upserts of versions this run has not seen, from the stored position."""
        for got in self._feed(run.spec, int(run.extras["changes_since"])):
            page = got.parsed
            if got.repeated:
                yield self.emit_page(run, got.response, page.tombstones, finished=True,
                                     listing=False, kind="changes", emit=False)
                continue
            missing = [u for u in page.upserts if not self._known(run, u)]
            if not missing:
                run.extras["changes_since"] = page.next_since
            yield self.emit_page(run, got.response, page.tombstones, finished=True,
                                 listing=False, kind="changes")
            for index, upsert in enumerate(missing):
                if index == len(missing) - 1:  # the position moves with the page's last record
                    run.extras["changes_since"] = page.next_since
                yield from self._fetch_detail(run, str(upsert["id"]))

    def _feed(self, spec: Stream, since: int) -> Iterator[Followed[ChangesPage]]:
        request = Request(
            CHANGES_PATH,
            {"resource": spec.options["resource"], "since": since, "limit": CHANGES_PAGE},
        )
        return self.follow(spec, request, CursorPaginator(param="since", keep_params=True),
                           lambda b: parse_changes(spec, b), lambda page: page.tombstones.info)

    def _known(self, run: ReadRun, upsert: dict[str, Any]) -> bool:
        cursor = upsert.get("updated_at")
        if not isinstance(cursor, str):
            return False
        version = to_utc_text(self.parse_cursor(run.spec, cursor))
        return run.tracker.knows(str(upsert["id"]), version)

    def _fetch_detail(self, run: ReadRun, key: str) -> Iterator[Batch]:
        response, record = self.http.get_if_exists(
            self.detail_request(run.spec, key), parse=lambda b: _detail_record(parse_json(b))
        )
        if record is None:  # gone since the feed announced it: its tombstone comes next run
            return
        parsed = ParsedPage(raw_records([record], run.spec), PageInfo(1))
        yield self.emit_page(run, response, parsed, finished=True, listing=False, kind="detail")


def parse_changes(stream: Stream, body: bytes) -> ChangesPage:
    """``{"changes": [...], "next_since": N, "has_more": bool}`` of one resource."""
    document = parse_json(body)
    if not isinstance(document, dict) or not isinstance(document.get("changes"), list):
        raise PortalContractError("H.OIP change feed page without a changes list")
    tombstones, upserts = [], []
    for change in document["changes"]:
        if change.get("op") == "delete":
            when = change.get("deleted_at") or change.get("updated_at")
            tombstones.append(RawRecord(str(change["id"]), change, when, deleted=True))
        elif change.get("op") == "upsert":
            upserts.append(change)
        else:
            raise PortalContractError("unknown change op", op=change.get("op"), stream=stream.name)
    next_since = int(document.get("next_since") or 0)
    token = str(next_since) if document.get("has_more") else None
    info = PageInfo(len(tombstones), token=token)
    return ChangesPage(ParsedPage(tombstones, info), upserts, next_since)


def stream_of_resource(resource: str) -> Stream:
    """The stream of an H.OIP resource name (``startup-projects`` -> ``startup_projects``)."""
    for spec in STREAMS:
        if spec.options["resource"] == resource:
            return spec
    valid = ", ".join(s.options["resource"] for s in STREAMS)
    raise PortalContractError(f"unknown H.OIP resource {resource!r}; valid: {valid}")


def parse_delivery(stream: Stream, body: bytes) -> ParsedPage:
    """One webhook delivery (push interface) as a one-record page: the pushed record of an
    ``upsert``, or a tombstone built exactly as the change feed's, so a pushed change and the
    same change pulled normalize to the same event."""
    document = parse_json(body)
    change = document.get("data") if isinstance(document, dict) else None
    if not isinstance(change, dict) or change.get("resource") != stream.options["resource"]:
        raise PortalContractError("H.OIP delivery without a change of this stream",
                                  stream=stream.name)
    if change.get("op") == "delete":
        when = change.get("deleted_at") or change.get("updated_at")
        records = [RawRecord(str(change["id"]), change, when, deleted=True)]
    elif change.get("op") == "upsert" and isinstance(change.get("record"), dict):
        records = raw_records([change["record"]], stream)
    else:
        raise PortalContractError("H.OIP delivery with an unknown op or no record",
                                  op=change.get("op"), stream=stream.name)
    return ParsedPage(records, PageInfo(1))


def _detail_record(document: Any) -> dict[str, Any]:
    """A detail answer: the record itself, or the record wrapped in ``data``/``item``."""
    if isinstance(document, dict):
        for wrapper in ("data", "item"):
            if isinstance(document.get(wrapper), dict):
                return dict(document[wrapper])
        if "id" in document:
            return document
    raise PortalContractError("H.OIP detail answer is not a record")
