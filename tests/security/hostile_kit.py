"""Helpers of the hostile-portal suite: the bounds every case is held to, a bounded client,
and :func:`rejected`, which checks a refusal's class, time and memory."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hostile import HostilePortal

from connectors.toolkit.auth import ApiKeyAuth, AuthStrategy, OAuth2ClientCredentials
from connectors.toolkit.http import HttpClient
from connectors.toolkit.ratelimit import RateLimiter
from connectors.toolkit.retry import RetryPolicy
from ecohub.errors import EcohubError

__all__ = [
    "API_KEY", "CAP", "CLIENT_SECRET", "DEADLINE", "MEMORY_BOUND", "TIME_BOUND", "Client",
    "Rejection", "make_client", "rejected",
]

# The bounds every case is held to. DEADLINE is the configured per-request deadline; a case must
# end within TIME_BOUND (10x, generous on a loaded machine: a correctness bound, not a benchmark)
# and allocate at most MEMORY_BOUND while it runs (the response cap is CAP).
DEADLINE = 1.0
TIME_BOUND = 10 * DEADLINE
CAP = 1 << 20
MEMORY_BOUND = 48 << 20
API_KEY = "canary-techport-key-7Qx9"
CLIENT_SECRET = "canary-hoip-secret-4Kz2"


@dataclass
class Client:
    http: HttpClient
    sleeps: list[float]


def make_client(
    portal: HostilePortal, *, auth: str = "api_key", max_retries: int = 0,
) -> Client:
    sleeps: list[float] = []
    http = HttpClient(
        portal="hostile", base_url=portal.url, timeout=DEADLINE, max_response_bytes=CAP,
        retry=RetryPolicy(max_retries=max_retries, base_delay=0.01, max_delay=0.05),
        limiter=RateLimiter(10_000.0), sleep=sleeps.append,
    )
    strategy: AuthStrategy = ApiKeyAuth(API_KEY)
    if auth == "oauth2":
        strategy = OAuth2ClientCredentials(
            token_url=portal.url + "/oauth/token", client_id="ecohub",
            client_secret=CLIENT_SECRET, fetch=http.fetch_token,
        )
    http.auth = strategy
    return Client(http, sleeps)


@dataclass
class Rejection:
    error: EcohubError
    seconds: float
    peak_bytes: int


def rejected(call: Callable[[], Any], kind: type[EcohubError]) -> Rejection:
    """Run ``call``; it must fail with ``kind`` within the time and memory bounds."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(kind) as caught:
            call()
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < TIME_BOUND, f"rejected only after {seconds:.1f}s"
    assert peak < MEMORY_BOUND, f"peak {peak >> 20} MiB while rejecting"
    for secret in (API_KEY, CLIENT_SECRET):
        assert secret not in str(caught.value)
    return Rejection(caught.value, seconds, peak)
