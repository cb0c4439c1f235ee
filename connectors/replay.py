"""Replay landed pages through the same stream parsers, without calling the portal.

Why: normalization rules change, a bug is fixed, a warehouse is rebuilt. Every page a run
fetched is in the landing zone with its manifest entry, so the records a run emitted can be
produced again exactly, in the same order, from the landed bytes alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from connectors.registry import get_connector
from connectors.toolkit.connector import Batch
from connectors.toolkit.incremental import CursorTracker
from ecohub.landing import Landing
from ecohub.settings import Settings

__all__ = ["replay"]


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

    A version of a record is emitted once across the replayed pages, as during the original
    runs; key listings (reconciliation) carry no records and are skipped, the reconciliation
    result page re-emits its deletes.
    """
    connector = get_connector(portal, settings)
    spec = connector.stream(stream)
    tracker = CursorTracker(None, lookback=timedelta(0), sorted_by_cursor=False)
    for page in landing.list_pages(portal, stream, run_id, date_from, date_to):
        kind = landing.page_entry(page).get("kind", "page")
        parsed = connector.parse_landed(spec, kind, landing.get_page(page.uri))
        if parsed is None:
            continue
        records, _ = connector.admit(spec, parsed, tracker, page.uri, page.run_id)
        yield Batch(records, {}, page.uri, page.page)
