"""H.OIP push interface of the simulator: subscriptions, signed at-least-once deliveries, faults.

A stub receiver on a free port records every delivery and checks signatures itself with
``hmac`` (not with ecohub's receiver), answering like a careful receiver would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

pytestmark = pytest.mark.integration

SECRET = "stub-receiver-secret-0123"


class Stub:
    """Records deliveries; answers 401 to a bad signature, ``status`` otherwise."""

    def __init__(self) -> None:
        self.deliveries: list[dict] = []
        self.status = 200
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ts = self.headers["X-HOIP-Timestamp"]
                mac = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256)
                valid = hmac.compare_digest(f"v1={mac.hexdigest()}",
                                            self.headers["X-HOIP-Signature"])
                with stub.lock:
                    stub.deliveries.append({
                        "event_id": self.headers["X-HOIP-Event-Id"], "timestamp": int(ts),
                        "signature": self.headers["X-HOIP-Signature"], "valid": valid,
                        "body": json.loads(body), "at": time.time(),
                    })
                    status = stub.status if valid else 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")


@pytest.fixture
def stub() -> Iterator[Stub]:
    stub = Stub()
    yield stub
    stub.httpd.shutdown()
    stub.httpd.server_close()


def subscribe(hoip, session, stub, resources=("organizations",)) -> dict:
    answer = session.post(
        f"{hoip.url}/api/v1/webhooks/subscriptions",
        json={"callback_url": stub.url, "secret": SECRET, "resources": list(resources)},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def change(hoip, key: str = "org_0000003", op: str = "update", resource="organizations") -> dict:
    answer = requests.post(f"{hoip.url}/_admin/change",
                           json={"resource": resource, "key": key, "op": op}, timeout=10)
    answer.raise_for_status()
    return answer.json()


def faults(hoip, config: dict) -> None:
    requests.post(f"{hoip.url}/_admin/faults", json=config, timeout=10).raise_for_status()


def test_subscriptions_are_listed_without_secret_and_deleted(hoip, hoip_session, stub):
    sub = subscribe(hoip, hoip_session, stub)
    listed = hoip_session.get(f"{hoip.url}/api/v1/webhooks/subscriptions", timeout=10).json()
    assert listed["items"] == [sub]
    assert SECRET not in json.dumps(listed)
    gone = hoip_session.delete(f"{hoip.url}/api/v1/webhooks/subscriptions/{sub['id']}",
                               timeout=10)
    assert gone.status_code == 204
    assert hoip_session.get(f"{hoip.url}/api/v1/webhooks/subscriptions",
                            timeout=10).json() == {"items": []}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"callback_url": "ftp://x", "secret": SECRET}, "callback_url"),
        ({"callback_url": "http://127.0.0.1:1/h", "secret": "short"}, "secret"),
        ({"callback_url": "http://127.0.0.1:1/h", "secret": SECRET, "resources": ["x"]},
         "resources"),
    ],
)
def test_bad_subscriptions_are_400(hoip, hoip_session, body, detail):
    answer = hoip_session.post(f"{hoip.url}/api/v1/webhooks/subscriptions", json=body, timeout=10)
    assert answer.status_code == 400
    assert detail in answer.json()["detail"]


def test_subscribing_needs_a_bearer_token(hoip, stub):
    answer = requests.post(f"{hoip.url}/api/v1/webhooks/subscriptions",
                           json={"callback_url": stub.url, "secret": SECRET}, timeout=10)
    assert answer.status_code == 401


def test_a_change_is_delivered_signed_with_the_record_at_that_version(hoip, hoip_session, stub):
    sub = subscribe(hoip, hoip_session, stub)
    changed = change(hoip)
    [got] = stub.wait_for(1)
    assert got["valid"] and abs(got["timestamp"] - time.time()) < 60
    body = got["body"]
    assert body["id"] == got["event_id"] and body["subscription_id"] == sub["id"]
    assert body["type"] == "hoip.organizations.upsert"
    data = body["data"]
    assert (data["id"], data["op"], data["version"]) == ("org_0000003", "upsert",
                                                         changed["version"])
    detail = hoip_session.get(f"{hoip.url}/api/v1/organizations/org_0000003", timeout=10).json()
    assert data["record"] == detail
    feed = hoip_session.get(f"{hoip.url}/api/v1/changes",
                            params={"since": data["seq"] - 1, "limit": 1}, timeout=10).json()
    assert feed["changes"][0] == {k: v for k, v in data.items() if k != "record"}


def test_a_delete_is_delivered_as_the_feed_tombstone(hoip, hoip_session, stub):
    subscribe(hoip, hoip_session, stub)
    change(hoip, key="org_0000004", op="delete")
    [got] = stub.wait_for(1)
    data = got["body"]["data"]
    assert (data["op"], data["id"], "record" in data) == ("delete", "org_0000004", False)
    assert data["deleted_at"] == data["updated_at"]


def test_only_subscribed_resources_are_delivered(hoip, hoip_session, stub):
    subscribe(hoip, hoip_session, stub, resources=("programs",))
    change(hoip)  # an organization
    change(hoip, key="prg_0000001", resource="programs")
    [got] = stub.wait_for(1)
    time.sleep(0.5)
    assert [d["body"]["data"]["resource"] for d in stub.deliveries] == ["programs"]
    assert got["body"]["type"] == "hoip.programs.upsert"


def test_failed_deliveries_are_retried_resigned_with_the_same_event_id(hoip, hoip_session, stub):
    faults(hoip, {"webhook_retry_base": 0.1})
    subscribe(hoip, hoip_session, stub)
    stub.status = 503
    change(hoip)
    attempts = stub.wait_for(3)
    stub.status = 200
    attempts = stub.wait_for(len(attempts) + 1)
    assert len({a["event_id"] for a in attempts}) == 1
    assert len({a["signature"] for a in attempts}) == len(attempts)  # each attempt re-signed
    stats = requests.get(f"{hoip.url}/_admin/webhooks", timeout=10).json()
    assert stats["delivered"] == 1 and stats["answers"]["503"] >= 3


def test_deliveries_give_up_after_the_configured_attempts(hoip, hoip_session, stub):
    faults(hoip, {"webhook_retry_base": 0.1, "webhook_attempts": 3})
    subscribe(hoip, hoip_session, stub)
    stub.status = 500
    change(hoip)
    stub.wait_for(3)
    deadline = time.monotonic() + 10
    while requests.get(f"{hoip.url}/_admin/webhooks", timeout=10).json().get("gave_up") != 1:
        assert time.monotonic() < deadline, "the dispatcher never gave up"
        time.sleep(0.05)
    time.sleep(0.5)
    assert len(stub.deliveries) == 3


def test_fault_duplicate_delivers_the_event_again_freshly_signed(hoip, hoip_session, stub):
    faults(hoip, {"webhook_duplicate": {"count": 1}})
    subscribe(hoip, hoip_session, stub)
    change(hoip)
    first, second = stub.wait_for(2)
    assert first["event_id"] == second["event_id"] and first["body"] == second["body"]
    assert first["valid"] and second["valid"]


def test_fault_replay_resends_the_same_signed_bytes(hoip, hoip_session, stub):
    faults(hoip, {"webhook_replay": {"count": 1}})
    subscribe(hoip, hoip_session, stub)
    change(hoip)
    first, second = stub.wait_for(2)
    assert (first["timestamp"], first["signature"]) == (second["timestamp"], second["signature"])


def test_fault_stale_signs_an_old_timestamp(hoip, hoip_session, stub):
    faults(hoip, {"webhook_stale": {"count": 1, "age": 3600}})
    subscribe(hoip, hoip_session, stub)
    change(hoip)
    first, second = stub.wait_for(2)
    assert second["valid"] and first["timestamp"] - second["timestamp"] >= 3599


def test_fault_bad_signature_is_healed_by_the_retry(hoip, hoip_session, stub):
    faults(hoip, {"webhook_bad_signature": {"count": 1}, "webhook_retry_base": 0.1})
    subscribe(hoip, hoip_session, stub)
    change(hoip)
    first, second = stub.wait_for(2)
    assert (first["valid"], second["valid"]) == (False, True)
    assert first["event_id"] == second["event_id"]


def test_fault_out_of_order_lets_a_later_change_overtake(hoip, hoip_session, stub):
    faults(hoip, {"webhook_out_of_order": {"count": 1, "delay": 1.0}})
    subscribe(hoip, hoip_session, stub)
    change(hoip, key="org_0000003")
    change(hoip, key="org_0000005")
    first, second = stub.wait_for(2)
    assert first["body"]["data"]["seq"] > second["body"]["data"]["seq"]


def test_fault_late_holds_a_signed_delivery(hoip, hoip_session, stub):
    faults(hoip, {"webhook_late": {"count": 1, "delay": 1.5}})
    subscribe(hoip, hoip_session, stub)
    change(hoip)
    [got] = stub.wait_for(1)
    assert got["at"] - got["timestamp"] >= 1.0  # signed, then held in transit
