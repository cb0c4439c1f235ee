"""How a request proves who we are: none, an API-key header, or OAuth2 client credentials.

Each strategy is a small class with one method, :meth:`AuthStrategy.headers`, that returns the
headers to add to the next request. The HTTP client calls it once more with ``refresh=True``
after a 401, which makes the OAuth2 strategy fetch a new token exactly once. Secrets live only
in these objects and in the request headers; they are never logged, landed or put in errors.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ecohub.errors import ConfigError, PortalContractError
from ecohub.settings import PortalSettings

__all__ = [
    "ApiKeyAuth",
    "AuthStrategy",
    "NoAuth",
    "OAuth2ClientCredentials",
    "TokenFetcher",
    "auth_from_settings",
]

# (token_url, form fields, basic-auth pair) -> parsed JSON token response
TokenFetcher = Callable[[str, dict[str, str], tuple[str, str] | None], dict[str, Any]]


class AuthStrategy(Protocol):
    """Anything that can produce the auth headers of the next request."""

    def headers(self, *, refresh: bool = False) -> dict[str, str]: ...


class NoAuth:
    """Public endpoints: no headers at all."""

    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        return {}


class ApiKeyAuth:
    """A static key in a header (Techport: ``X-API-Key``); a 401 means the key is wrong."""

    def __init__(self, api_key: str, *, header: str = "X-API-Key") -> None:
        if not api_key:
            raise ConfigError("API-key auth needs an api_key", header=header)
        self._header = header
        self._key = api_key

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r}, api_key='***')"

    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        return {self._header: self._key}


class OAuth2ClientCredentials:
    """OAuth2 client-credentials grant (H.OIP): one token cached per process, refreshed early.

    The token is renewed ``refresh_margin`` seconds (at most a quarter of its lifetime) before
    ``expires_in`` runs out, and at once
    when the portal answers 401 (``refresh=True``), which handles tokens revoked early.
    ``fetch`` posts the form to the token endpoint through the same safe HTTP client; its
    response is never landed.
    """

    refreshable = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        fetch: TokenFetcher,
        scope: str | None = None,
        client_auth: str = "basic",
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigError("OAuth2 auth needs client_id and client_secret", token_url=token_url)
        self._token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._fetch = fetch
        self._scope = scope
        self._client_auth = client_auth
        self._margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials({self._token_url!r}, client_id={self._client_id!r})"

    def headers(self, *, refresh: bool = False) -> dict[str, str]:
        with self._lock:
            if refresh or self._token is None or self._clock() >= self._refresh_at:
                self._renew()
            return {"Authorization": f"Bearer {self._token}"}

    def _renew(self) -> None:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        basic: tuple[str, str] | None = (self._client_id, self._secret)
        if self._client_auth == "body":
            form |= {"client_id": self._client_id, "client_secret": self._secret}
            basic = None
        answer = self._fetch(self._token_url, form, basic)
        self.fetch_count += 1
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise PortalContractError(
                "token endpoint answered without an access_token", token_url=self._token_url
            )
        lifetime = _lifetime(answer.get("expires_in", 3600), self._token_url)
        self._token = token
        # renew early, but never so early that a short-lived token is renewed at every request
        self._refresh_at = self._clock() + lifetime - min(self._margin, lifetime / 4)


def _lifetime(value: object, token_url: str) -> float:
    """``expires_in`` in seconds; anything but a finite positive number breaks the contract."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0 or isinstance(value, bool):
        raise PortalContractError(
            "token endpoint answered an unusable expires_in", token_url=token_url,
            expires_in=str(value)[:40],
        )
    return seconds


def auth_from_settings(
    settings: PortalSettings,
    *,
    fetch: TokenFetcher | None = None,
    token_path: str = "/oauth/token",  # noqa: S107 - a path, not a password
    api_key_header: str = "X-API-Key",
    **oauth_options: Any,
) -> AuthStrategy:
    """The strategy named by ``settings.auth``, with its secrets unwrapped only here."""
    if settings.auth == "none":
        return NoAuth()
    if settings.auth == "api_key":
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        return ApiKeyAuth(key, header=api_key_header)
    if fetch is None:
        raise ConfigError("OAuth2 auth needs a token fetcher", base_url=settings.base_url)
    secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
    return OAuth2ClientCredentials(
        token_url=settings.base_url + token_path,
        client_id=settings.client_id or "",
        client_secret=secret,
        fetch=fetch,
        **oauth_options,
    )
