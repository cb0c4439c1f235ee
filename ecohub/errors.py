"""The one exception tree of ecohub, grouped by what the caller does next.

::

    EcohubError                      base; every error carries a ``context`` dict
    ├── ConfigError                  fix the configuration, then rerun (never retried)
    ├── RetriableError               transient: back off and try again
    │   ├── ServiceUnavailable       Kafka / S3 / warehouse / portal not answering
    │   ├── RateLimited              portal said 429; ``retry_after`` seconds if known
    │   └── MalformedResponse        a 200 whose body does not parse (truncated JSON/XML)
    ├── FatalError                   a bug or a broken contract: stop the run, page a human
    │   ├── PortalContractError      the portal answered something its contract forbids
    │   │   └── ResponseTooLargeError  a response exceeded ``max_response_bytes``
    │   ├── PaginationLoopError      a page or token was seen twice
    │   ├── UnsafeRedirectError      a next link left the configured host or scheme
    │   ├── LoadIncomplete           the loader stopped with events still unloaded (lag > 0)
    │   ├── RunLimitError            a stream hit its page or time limit for one run
    │   └── ReconciliationError      counts of a run do not balance
    ├── DataQualityError             one record is bad: dead-letter or quarantine it, go on
    │   ├── NormalizationError       a record could not be mapped to its canonical entity
    │   └── SchemaValidationError    a canonical event does not match its JSON Schema
    ├── WebhookRejected              an inbound delivery failed verification: refuse it
    │                                (``status``), count it by ``reason``, go on
    └── ListingRestart               the portal invalidated a listing (an expired OAI
                                     resumption token): the connector starts it again

Context values are rendered through :func:`redact` so that secrets never reach a message.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "ConfigError",
    "DataQualityError",
    "EcohubError",
    "FatalError",
    "ListingRestart",
    "LoadIncomplete",
    "MalformedResponse",
    "NormalizationError",
    "PaginationLoopError",
    "PortalContractError",
    "RateLimited",
    "ReconciliationError",
    "ResponseTooLargeError",
    "RetriableError",
    "RunLimitError",
    "SchemaValidationError",
    "ServiceUnavailable",
    "UnsafeRedirectError",
    "WebhookRejected",
    "redact",
]

_SECRET_KEYS = re.compile(
    r"(secret|password|passwd|token|api[_-]?key|authorization|credential)", re.I
)


def redact(context: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``context`` with values under secret-looking keys masked."""
    return {k: ("***" if _SECRET_KEYS.search(k) else v) for k, v in context.items()}


class EcohubError(Exception):
    """Base of every ecohub error; ``context`` says where it happened (portal, stream, url...)."""

    def __init__(self, message: str, **context: Any) -> None:
        self.message = message
        self.context = redact(context)
        super().__init__(message)

    def __str__(self) -> str:
        if not self.context:
            return self.message
        details = ", ".join(f"{k}={v!r}" for k, v in self.context.items())
        return f"{self.message} ({details})"


class ConfigError(EcohubError):
    """The configuration is missing, malformed or names something unknown."""


class RetriableError(EcohubError):
    """A transient failure; the same call may succeed later."""


class ServiceUnavailable(RetriableError):
    """A service (Kafka, S3, warehouse, portal) did not answer."""


class RateLimited(RetriableError):
    """The portal asked us to slow down."""

    def __init__(self, message: str, retry_after: float | None = None, **context: Any) -> None:
        super().__init__(message, retry_after=retry_after, **context)
        self.retry_after = retry_after


class MalformedResponse(RetriableError):
    """A successful status with a body that does not parse, typically cut off in transit."""


class FatalError(EcohubError):
    """Retrying will not help: stop the run and report."""


class PortalContractError(FatalError):
    """The portal answered something its written contract does not allow."""


class ResponseTooLargeError(PortalContractError):
    """A response body exceeded the configured ``max_response_bytes``; reading was aborted."""


class PaginationLoopError(FatalError):
    """A page number, cursor or resumption token came back a second time."""


class UnsafeRedirectError(FatalError):
    """A next link pointed outside the configured host or scheme."""


class LoadIncomplete(FatalError):
    """The loader stopped while published events were still unloaded (consumer lag > 0)."""


class RunLimitError(FatalError):
    """A stream read more pages or ran longer than its per-run limit; its cursor stays put."""


class ReconciliationError(FatalError):
    """A run's counts do not balance: something would be silently lost."""


class DataQualityError(EcohubError):
    """One record is bad; it goes to the dead-letter or quarantine topic with this reason."""


class NormalizationError(DataQualityError):
    """A source record could not be mapped to its canonical entity."""


class SchemaValidationError(DataQualityError):
    """A canonical event failed its JSON Schema."""


class WebhookRejected(EcohubError):
    """A pushed delivery is refused: forged, stale, replayed or not an event we know.

    ``reason`` is the counter it goes to (``signature``, ``stale``, ``replay``, ``malformed``);
    ``status`` the HTTP status to answer (a non-2xx makes an honest sender retry)."""

    def __init__(self, message: str, *, reason: str, status: int, **context: Any) -> None:
        super().__init__(message, **context)
        self.reason = reason
        self.status = status


class ListingRestart(EcohubError):
    """Raised by a parser when the listing must start again (e.g. OAI ``badResumptionToken``);
    the connector's read loop restarts the listing, it is never retried as the same request."""
