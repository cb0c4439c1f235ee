"""When and how long to wait before trying a portal request again.

Why a policy object: every portal shares the same rules (exponential backoff with full jitter,
the portal's own ``Retry-After`` honoured but capped), while tests inject a fake sleep and a
seeded random source to assert on the exact waits without slowing down.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RETRIABLE_STATUS", "RetryPolicy", "is_retriable_status", "parse_retry_after"]

RETRIABLE_STATUS = frozenset({408, 425, 429})


def is_retriable_status(status: int) -> bool:
    """429 (and its cousins 408/425) and every 5xx are worth another try; other 4xx are not."""
    return status in RETRIABLE_STATUS or 500 <= status <= 599


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header in delta-seconds or HTTP-date form.

    Returns ``None`` when the header is missing, unreadable, not a finite number, zero or
    negative, or a date not in the future: the caller then falls back to its own backoff (a
    hostile or broken portal must not turn retries into a tight loop).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()[:64]
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds > 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    seconds = (when - now).total_seconds()
    return seconds if seconds > 0 else None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; ``Retry-After`` wins when the portal sends it.

    ``max_retries`` counts the retries after the first attempt. ``max_delay`` caps every single
    wait, including one asked for by ``Retry-After``, so a portal cannot park a sync for hours.
    """

    max_retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait before retry number ``attempt`` (0 for the first retry)."""
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return self.rng.uniform(ceiling / 2, ceiling)
