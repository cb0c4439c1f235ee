"""Replay landed pages through the same stream parsers, without calling the portal.

Why: normalization rules change, a bug is fixed, a warehouse is rebuilt. Every page a run
fetched is in the landing zone with its manifest entry, so the records a run emitted can be
produced again exactly, in the same order, from the landed bytes alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from connectors.registry import get_connector
from connectors.toolkit.connector import Batch
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

    Each page emits exactly the records its run emitted (its manifest entry names the ones the
    run skipped as already seen); key listings of a reconciliation carry no records, its result
    page re-emits the deletes.
    """
    connector = get_connector(portal, settings)
    spec = connector.stream(stream)
    for page in landing.list_pages(portal, stream, run_id, date_from, date_to):
        entry = landing.page_entry(page)
        parsed = connector.parse_landed(spec, entry.get("kind", "page"), landing.get_page(page.uri))
        if parsed is None:
            continue
        skipped = set(entry.get("skipped") or ())
        admitted = [index not in skipped for index in range(len(parsed.records))]
        records = connector.records_of(spec, parsed, admitted, page.uri, page.run_id)
        yield Batch(records, {}, page.uri, page.page)
