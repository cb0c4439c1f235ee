"""Auth strategies, alone and through the HTTP client against a scripted token endpoint."""

from __future__ import annotations

import base64
import logging
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr
from scripted_http import Reply

from connectors.toolkit.auth import (
    ApiKeyAuth,
    NoAuth,
    OAuth2ClientCredentials,
    auth_from_settings,
)
from connectors.toolkit.http import HttpClient, Request
from connectors.toolkit.ratelimit import RateLimiter
from connectors.toolkit.retry import RetryPolicy
from connectors.toolkit.safety import parse_json
from ecohub.errors import ConfigError, PortalContractError
from ecohub.settings import PortalSettings

SECRET = "hoip-s3cret-9d8e7f"
ITEMS = {
    "items": [{"id": "org_0000017", "name": "Trung tâm Khởi nghiệp Đổi mới sáng tạo TP.HCM"}],
    "next_cursor": None,
    "has_more": False,
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_reply(number: int, expires_in: int = 3600) -> Reply:
    return Reply(
        200,
        {
            "access_token": f"hoip_at_{number:04d}",
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": "read",
        },
    )


def oauth_client(
    server, clock=None, client_auth="basic"
) -> tuple[HttpClient, OAuth2ClientCredentials]:
    http = HttpClient(
        portal="hoip",
        base_url=server.url,
        timeout=5,
        max_response_bytes=1 << 20,
        retry=RetryPolicy(max_retries=2, base_delay=0.01),
        limiter=RateLimiter(1000.0),
        sleep=lambda s: None,
    )
    auth = OAuth2ClientCredentials(
        token_url=server.url + "/oauth/token",
        client_id="ecohub",
        client_secret=SECRET,
        fetch=http.fetch_token,
        clock=clock or Clock(),
        client_auth=client_auth,
    )
    http.auth = auth
    return http, auth


def call(http: HttpClient):
    return http.get(Request("/api/v1/organizations", {"limit": 50}), parse=parse_json)[1]


def test_the_token_is_fetched_once_with_basic_auth_and_reused(server):
    server.route("/oauth/token", [token_reply(1)])
    server.route("/api/v1/organizations", [Reply(200, ITEMS)])
    http, _ = oauth_client(server)
    for _ in range(3):
        assert call(http) == ITEMS
    token_calls = server.requests_to("/oauth/token")
    assert len(token_calls) == 1 and token_calls[0].method == "POST"
    expected = base64.b64encode(f"ecohub:{SECRET}".encode()).decode()
    assert token_calls[0].headers["Authorization"] == f"Basic {expected}"
    assert parse_qs(token_calls[0].body.decode()) == {"grant_type": ["client_credentials"]}
    api_calls = server.requests_to("/api/v1/organizations")
    assert {c.headers["Authorization"] for c in api_calls} == {"Bearer hoip_at_0001"}


def test_credentials_can_go_in_the_form_body(server):
    server.route("/oauth/token", [token_reply(1)])
    server.route("/api/v1/organizations", [Reply(200, ITEMS)])
    http, _ = oauth_client(server, client_auth="body")
    call(http)
    sent = server.requests_to("/oauth/token")[0]
    assert "Authorization" not in sent.headers
    assert parse_qs(sent.body.decode())["client_secret"] == [SECRET]


@pytest.mark.parametrize(
    ("expires_in", "elapsed", "fetches"),
    [
        (3600, 3500, 1),  # 100 s left: margin 60 s not reached
        (3600, 3545, 2),  # inside the 60 s margin: renewed early
        (120, 80, 1),  # short token: margin is a quarter of its life (30 s)
        (120, 95, 2),
    ],
)
def test_the_token_is_renewed_before_it_expires(server, expires_in, elapsed, fetches):
    server.route("/oauth/token", [token_reply(1, expires_in), token_reply(2, expires_in)])
    server.route("/api/v1/organizations", [Reply(200, ITEMS)])
    clock = Clock()
    http, auth = oauth_client(server, clock)
    call(http)
    clock.now += elapsed
    call(http)
    assert auth.fetch_count == fetches
    last = server.requests_to("/api/v1/organizations")[-1]
    assert last.headers["Authorization"] == f"Bearer hoip_at_{fetches:04d}"


def test_a_401_renews_the_token_once_and_retries(server):
    server.route("/oauth/token", [token_reply(1), token_reply(2)])
    unauthorized = Reply(
        401, {"title": "Unauthorized"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )
    server.route("/api/v1/organizations", [unauthorized, Reply(200, ITEMS)])
    http, auth = oauth_client(server)
    assert call(http) == ITEMS
    assert auth.fetch_count == 2
    assert [c.headers["Authorization"] for c in server.requests_to("/api/v1/organizations")] == [
        "Bearer hoip_at_0001",
        "Bearer hoip_at_0002",
    ]


def test_a_second_401_is_a_configuration_error(server):
    server.route("/oauth/token", [token_reply(1), token_reply(2), token_reply(3)])
    server.route("/api/v1/organizations", [Reply(401, {"title": "Unauthorized"})])
    http, auth = oauth_client(server)
    with pytest.raises(ConfigError, match="rejected our credentials"):
        call(http)
    assert auth.fetch_count == 2
    assert len(server.requests_to("/api/v1/organizations")) == 2


def test_a_rejected_client_is_a_configuration_error_without_the_secret(server, caplog):
    server.route(
        "/oauth/token",
        [Reply(401, {"error": "invalid_client", "error_description": "Sai client hoặc secret"})],
    )
    http, _ = oauth_client(server)
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as caught:
        call(http)
    assert "invalid_client" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in caplog.text


def test_a_token_answer_without_access_token_is_a_contract_error(server):
    server.route("/oauth/token", [Reply(200, {"token_type": "Bearer"})])
    http, _ = oauth_client(server)
    with pytest.raises(PortalContractError, match="without an access_token"):
        call(http)


def test_tokens_never_reach_logs_or_reprs(server, caplog):
    server.route("/oauth/token", [token_reply(7)])
    server.route("/api/v1/organizations", [Reply(503), Reply(200, ITEMS)])
    http, auth = oauth_client(server)
    with caplog.at_level(logging.DEBUG):
        call(http)
    assert "hoip_at_0007" not in caplog.text and SECRET not in caplog.text
    assert SECRET not in repr(auth) and "hoip_at" not in repr(auth)


@pytest.mark.parametrize(
    ("settings", "kind", "headers"),
    [
        (PortalSettings(base_url="http://127.0.0.1:8101"), NoAuth, {}),
        (
            PortalSettings(
                base_url="http://127.0.0.1:8102", auth="api_key", api_key=SecretStr("k-1")
            ),
            ApiKeyAuth,
            {"X-API-Key": "k-1"},
        ),
    ],
)
def test_strategies_from_settings(settings, kind, headers):
    auth = auth_from_settings(settings)
    assert isinstance(auth, kind)
    assert auth.headers() == headers


@pytest.mark.parametrize(
    "settings",
    [
        PortalSettings(base_url="http://127.0.0.1:8102", auth="api_key"),
        PortalSettings(base_url="http://127.0.0.1:8103", auth="oauth2", client_id="ecohub"),
    ],
)
def test_missing_credentials_fail_at_start(settings):
    with pytest.raises(ConfigError):
        auth_from_settings(settings, fetch=lambda *a: {})
