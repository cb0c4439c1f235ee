"""The HTTP client against scripted servers on real sockets."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scripted_http import Reply

from connectors.toolkit.auth import ApiKeyAuth
from connectors.toolkit.http import HttpClient, Request
from connectors.toolkit.ratelimit import RateLimiter
from connectors.toolkit.retry import RetryPolicy
from connectors.toolkit.safety import parse_json
from ecohub.errors import (
    ConfigError,
    PortalContractError,
    RateLimited,
    ResponseTooLargeError,
    ServiceUnavailable,
    UnsafeRedirectError,
)

KEY = "tp-live-7f3a9c2e51"
PAGE = {
    "trang_thai": "thanh_cong",
    "du_lieu": [
        {"ma_cong_nghe": 104211, "ten_cong_nghe": "Hệ thống tưới nhỏ giọt điều khiển qua IoT"}
    ],
    "phan_trang": {"trang": 1, "so_dong": 20, "tong_so": 1, "tong_so_trang": 1},
}
TOO_MANY = {
    "trang_thai": "loi",
    "ma_loi": "VUOT_GIOI_HAN",
    "thong_bao": "Vượt quá số lượt truy cập cho phép, thử lại sau 1 giây",
}


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(server, *, retries=3, cap=1024 * 1024, timeout=5.0, sleeps=None) -> HttpClient:
    return HttpClient(
        portal="techport",
        base_url=server.url,
        timeout=timeout,
        max_response_bytes=cap,
        retry=RetryPolicy(max_retries=retries, base_delay=0.2, max_delay=3.0, rng=random.Random(1)),
        limiter=RateLimiter(1000.0),
        auth=ApiKeyAuth(KEY),
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def get(http: HttpClient, path="/api/v2/cong-nghe", **params):
    return http.get(Request(path, params or {"trang": 1}), parse=parse_json)


def test_a_page_is_fetched_with_the_key_header_and_landed_request_has_no_key(server):
    server.route("/api/v2/cong-nghe", [Reply(200, PAGE)])
    response, parsed = get(client(server), trang=1, so_dong=20)
    assert parsed == PAGE
    assert server.seen[0].headers["X-API-Key"] == KEY
    assert response.request == {
        "method": "GET",
        "url": f"{server.url}/api/v2/cong-nghe",
        "params": {"trang": 1, "so_dong": 20},
    }
    assert KEY not in repr(response)


@pytest.mark.parametrize(
    ("first", "expected_wait"),
    [
        (Reply(429, TOO_MANY, {"Retry-After": "1"}), 1.0),
        (Reply(429, TOO_MANY, {"Retry-After": "2"}), 2.0),
        (Reply(503, {"error": "bảo trì"}, {"Retry-After": "60"}), 3.0),  # capped at max_delay
    ],
)
def test_retry_after_in_seconds_is_honoured(server, first, expected_wait):
    server.route("/api/v2/cong-nghe", [first, first, Reply(200, PAGE)])
    sleeps = Sleeps()
    response, _ = get(client(server, sleeps=sleeps))
    assert sleeps == [expected_wait, expected_wait]
    assert response.attempts == 3
    assert len(server.seen) == 3


def test_retry_after_as_http_date_is_honoured(server):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    server.route(
        "/api/v2/cong-nghe", [Reply(429, TOO_MANY, {"Retry-After": when}), Reply(200, PAGE)]
    )
    sleeps = Sleeps()
    get(client(server, sleeps=sleeps))
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 2.0


def test_5xx_are_retried_with_jittered_exponential_backoff(server):
    server.route("/api/v2/cong-nghe", [Reply(500), Reply(502), Reply(504), Reply(200, PAGE)])
    sleeps = Sleeps()
    _, parsed = get(client(server, sleeps=sleeps))
    assert parsed == PAGE
    for attempt, wait in enumerate(sleeps):
        ceiling = min(3.0, 0.2 * 2**attempt)
        assert ceiling / 2 <= wait <= ceiling


def test_retries_are_capped_and_the_last_error_says_how_many(server):
    server.route("/api/v2/cong-nghe", [Reply(429, TOO_MANY, {"Retry-After": "1"})])
    with pytest.raises(RateLimited) as caught:
        get(client(server, retries=2))
    assert caught.value.context["attempts"] == 3
    assert caught.value.retry_after == 1.0
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (400, PortalContractError, "SAI_THAM_SO"),
        (404, PortalContractError, "KHONG_TIM_THAY"),
        (401, ConfigError, "KHONG_XAC_THUC"),
        (403, ConfigError, "KHONG_XAC_THUC"),
    ],
)
def test_other_4xx_fail_fast_with_a_summary_and_no_secret(server, status, error, code):
    body = {"trang_thai": "loi", "ma_loi": code, "thong_bao": f"lỗi {status}", "echo_api_key": KEY}
    server.route("/api/v2/cong-nghe", [Reply(status, body)])
    with pytest.raises(error) as caught:
        get(client(server))
    assert len(server.seen) == 1  # no retry
    assert caught.value.context["status"] == status
    assert code in str(caught.value)
    assert KEY not in str(caught.value)


def test_a_declared_oversized_response_is_refused_before_reading(server):
    server.route("/api/v2/cong-nghe", [Reply(200, b"x" * 5000)])
    with pytest.raises(ResponseTooLargeError) as caught:
        get(client(server, cap=4096))
    assert caught.value.context["size"] == 5000


def test_a_streamed_oversized_response_is_cut_off(server):
    server.route("/api/v2/cong-nghe", [Reply(200, b"[" + b"1," * 40000 + b"1]", chunked=True)])
    with pytest.raises(ResponseTooLargeError) as caught:
        get(client(server, cap=8192))
    assert caught.value.context["max_response_bytes"] == 8192


def test_a_truncated_body_is_retried(server):
    cut = b'{"trang_thai": "thanh_cong", "du_lieu": [{"ma_cong_nghe": 1'
    server.route(
        "/api/v2/cong-nghe", [Reply(200, cut, declared_length=len(cut) + 500), Reply(200, PAGE)]
    )
    sleeps = Sleeps()
    _, parsed = get(client(server, sleeps=sleeps))
    assert parsed == PAGE and len(sleeps) == 1


def test_a_body_that_does_not_parse_is_retried_then_reported(server):
    server.route("/api/v2/cong-nghe", [Reply(200, b'{"du_lieu": [')])
    with pytest.raises(Exception) as caught:
        get(client(server, retries=1))
    assert type(caught.value).__name__ == "MalformedResponse"
    assert len(server.seen) == 2


def test_a_slow_response_times_out_and_is_retried(server):
    server.route("/api/v2/cong-nghe", [Reply(200, PAGE, delay=1.5), Reply(200, PAGE)])
    sleeps = Sleeps()
    _, parsed = get(client(server, timeout=0.5, sleeps=sleeps))
    assert parsed == PAGE and len(sleeps) == 1


def test_connection_refused_is_retriable(server):
    http = client(server, retries=1)
    server.stop()
    with pytest.raises(ServiceUnavailable, match="ConnectionError"):
        get(http)


def test_a_redirect_to_another_host_is_refused_and_gets_no_credential(server, other_server):
    other_server.route("/api/v2/cong-nghe", [Reply(200, PAGE)])
    server.route(
        "/api/v2/cong-nghe", [Reply(302, b"", {"Location": f"{other_server.url}/api/v2/cong-nghe"})]
    )
    with pytest.raises(UnsafeRedirectError, match="outside the configured portal") as caught:
        get(client(server))
    assert caught.value.context["target"] == f"{other_server.url}/api/v2/cong-nghe"
    assert other_server.seen == []


def test_a_next_link_to_another_host_is_refused_before_any_request(server, other_server):
    with pytest.raises(UnsafeRedirectError):
        client(server).get(
            Request(f"{other_server.url}/api/v2/cong-nghe?trang=2"), parse=parse_json
        )
    assert other_server.seen == [] and server.seen == []


def test_a_same_origin_redirect_is_followed_with_credentials(server):
    server.route(
        "/api/v2/cong-nghe", [Reply(301, b"", {"Location": "/api/v2/cong-nghe-moi?trang=1"})]
    )
    server.route("/api/v2/cong-nghe-moi", [Reply(200, PAGE)])
    response, parsed = get(client(server))
    assert parsed == PAGE
    assert server.seen[1].path == "/api/v2/cong-nghe-moi"
    assert server.seen[1].headers["X-API-Key"] == KEY
    assert response.url == f"{server.url}/api/v2/cong-nghe-moi?trang=1"


def test_logs_never_carry_the_key(server, caplog):
    server.route("/api/v2/cong-nghe", [Reply(503), Reply(200, PAGE)])
    with caplog.at_level(logging.DEBUG):
        get(client(server), trang=1)
    assert "retry 1/3" in caplog.text
    assert KEY not in caplog.text
