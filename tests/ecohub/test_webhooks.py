"""Verification of pushed H.OIP deliveries (pure logic: signature, freshness, replay cache).

The end-to-end behaviour (simulator -> receiver -> Kafka -> warehouse) is in
tests/integration/test_webhooks_e2e.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecohub import webhooks
from ecohub.errors import WebhookRejected
from ecohub.webhooks import ReplayCache, Verifier, sign

SECRET = b"test-subscription-secret"
NOW = 1_800_000_000


def delivery(event_id: str = "evt_000000000042", **data: object) -> bytes:
    body = {"id": event_id, "type": "hoip.organizations.upsert", "data": data or {"seq": 42}}
    return json.dumps(body).encode()


def headers(body: bytes, *, timestamp: int = NOW, secret: bytes = SECRET,
            event_id: str = "evt_000000000042") -> dict[str, str]:
    return {
        "X-HOIP-Event-Id": event_id,
        "X-HOIP-Timestamp": str(timestamp),
        "X-HOIP-Signature": sign(secret, timestamp, body),
    }


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = delivery()
    expected = hmac.new(SECRET, f"{NOW}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, body) == f"v1={expected}"


def test_a_valid_delivery_is_accepted_with_its_event():
    body = delivery()
    got = Verifier(SECRET, 300).verify(headers(body), body, NOW + 299)
    assert (got.event_id, got.timestamp) == ("evt_000000000042", NOW)
    assert got.document["data"] == {"seq": 42}


def _tampered_body() -> tuple[dict[str, str], bytes]:
    body = delivery()
    return headers(body), body.replace(b"42}", b"43}")


def _tampered_timestamp() -> tuple[dict[str, str], bytes]:
    body = delivery()
    forged = headers(body)
    forged["X-HOIP-Timestamp"] = str(NOW + 1)
    return forged, body


def _wrong_secret() -> tuple[dict[str, str], bytes]:
    body = delivery()
    return headers(body, secret=b"someone-elses-secret"), body


def _unsigned() -> tuple[dict[str, str], bytes]:
    body = delivery()
    bare = headers(body)
    del bare["X-HOIP-Signature"]
    return bare, body


def _stale() -> tuple[dict[str, str], bytes]:
    body = delivery()
    return headers(body, timestamp=NOW - 301), body


def _future() -> tuple[dict[str, str], bytes]:
    body = delivery()
    return headers(body, timestamp=NOW + 301), body


def _other_event() -> tuple[dict[str, str], bytes]:
    body = delivery("evt_000000000043")
    return headers(body, event_id="evt_000000000042"), body


def _not_json() -> tuple[dict[str, str], bytes]:
    body = b"\xff not json"
    return headers(body), body


def _bad_timestamp() -> tuple[dict[str, str], bytes]:
    body = delivery()
    bad = headers(body)
    bad["X-HOIP-Timestamp"] = "yesterday"
    return bad, body


@pytest.mark.parametrize(
    ("build", "reason", "status"),
    [
        (_tampered_body, "signature", 401),
        (_tampered_timestamp, "signature", 401),
        (_wrong_secret, "signature", 401),
        (_unsigned, "signature", 401),
        (_stale, "stale", 400),
        (_future, "stale", 400),
        (_other_event, "malformed", 400),
        (_not_json, "malformed", 400),
        (_bad_timestamp, "malformed", 400),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else str(v),
)
def test_refusals_name_their_reason(build, reason, status):
    hdrs, body = build()
    with pytest.raises(WebhookRejected) as refused:
        Verifier(SECRET, 300).verify(hdrs, body, NOW)
    assert (refused.value.reason, refused.value.status) == (reason, status)


def test_header_names_are_case_insensitive():
    body = delivery()
    lower = {k.lower(): v for k, v in headers(body).items()}
    assert Verifier(SECRET, 300).verify(lower, body, NOW).event_id == "evt_000000000042"


def test_signatures_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)
    body = delivery()
    Verifier(SECRET, 300).verify(headers(body), body, NOW)
    assert calls == [(sign(SECRET, NOW, body).encode(), sign(SECRET, NOW, body).encode())]


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(min_size=1, max_size=200), flip=st.integers(min_value=0))
def test_any_single_byte_change_breaks_the_signature(payload, flip):
    body = delivery(blob=payload.hex())
    hdrs = headers(body)
    position = flip % len(body)
    changed = body[:position] + bytes([body[position] ^ 0x01]) + body[position + 1 :]
    with pytest.raises(WebhookRejected) as refused:
        Verifier(SECRET, 300).verify(hdrs, changed, NOW)
    assert refused.value.reason == "signature"


def test_an_empty_secret_is_a_configuration_mistake():
    with pytest.raises(ValueError, match="must not be empty"):
        Verifier(b"", 300)


def test_replay_cache_remembers_attempts_within_its_window_only():
    cache = ReplayCache(ttl=600, max_size=100)
    assert cache.attempts("evt_1", NOW) is None
    cache.remember("evt_1", "v1=aa", NOW)
    cache.remember("evt_1", "v1=bb", NOW + 5)
    assert cache.attempts("evt_1", NOW + 600) == {"v1=aa", "v1=bb"}
    assert cache.attempts("evt_1", NOW + 601) is None


def test_replay_cache_is_bounded_and_forgets_the_oldest_first():
    cache = ReplayCache(ttl=600, max_size=100)
    for n in range(150):
        cache.remember(f"evt_{n}", "v1=aa", NOW)
    assert len(cache) == 100
    assert cache.attempts("evt_49", NOW) is None
    assert cache.attempts("evt_50", NOW) == {"v1=aa"}
