from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from connectors.toolkit.retry import RetryPolicy, is_retriable_status, parse_retry_after

NOW = datetime(2026, 3, 2, 3, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1", 1.0),
        ("  7 ", 7.0),
        ("2.5", 2.5),
        ("Mon, 02 Mar 2026 03:00:30 GMT", 30.0),  # HTTP-date 30 s ahead
        (None, None),
        ("", None),
        # unusable: fall back to our own backoff, never a tight retry loop
        ("sau 1 giây", None),
        ("0", None),
        ("-5", None),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-inf", None),
        ("1e999", None),
        ("Mon, 02 Mar 2026 02:59:00 GMT", None),  # already past
        ("\x00\xff" * 40, None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(header, expected):
    assert parse_retry_after(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "retriable"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (410, False),
        (200, False),
    ],
)
def test_which_statuses_are_retried(status, retriable):
    assert is_retriable_status(status) is retriable


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    policy = RetryPolicy(max_retries=8, base_delay=0.5, max_delay=4.0, rng=random.Random(7))
    waits = [policy.delay(attempt) for attempt in range(8)]
    ceilings = [min(4.0, 0.5 * 2**a) for a in range(8)]
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert max(waits) <= 4.0
    assert len(set(waits)) == len(waits)  # jittered, not a fixed ladder


@pytest.mark.parametrize(("retry_after", "expected"), [(2.0, 2.0), (0.0, 0.0), (600.0, 30.0)])
def test_retry_after_wins_over_backoff_but_is_capped(retry_after, expected):
    policy = RetryPolicy(max_delay=30.0)
    assert policy.delay(5, retry_after) == expected
