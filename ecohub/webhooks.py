"""The H.OIP push receiver: verify signed webhook deliveries, land them, publish them.

Why: H.OIP's change feed is polled hourly; its push interface (``docs/portals/hoip.md``,
*Push interface*) brings a change to downstream apps in seconds. Pushes are an accelerator,
never the system of record: the pull path stays scheduled, and what a push missed (receiver
down, deliveries given up) the next pull brings, with the same event ids, so the warehouse
keeps one version either way.

What happens to one ``POST /hooks/hoip``:

1. **verify** (:class:`Verifier`): the ``X-HOIP-Signature`` is recomputed over
   ``<timestamp>.<raw body>`` with the subscription secret and compared in constant time; a
   timestamp farther than ``tolerance_seconds`` from our clock is refused (a captured delivery
   replayed later has a valid signature over an old timestamp); the body must be the event
   the ``X-HOIP-Event-Id`` header names;
2. **de-duplicate** (:class:`ReplayCache`): an event id accepted before is acknowledged
   without being applied again (the platform delivers at least once, re-signing each retry);
   the very same signed attempt seen twice is a replay and refused;
3. **land** the body unchanged as a page of kind ``webhook`` of an hourly push run
   (``hoip-push-<hour>-<instance>``), so it is auditable and replayable like a pulled page;
4. **publish** it through the pull path's own code: :func:`connectors.hoip.parse_delivery`
   builds the same source record a pull would, :func:`ecohub.pipeline.publish_batches`
   normalizes, checks the contract and publishes (acks=all) or dead-letters it; the run's
   counts go to the warehouse for reconciliation;
5. answer ``200`` only then, so a delivery we failed to store is retried by the platform.

Every refusal is counted by reason (``signature``, ``stale``, ``replay``, ``malformed``) and
logged without the signature or the body; ``GET /healthz`` shows the counters.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import signal
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from connectors import get_connector
from connectors.hoip import parse_delivery, stream_of_resource
from connectors.toolkit.connector import Batch
from ecohub.db import get_engine
from ecohub.errors import (
    ConfigError,
    EcohubError,
    PortalContractError,
    ServiceUnavailable,
    WebhookRejected,
)
from ecohub.kafka import Publisher, ensure_topics
from ecohub.landing import Landing
from ecohub.pipeline import StreamReport, publish_batches
from ecohub.settings import Settings, WebhookSettings
from ecohub.warehouse import init_db
from ecohub.warehouse.runs import record_extract

__all__ = [
    "DELIVERY_PATH",
    "HEALTH_PATH",
    "Receiver",
    "ReceiverServer",
    "ReplayCache",
    "SignedDelivery",
    "Verifier",
    "serve",
    "sign",
    "subscribe",
]

log = logging.getLogger(__name__)

DELIVERY_PATH = "/hooks/hoip"
HEALTH_PATH = "/healthz"
_PORTAL = "hoip"
_SCHEME = "v1="
Headers = Mapping[str, str] | Message


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``, the H.OIP signature scheme."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return _SCHEME + mac.hexdigest()


@dataclass(frozen=True)
class SignedDelivery:
    """A delivery whose signature and freshness were verified."""

    event_id: str
    timestamp: int
    signature: str
    document: dict[str, Any]


class Verifier:
    """Checks signature, freshness and shape of one delivery; raises :class:`WebhookRejected`."""

    def __init__(self, secret: bytes, tolerance_seconds: int) -> None:
        if not secret:
            raise ValueError("the webhook secret must not be empty")
        self._secret = secret
        self.tolerance = tolerance_seconds

    def verify(self, headers: Headers, body: bytes, now: float) -> SignedDelivery:
        event_id = _header(headers, "X-HOIP-Event-Id")
        raw_ts = _header(headers, "X-HOIP-Timestamp")
        given = _header(headers, "X-HOIP-Signature")
        if not given or not raw_ts:
            raise WebhookRejected("delivery is not signed", reason="signature", status=401)
        try:
            timestamp = int(raw_ts)
        except ValueError:
            raise WebhookRejected(
                "X-HOIP-Timestamp is not Unix seconds", reason="malformed", status=400
            ) from None
        expected = sign(self._secret, timestamp, body)
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise WebhookRejected("signature does not match", reason="signature", status=401)
        skew = now - timestamp
        if abs(skew) > self.tolerance:
            raise WebhookRejected(
                "timestamp outside the tolerance", reason="stale", status=400,
                skew_seconds=round(skew), tolerance_seconds=self.tolerance,
            )
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            document = None
        if not isinstance(document, dict) or not event_id or document.get("id") != event_id:
            raise WebhookRejected(
                "body is not the event named by X-HOIP-Event-Id", reason="malformed", status=400
            )
        return SignedDelivery(event_id, timestamp, given.strip(), document)


class ReplayCache:
    """Event ids accepted recently, with the signed attempts seen of each (bounded, thread-safe).

    Entries older than ``ttl`` seconds are forgotten: a delivery that old is refused as stale
    before the cache is asked, so the cache only needs the tolerance window (twice, for skew).
    A receiver restart forgets the window; a retry it then applies again carries the same
    deterministic event ids downstream, which the loader de-duplicates.
    """

    def __init__(self, ttl: float, max_size: int) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._entries: OrderedDict[str, tuple[float, set[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def attempts(self, event_id: str, now: float) -> set[str] | None:
        """The signatures seen for ``event_id``, or None when it was not accepted recently."""
        with self._lock:
            self._expire(now)
            entry = self._entries.get(event_id)
            return set(entry[1]) if entry is not None else None

    def remember(self, event_id: str, signature: str, now: float) -> None:
        with self._lock:
            first, seen = self._entries.pop(event_id, (now, set()))
            seen.add(signature)
            self._entries[event_id] = (first, seen)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self, now: float) -> None:
        while self._entries:
            oldest = next(iter(self._entries.values()))[0]
            if now - oldest <= self.ttl:
                break
            self._entries.popitem(last=False)


@dataclass
class _Counters:
    accepted: int = 0
    duplicates: int = 0
    failed: int = 0
    dead_lettered: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "dead_lettered": self.dead_lettered,
            "refused": dict(self.refused),
            "refused_total": sum(self.refused.values()),
        }


class Receiver:
    """Verifies, lands and publishes deliveries; one per process (it owns Kafka producers)."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        hooks: WebhookSettings = settings.webhooks
        self.settings = settings
        self.clock = clock
        self.verifier = Verifier(hooks.secret.get_secret_value().encode(), hooks.tolerance_seconds)
        self.cache = ReplayCache(2 * hooks.tolerance_seconds, hooks.replay_cache_size)
        self.counters = _Counters()
        self.instance = uuid.uuid4().hex[:8]
        self.started = clock()
        self.engine = get_engine(settings.warehouse_url)
        init_db(self.engine)
        ensure_topics(settings)
        self.landing = Landing.from_settings(settings)
        self.connector = get_connector(_PORTAL, settings)
        self._lock = threading.Lock()
        self._publishers: dict[str, Any] = {}
        self._reports: dict[tuple[str, str], Any] = {}
        self._pages: dict[tuple[str, str], int] = {}

    # -- one delivery ------------------------------------------------------------------------
    def handle(self, headers: Headers, body: bytes) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON answer for one delivery."""
        now = self.clock()
        try:
            delivery = self.verifier.verify(headers, body, now)
            with self._lock:
                return self._apply_once(delivery, body, now)
        except WebhookRejected as exc:
            with self._lock:
                self.counters.refused[exc.reason] += 1
            log.warning("webhook refused (%s): %s", exc.reason, exc)
            return exc.status, {"error": exc.reason, "detail": exc.message}

    def _apply_once(
        self, delivery: SignedDelivery, body: bytes, now: float
    ) -> tuple[int, dict[str, Any]]:
        seen = self.cache.attempts(delivery.event_id, now)
        if seen is not None and delivery.signature in seen:
            raise WebhookRejected("this signed delivery was already received", reason="replay",
                                  status=409, event_id=delivery.event_id)
        if seen is not None:
            self.cache.remember(delivery.event_id, delivery.signature, now)
            self.counters.duplicates += 1
            return 200, {"status": "duplicate", "event_id": delivery.event_id}
        try:
            report = self._land_and_publish(delivery, body, now)
        except PortalContractError as exc:
            raise WebhookRejected(f"not an H.OIP change: {exc.message}", reason="malformed",
                                  status=422, event_id=delivery.event_id) from exc
        except EcohubError as exc:  # Kafka, S3 or warehouse: the platform retries later
            self.counters.failed += 1
            log.error("webhook %s not stored: %s", delivery.event_id, exc)
            return 503, {"error": "unavailable", "detail": exc.message}
        self.cache.remember(delivery.event_id, delivery.signature, now)
        self.counters.accepted += 1
        self.counters.dead_lettered = sum(r.dead_lettered for r in self._reports.values())
        return 200, {"status": "accepted", "event_id": delivery.event_id, "run_id": report.run_id}

    def _land_and_publish(self, delivery: SignedDelivery, body: bytes, now: float) -> Any:
        data = delivery.document.get("data")
        resource = data.get("resource") if isinstance(data, dict) else None
        spec = stream_of_resource(str(resource))
        parsed = parse_delivery(spec, body)
        run_id = self._run_id(now)
        page = self._next_page(spec.name, run_id)
        uri = self.landing.put_page(
            _PORTAL, spec.name, run_id, page, body,
            request={"method": "POST", "path": DELIVERY_PATH, "event_id": delivery.event_id,
                     "timestamp": delivery.timestamp},
            status=200, record_count=len(parsed.records), cursor_before=None, cursor_after=None,
            content_type="application/json", kind="webhook",
        )
        records = self.connector.records_of(
            spec, parsed, [True] * len(parsed.records), uri, run_id
        )
        report = self._reports.setdefault(
            (run_id, spec.name), StreamReport(_PORTAL, spec.name, run_id)
        )
        publish_batches([Batch(records, {}, uri, page)], report, settings=self.settings,
                        publisher=self._publisher(run_id))
        record_extract(
            self.engine, run_id, _PORTAL, spec.name, fetched=report.fetched,
            published=report.published, dead_lettered=report.dead_lettered, events=report.events,
        )
        return report

    def _run_id(self, now: float) -> str:
        """One push run per receiver and UTC hour: reconciled and listed like a pull run."""
        hour = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H0000Z")
        return f"{_PORTAL}-push-{hour}-{self.instance}"

    def _next_page(self, stream: str, run_id: str) -> int:
        key = (stream, run_id)
        if key not in self._pages:
            pages = self.landing.run_pages(_PORTAL, stream, run_id)
            self._pages[key] = max((p.page for p in pages), default=0)
        self._pages[key] += 1
        return self._pages[key]

    def _publisher(self, run_id: str) -> Any:
        if run_id not in self._publishers:
            for old in self._publishers.values():  # the previous hour's run is finished
                old.close()
            self._publishers = {run_id: Publisher(self.settings, run_id=run_id)}
        return self._publishers[run_id]

    # -- health and shutdown -------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        with self._lock:
            return {
                "status": "ok",
                "uptime_seconds": round(self.clock() - self.started, 3),
                "replay_cache": len(self.cache),
                **self.counters.as_dict(),
            }

    def close(self) -> None:
        with self._lock:
            for publisher in self._publishers.values():
                publisher.close()
            self._publishers = {}
            for run_id, stream in {(r, s) for r, s in self._reports}:
                with contextlib.suppress(EcohubError):
                    self.landing.write_manifest(_PORTAL, stream, run_id,
                                                summary=self._reports[(run_id, stream)].as_dict())


def _header(headers: Headers, name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts in tests; http.server's headers are case-insensitive
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ecohub-webhooks/1.0"
    receiver: Receiver
    max_body: int
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == HEALTH_PATH:
            self._answer(200, self.receiver.health())
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != DELIVERY_PATH:
            self._answer(404, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._answer(411, {"error": "Content-Length required"})
            return
        if length > self.max_body:
            self.close_connection = True
            self._answer(413, {"error": f"body over {self.max_body} bytes"})
            return
        body = self.rfile.read(length)
        status, answer = self.receiver.handle(self.headers, body)
        self._answer(status, answer)

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ReceiverServer:
    """The receiver on a real socket, served from a background thread (a context manager).

    ``port`` 0 picks a free port; ``url`` is the delivery URL to subscribe.
    """

    def __init__(self, settings: Settings, *, host: str | None = None,
                 port: int | None = None, receiver: Receiver | None = None) -> None:
        hooks = settings.webhooks
        self.receiver = receiver or Receiver(settings)
        handler = type("Handler", (_Handler,), {"receiver": self.receiver,
                                                "max_body": hooks.max_body_bytes})
        self._httpd = _Server((host or hooks.host, hooks.port if port is None else port), handler)
        address = self._httpd.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="ecohub-webhooks", daemon=True)
        self._stopped = False
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{DELIVERY_PATH}"

    @property
    def health_url(self) -> str:
        return f"http://{self.host}:{self.port}{HEALTH_PATH}"

    def stop(self) -> None:
        """Stop serving and close the receiver; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self.receiver.close()

    def __enter__(self) -> ReceiverServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(settings: Settings, *, stop: threading.Event | None = None) -> None:
    """Run the receiver until ``stop`` is set (or the process is interrupted).

    Refuses to listen beyond loopback with the development secret: anyone could sign."""
    hooks = settings.webhooks
    default_secret = WebhookSettings().secret.get_secret_value()
    loopback = hooks.host in ("127.0.0.1", "localhost", "::1")
    if not loopback and hooks.secret.get_secret_value() == default_secret:
        raise ConfigError("the webhook receiver listens beyond loopback with the development "
                          "secret; set ECOHUB_WEBHOOKS__SECRET", host=hooks.host)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():  # `make down` sends SIGTERM
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ReceiverServer(settings) as server:
        log.info("H.OIP webhook receiver on %s (health %s)", server.url, server.health_url)
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(1.0):
                pass


def subscribe(settings: Settings, *, resources: list[str] | None = None,
              callback_url: str | None = None) -> dict[str, Any]:
    """Subscribe this receiver at H.OIP (OAuth2 client credentials); returns the subscription.

    ``callback_url`` defaults to ``webhooks.callback_url``: the address H.OIP reaches us at,
    which behind a proxy differs from where the receiver listens.
    """
    portal = settings.portal(_PORTAL)
    if portal.client_id is None or portal.client_secret is None:
        raise ConfigError("H.OIP client credentials are not configured",
                          hint="ECOHUB_HOIP__CLIENT_ID / ECOHUB_HOIP__CLIENT_SECRET")
    body: dict[str, Any] = {
        "callback_url": callback_url or settings.webhooks.callback_url,
        "secret": settings.webhooks.secret.get_secret_value(),
    }
    if resources:
        body["resources"] = resources
    try:
        token = requests.post(
            f"{portal.base_url}/oauth/token", data={"grant_type": "client_credentials"},
            auth=(portal.client_id, portal.client_secret.get_secret_value()),
            timeout=portal.timeout,
        )
        token.raise_for_status()
        answer = requests.post(
            f"{portal.base_url}/api/v1/webhooks/subscriptions", json=body,
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=portal.timeout,
        )
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"H.OIP did not answer: {type(exc).__name__}",
                                 url=portal.base_url) from exc
    if answer.status_code != 201:
        raise ConfigError("H.OIP refused the subscription", status=answer.status_code,
                          detail=answer.text[:300])
    return dict(answer.json())
