"""The progress lines of ``ecohub sync`` and ``ecohub consume``: rate, percent, ETA."""

from __future__ import annotations

import pytest

from ecohub.cli import consume_progress_text, progress_text
from ecohub.loader import LoadStats
from ecohub.pipeline import StreamReport


def _report(fetched: int, total: int | None, started: float = 100.0) -> StreamReport:
    report = StreamReport("stinet", "documents", "run-1", pages=fetched // 100, fetched=fetched,
                          published=fetched - 2, dead_lettered=2, total=total)
    report.started = started
    return report


@pytest.mark.parametrize(
    ("fetched", "total", "now", "expected"),
    [
        (12_000, 150_000, 130.0,
         "stinet/documents: 12,000 records, 400/s, 8% of 150,000, ETA 5m45s "
         "(page 120, published 11998, dead-lettered 2)"),
        (1_000, None, 110.0,
         "stinet/documents: 1,000 records, 100/s (page 10, published 998, dead-lettered 2)"),
        (150_000, 150_000, 400.0,
         "stinet/documents: 150,000 records, 500/s, 100% of 150,000 "
         "(page 1500, published 149998, dead-lettered 2)"),
        (10, 1_000_000, 110.0,
         "stinet/documents: 10 records, 1/s, 0% of 1,000,000, ETA 277h46m "
         "(page 0, published 8, dead-lettered 2)"),
    ],
)
def test_sync_progress_line(fetched: int, total: int | None, now: float, expected: str) -> None:
    assert progress_text(_report(fetched, total), now) == expected


@pytest.mark.parametrize(
    ("messages", "backlog", "elapsed", "expected"),
    [
        (12_000, 30_000, 20.0,
         "consume: 12,000 events, 600/s, 40% of 30,000, ETA 30s (loaded 11990, quarantined 10)"),
        (500, None, 2.0, "consume: 500 events, 250/s (loaded 490, quarantined 10)"),
    ],
)
def test_consume_progress_line(messages: int, backlog: int | None, elapsed: float,
                               expected: str) -> None:
    stats = LoadStats(batches=1, messages=messages, loaded=messages - 10, quarantined=10)
    assert consume_progress_text(stats, backlog, elapsed) == expected
