"""Guards between a portal's answers and the rest of ecohub.

Why here and not in each connector: the rules are the same everywhere and easy to forget once.
A next link or redirect may only stay on the configured scheme and host (so credentials are never
sent elsewhere); XML is parsed with defusedxml (no entity expansion, no external entities);
anything that may be logged, landed or put in an error message goes through :func:`redact_url`
or :func:`summarize_body` first.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ecohub.errors import MalformedResponse, PortalContractError, UnsafeRedirectError

__all__ = [
    "SECRET_NAME",
    "origin",
    "parse_json",
    "parse_xml",
    "redact_params",
    "redact_url",
    "resolve_url",
    "summarize_body",
]

SECRET_NAME = re.compile(
    r"(secret|password|passwd|token|api[_-]?key|authorization|credential|signature)", re.I
)
_SECRET_IN_TEXT = re.compile(
    r"""(?P<name>["']?[\w-]*(?:secret|password|token|api[_-]?key|authorization)[\w-]*["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,&;}]+)""",
    re.I,
)
# Resumption and page cursors are opaque pagination state, not credentials.
_NOT_SECRET = frozenset({"resumptiontoken", "next_cursor", "cursor"})


def _is_secret(name: str) -> bool:
    return name.lower() not in _NOT_SECRET and bool(SECRET_NAME.search(name))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def resolve_url(base_url: str, path_or_url: str) -> str:
    """An absolute URL for a path or link, refused unless it stays on ``base_url``'s origin."""
    base = base_url.rstrip("/") + "/"
    target = urljoin(base, path_or_url.lstrip("/")) if "://" not in path_or_url else path_or_url
    if origin(target) != origin(base):
        raise UnsafeRedirectError(
            "refusing to follow a link outside the configured portal",
            allowed=f"{urlsplit(base).scheme}://{urlsplit(base).netloc}",
            target=redact_url(target),
        )
    return target


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters with secret-looking values masked (safe to land and log)."""
    return {k: ("***" if _is_secret(k) else v) for k, v in params.items()}


def redact_url(url: str) -> str:
    """The URL without user-info and with secret-looking query values masked."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode([(k, "***" if _is_secret(k) else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def summarize_body(body: bytes, limit: int = 300) -> str:
    """The start of a response body for an error message, secret-looking values masked."""
    text = body[: limit * 2].decode("utf-8", errors="replace")
    text = _SECRET_IN_TEXT.sub(lambda m: f"{m.group('name')}***", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def parse_json(body: bytes) -> Any:
    """Decode a JSON body; a body that does not parse is a (retriable) malformed response."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedResponse(
            f"response is not valid JSON: {exc}", excerpt=summarize_body(body, 120)
        ) from None


def parse_xml(body: bytes) -> Element:
    """Parse XML with defusedxml: entity tricks are fatal, a cut-off document is retriable."""
    try:
        return fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise PortalContractError(f"XML response uses a forbidden construct: {exc!r}") from None
    except ParseError as exc:
        raise MalformedResponse(
            f"response is not well-formed XML: {exc}", excerpt=summarize_body(body, 120)
        ) from None
