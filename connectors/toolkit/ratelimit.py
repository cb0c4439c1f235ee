"""A per-portal request rate limit shared by every stream of that portal in the process.

Why shared: the portal's limit applies to our client as a whole, so two streams of Techport
read in parallel must together stay under ``settings.portal("techport").rate_limit``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter", "shared_limiter"]


class RateLimiter:
    """Spaces calls at least ``1 / rate`` seconds apart (a token bucket of capacity one)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (requests per second)")
        self.rate = rate
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until the next request may go out; return how long we waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait


_limiters: dict[tuple[str, float], RateLimiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(portal: str, rate: float) -> RateLimiter:
    """The process-wide limiter of ``portal`` at ``rate`` requests per second."""
    with _registry_lock:
        limiter = _limiters.get((portal, rate))
        if limiter is None:
            limiter = _limiters[(portal, rate)] = RateLimiter(rate)
        return limiter
