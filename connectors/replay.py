"""Replay landed pages through the same stream parsers, without calling the portal.

Why: normalization rules change, a bug is fixed, a warehouse is rebuilt. Every page a run
fetched is in the landing zone with its manifest entry, so the records a run emitted can be
produced again exactly, in the same order, from the landed bytes alone.

:func:`landed_pages` hands out each page unparsed (a :class:`LandedBatch`: its stored bytes and
manifest facts), so the parsing happens where the records are normalized: in a worker process
of :class:`ecohub.prepare.PagePreparer`, not in the process that publishes. :func:`replay`
parses them in place, for callers that want the records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.registry import connector_class
from connectors.toolkit.connector import Batch, Connector
from ecohub.landing import Landing, page_body
from ecohub.records import SourceRecord
from ecohub.settings import PortalSettings, Settings, load_settings

__all__ = ["LandedBatch", "landed_pages", "replay"]


@dataclass(frozen=True)
class LandedBatch:
    """One landed page, not parsed yet: its stored (compressed) bytes, what its manifest entry
    says (``kind``, the indices its run ``skipped`` as already seen), and the portal settings
    its parser needs. Small and picklable, so it can be parsed in another process."""

    portal: str
    stream: str
    landing_uri: str
    run_id: str
    page: int
    kind: str
    skipped: frozenset[int]
    stored: bytes
    settings: PortalSettings

    @property
    def state(self) -> dict[str, Any]:
        """A replayed page never moves a stream's state."""
        return {}

    def load(self) -> list[SourceRecord] | None:
        """The records the run emitted from this page, each checked against the stream's
        schema; ``None`` for a page that carried no records (a key listing)."""
        connector = _connector(self.portal, self.settings)
        spec = connector.stream(self.stream)
        parsed = connector.parse_landed(spec, self.kind, page_body(self.stored))
        if parsed is None:
            return None
        admitted = [index not in self.skipped for index in range(len(parsed.records))]
        return connector.records_of(spec, parsed, admitted, self.landing_uri, self.run_id)


# The connectors that parse landed pages in this process, one per portal (building one per
# page would cost more than parsing a small page). Kept with the settings they were built from.
_connectors: dict[str, tuple[PortalSettings, Connector]] = {}


def _connector(portal: str, settings: PortalSettings) -> Connector:
    cached = _connectors.get(portal)
    if cached is None or cached[0] != settings:
        cached = (settings, connector_class(portal)(settings))
        _connectors[portal] = cached
    return cached[1]


def landed_pages(
    landing: Landing,
    *,
    portal: str,
    stream: str,
    run_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    settings: Settings | None = None,
) -> Iterator[LandedBatch]:
    """The landed pages of a stream (day, run, page order), read but not parsed."""
    portal_settings = (settings or load_settings()).portal(portal)
    connector_class(portal)(portal_settings).stream(stream)  # an unknown stream fails here
    for page in landing.list_pages(portal, stream, run_id, date_from, date_to):
        entry = landing.page_entry(page)
        yield LandedBatch(
            portal, stream, page.uri, page.run_id, page.page, entry.get("kind", "page"),
            frozenset(entry.get("skipped") or ()), landing.get_stored(page.uri), portal_settings,
        )


def replay(
    landing: Landing,
    *,
    portal: str,
    stream: str,
    run_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    settings: Settings | None = None,
) -> Iterator[Batch]:
    """Batches re-parsed from landed pages (day, run, page order); ``state`` is always empty.

    Each page emits exactly the records its run emitted (its manifest entry names the ones the
    run skipped as already seen); key listings of a reconciliation carry no records, its result
    page re-emits the deletes.
    """
    for page in landed_pages(landing, portal=portal, stream=stream, run_id=run_id,
                             date_from=date_from, date_to=date_to, settings=settings):
        records = page.load()
        if records is not None:
            yield Batch(records, {}, page.landing_uri, page.page)
