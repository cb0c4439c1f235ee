"""The one way connectors talk HTTP: pooled, timed out, retried, rate limited, size capped, safe.

Why one client: every rule of the issue (backoff with jitter on 429/5xx/timeouts honouring
``Retry-After``, fail fast on other 4xx with a summarized body, the per-portal rate limit, the
response size cap, same-origin links only, credentials never logged) lives here once, and every
stream of every portal inherits it. Redirects are never followed blindly: each hop is checked
against the configured origin (:func:`~connectors.toolkit.safety.resolve_url`, the one URL
policy) before any header is sent to it, and the token endpoint never follows one at all.

Bounds per request: each attempt runs under a hard :class:`~connectors.toolkit.deadline.Deadline`
(connect, headers and body together); a request makes at most ``max_retries + 1`` attempts in
all, a token fetch or a 401-triggered token renewal counting as one of them, so a failing
portal costs at most ``max_retries + 1`` token POSTs and as many GETs.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urljoin

import requests

from connectors.toolkit.auth import AuthStrategy, NoAuth
from connectors.toolkit.deadline import Deadline, DeadlineAdapter
from connectors.toolkit.ratelimit import RateLimiter
from connectors.toolkit.retry import RetryPolicy, is_retriable_status, parse_retry_after
from connectors.toolkit.safety import (
    parse_json,
    redact_params,
    redact_url,
    resolve_url,
    summarize_body,
)
from ecohub.errors import (
    ConfigError,
    PortalContractError,
    RateLimited,
    ResponseTooLargeError,
    RetriableError,
    ServiceUnavailable,
)

__all__ = ["HttpClient", "Request", "Response"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_MAX_REDIRECTS = 5
_GONE = frozenset({404, 410})
_CHUNK = 16 * 1024  # also bounds what one decompression step may inflate to (urllib3 >= 2.6)
_AUTH_SCHEMES = ("Bearer ", "Basic ", "Token ")
_TRANSIENT = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class Request:
    """A GET of ``path`` (relative to the portal's base URL) or of an absolute next link."""

    path: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def describe(self, base_url: str) -> dict[str, Any]:
        """This request without secrets: what lands in manifests and logs."""
        target = self.path
        if "://" not in target:
            target = base_url.rstrip("/") + "/" + target.lstrip("/")
        params = redact_params(dict(self.params))
        return {"method": "GET", "url": redact_url(target), "params": params}


@dataclass(frozen=True)
class Response:
    """A complete, size-checked 2xx response; ``request`` is already free of secrets."""

    status: int
    body: bytes
    content_type: str
    url: str
    request: dict[str, Any]
    attempts: int


@dataclass
class _Raw:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


class HttpClient:
    """A requests session bound to one portal's origin, timeouts, retries and rate limit."""

    def __init__(
        self,
        *,
        portal: str,
        base_url: str,
        timeout: float,
        max_response_bytes: int,
        retry: RetryPolicy,
        limiter: RateLimiter,
        auth: AuthStrategy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "ecohub-connector/0.1 (+https://ecohub.local)",
    ) -> None:
        self.portal = portal
        self.base_url = base_url.rstrip("/")
        self.auth: AuthStrategy = auth or NoAuth()
        self.retry = retry
        self.limiter = limiter
        self._timeout = timeout
        self._cap = max_response_bytes
        self.sleep = sleep
        self._session = session or _pooled_session()
        self._session.trust_env = False
        self._user_agent = user_agent
        self._sent_secrets: set[str] = set()
        self.request_count = 0

    def close(self) -> None:
        self._session.close()

    def get(self, request: Request, *, parse: Callable[[bytes], T]) -> tuple[Response, T]:
        """GET and parse; a body that fails to parse as truncated is retried like a 5xx."""
        described = request.describe(self.base_url)
        response, parsed = self._execute(
            "GET", request.path, dict(request.params), None, parse, described
        )
        return response, cast(T, parsed)

    def get_if_exists(
        self, request: Request, *, parse: Callable[[bytes], T]
    ) -> tuple[Response, T | None]:
        """Like :meth:`get`, but 404/410 (record gone) answer ``(response, None)``."""
        described = request.describe(self.base_url)
        return self._execute(
            "GET", request.path, dict(request.params), None, parse, described, accept=_GONE
        )

    def probe(self, request: Request) -> int:
        """The status of a GET that may legitimately answer 404/410 (does this record exist?)."""
        response, _ = self.get_if_exists(request, parse=bytes)
        return response.status

    def fetch_token(
        self, path_or_url: str, form: dict[str, str], basic: tuple[str, str] | None
    ) -> dict[str, Any]:
        """POST a token request (OAuth2); the answer is returned, never landed or logged."""
        described = {"method": "POST", "url": redact_url(resolve_url(self.base_url, path_or_url))}
        # one attempt: the request that needs the token retries (and counts) it
        _, answer = self._execute(
            "POST", path_or_url, None, (form, basic), parse_json, described, retries=0
        )
        answer = cast(Any, answer)
        if not isinstance(answer, dict):
            raise PortalContractError("token endpoint did not answer a JSON object", **described)
        return answer

    def _execute(
        self,
        method: str,
        target: str,
        params: dict[str, Any] | None,
        form: tuple[dict[str, str], tuple[str, str] | None] | None,
        parse: Callable[[bytes], T],
        described: dict[str, Any],
        accept: frozenset[int] = frozenset(),
        retries: int | None = None,
    ) -> tuple[Response, T | None]:
        url = resolve_url(self.base_url, target)
        use_auth = form is None
        max_retries = self.retry.max_retries if retries is None else retries
        refresh, refreshed, attempt, hops = False, False, 0, 0
        while True:
            try:
                raw = self._send(method, url, params, form, use_auth, refresh)
                refresh = False
                if 300 <= raw.status < 400 and "Location" in raw.headers:
                    url, params = self._redirect(url, raw, described, token=not use_auth), None
                    hops += 1
                    if hops > _MAX_REDIRECTS:
                        raise PortalContractError("too many redirects", **described)
                    continue
                if raw.status == 401 and use_auth and not refreshed and _refreshable(self.auth):
                    if attempt < max_retries:  # a renewal is an attempt like any other
                        refresh = refreshed = True
                        attempt += 1
                        continue
                return self._finish(raw, parse, described, accept, attempt)
            except RetriableError as exc:
                error = exc
            if attempt >= max_retries:
                error.context["attempts"] = attempt + 1
                raise error
            wait = self.retry.delay(attempt, error.context.get("retry_after"))
            log.warning(
                "%s: %s on %s; retry %d/%d in %.2fs",
                self.portal, error.message, described.get("url"), attempt + 1,
                max_retries, wait,
            )
            self.sleep(wait)
            attempt += 1

    def _redirect(self, url: str, raw: _Raw, described: dict[str, Any], *, token: bool) -> str:
        """The next hop of a redirect, checked by the one URL policy before anything is sent."""
        if token:
            raise PortalContractError(
                "token endpoint answered a redirect; tokens are never fetched through one",
                status=raw.status, **described,
            )
        location = raw.headers["Location"]
        resolve_url(self.base_url, location)  # the raw link first: backslashes, controls...
        return resolve_url(self.base_url, urljoin(url, location))

    def _finish(
        self, raw: _Raw, parse: Callable[[bytes], T], described: dict[str, Any],
        accept: frozenset[int], attempt: int,
    ) -> tuple[Response, T | None]:
        gone = raw.status in accept
        if not gone:
            self._raise_for_status(raw, described)
        parsed = None if gone else parse(raw.body)
        response = Response(
            raw.status, raw.body, raw.headers.get("Content-Type", ""),
            redact_url(raw.url), described, attempt + 1,
        )
        return response, parsed

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        form: tuple[dict[str, str], tuple[str, str] | None] | None,
        use_auth: bool,
        refresh: bool,
    ) -> _Raw:
        headers = {"User-Agent": self._user_agent, "Accept-Encoding": "gzip"}
        if use_auth:
            headers |= self.auth.headers(refresh=refresh)
        data, basic = form if form is not None else (None, None)
        self._remember_secrets(headers, basic, data)
        self.limiter.acquire()
        self.request_count += 1
        log.debug("%s %s %s", self.portal, method, redact_url(url))
        with Deadline(self._timeout) as deadline:
            try:
                resp = self._session.request(
                    method, url, params=params, data=data, auth=basic, headers=headers,
                    timeout=(self._timeout, self._timeout), stream=True, allow_redirects=False,
                )
            except _TRANSIENT as exc:
                raise self._unavailable(exc, deadline, url, "talking to the portal") from None
            with resp:
                body = self._read_capped(resp, deadline, url)
        return _Raw(resp.status_code, resp.headers, body, resp.url)

    def _remember_secrets(
        self, headers: Mapping[str, str], basic: tuple[str, str] | None,
        form: Mapping[str, str] | None,
    ) -> None:
        """What we send that a portal might reflect: masked in every error body we print."""
        for name, value in headers.items():
            if name.lower() in ("authorization", "x-api-key") or "key" in name.lower():
                self._sent_secrets.add(value)
                for scheme in _AUTH_SCHEMES:
                    if value.startswith(scheme):
                        self._sent_secrets.add(value[len(scheme):])
        if basic is not None:
            pair = f"{basic[0]}:{basic[1]}".encode()
            self._sent_secrets |= {basic[1], base64.b64encode(pair).decode()}
        if form and form.get("client_secret"):
            self._sent_secrets.add(form["client_secret"])

    def _unavailable(
        self, exc: Exception, deadline: Deadline, url: str, where: str
    ) -> ServiceUnavailable:
        if deadline.expired:
            return ServiceUnavailable(
                f"no complete response within the {self._timeout:g} s deadline",
                timeout=self._timeout, portal=self.portal, url=redact_url(url),
            )
        return ServiceUnavailable(
            f"{type(exc).__name__} {where}", portal=self.portal, url=redact_url(url)
        )

    def _read_capped(self, resp: requests.Response, deadline: Deadline, url: str) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._cap:
            raise self._too_large(url, int(declared))
        chunks, size = [], 0
        try:
            for chunk in resp.iter_content(_CHUNK):
                size += len(chunk)
                if size > self._cap:
                    raise self._too_large(url, size)
                if deadline.expired:
                    break
                chunks.append(chunk)
        except _TRANSIENT as exc:
            raise self._unavailable(exc, deadline, url, "while reading the response") from None
        if deadline.expired:
            raise self._unavailable(TimeoutError(), deadline, url, "")
        return b"".join(chunks)

    def _too_large(self, url: str, size: int) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            "response exceeds max_response_bytes; aborted", portal=self.portal,
            url=redact_url(url), size=size, max_response_bytes=self._cap,
        )

    def _raise_for_status(self, raw: _Raw, described: dict[str, Any]) -> None:
        if raw.status < 300:
            return
        summary = {"portal": self.portal, "status": raw.status, **described}
        if is_retriable_status(raw.status):
            retry_after = parse_retry_after(raw.headers.get("Retry-After"))
            if raw.status == 429:
                raise RateLimited("portal is rate limiting us (429)", retry_after, **summary)
            raise ServiceUnavailable(
                f"portal answered {raw.status}", retry_after=retry_after, **summary
            )
        body = summarize_body(raw.body, secrets=self._sent_secrets)
        if raw.status in (401, 403):
            raise ConfigError(
                f"{self.portal} rejected our credentials ({raw.status}); check its auth settings",
                body=body, **summary,
            )
        raise PortalContractError(f"{self.portal} answered {raw.status}", body=body, **summary)


def _refreshable(auth: AuthStrategy) -> bool:
    return bool(getattr(auth, "refreshable", False))


def _pooled_session() -> requests.Session:
    session = requests.Session()
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
