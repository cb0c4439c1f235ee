"""H.OIP push interface: subscriptions and signed webhook deliveries (docs/portals/hoip.md).

Why a thread of its own: a real platform delivers asynchronously, retries failed deliveries
with back-off and never blocks the change that triggered them. Every change the portal commits
(``HoipPortal.changed``) becomes one *event* with a stable id; each subscription gets one
*delivery* of it, POSTed to its callback URL and signed with its secret:

``X-HOIP-Event-Id``    the event id (the same on every retry and duplicate)
``X-HOIP-Timestamp``   Unix seconds when this attempt was signed
``X-HOIP-Signature``   ``v1=`` + hex HMAC-SHA256(secret, ``<timestamp>.<body>``)

A 2xx answer acknowledges the delivery; anything else (or no answer) is retried with
exponential back-off, re-signed over a later timestamp, up to ``webhook_attempts`` attempts.

Faults (configured like the others, with ``POST /_admin/faults``; they match the path
``/webhooks``): ``webhook_duplicate`` (the event is delivered a second time after it was
acknowledged), ``webhook_out_of_order`` (held back ``delay`` seconds, so later events overtake it),
``webhook_late`` (signed, then held ``delay`` seconds before it is sent),
``webhook_bad_signature`` (signed with a wrong secret; the retry is signed right),
``webhook_replay`` (an acknowledged delivery is sent again byte for byte, same timestamp and
signature, as an eavesdropper would) and ``webhook_stale`` (an acknowledged delivery is sent
again as captured ``age`` seconds ago: a valid signature over an old timestamp). The last two
are attacks, not deliveries: their answers are only counted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DELIVERY_PATH", "Delivery", "Subscription", "WebhookDispatcher", "sign"]

DELIVERY_PATH = "/webhooks"
_WRONG_SECRET = b"not-the-subscription-secret"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` (the documented scheme)."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


@dataclass(frozen=True)
class Subscription:
    id: str
    callback_url: str
    secret: str
    resources: tuple[str, ...]
    created_at: str

    def public(self) -> dict[str, Any]:
        """As the API shows it: never the secret."""
        return {
            "id": self.id,
            "callback_url": self.callback_url,
            "resources": list(self.resources),
            "created_at": self.created_at,
        }


@dataclass
class Delivery:
    """One event for one subscription, and its attempts so far."""

    subscription: Subscription
    event_id: str
    body: bytes
    attempts: int = 0
    due: float = 0.0
    held: bool = False
    last_timestamp: int = 0
    sent: list[tuple[int, str]] = field(default_factory=list)  # (timestamp, signature) sent


class WebhookDispatcher:
    """Subscriptions of one portal and the background thread that delivers their events."""

    def __init__(self, faults: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.faults = faults
        self.clock = clock
        self.subscriptions: dict[str, Subscription] = {}
        self._queue: list[Delivery] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._serial = 0
        self.stats: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.faults_fired: Counter[str] = Counter()

    # -- subscriptions ---------------------------------------------------------------------
    def subscribe(self, callback_url: str, secret: str, resources: tuple[str, ...]) -> Subscription:
        with self._cond:
            self._serial += 1
            sub = Subscription(
                id=f"sub_{self._serial:07d}",
                callback_url=callback_url,
                secret=secret,
                resources=resources,
                created_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(self.clock())),
            )
            self.subscriptions[sub.id] = sub
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="hoip-webhooks", daemon=True
                )
                self._thread.start()
            return sub

    def unsubscribe(self, sub_id: str) -> bool:
        with self._cond:
            return self.subscriptions.pop(sub_id, None) is not None

    def wants(self, resource: str) -> bool:
        return any(resource in s.resources for s in self.subscriptions.values())

    # -- events ----------------------------------------------------------------------------
    def publish(self, resource: str, event_id: str, data: dict[str, Any]) -> None:
        """Queue one change event for every subscription to ``resource``."""
        with self._cond:
            for sub in self.subscriptions.values():
                if resource not in sub.resources:
                    continue
                body = {
                    "id": event_id,
                    "type": f"hoip.{resource}.{data['op']}",
                    "subscription_id": sub.id,
                    "created_at": time.strftime(
                        "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(self.clock())
                    ),
                    "data": data,
                }
                raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
                self._queue.append(Delivery(sub, event_id, raw, due=self.clock()))
                self.stats["events"] += 1
            self._cond.notify_all()

    def count_fault(self, name: str) -> None:
        with self._cond:
            self.faults_fired[name] += 1

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def describe(self) -> dict[str, Any]:
        with self._cond:
            return {
                "subscriptions": [s.public() for s in self.subscriptions.values()],
                "pending": len(self._queue),
                **dict(self.stats),
                "answers": dict(self.answers),
                "faults_fired": dict(self.faults_fired),
            }

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the delivery loop -----------------------------------------------------------------
    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._stopped:
                now = self.clock()
                ready = [d for d in self._queue if d.due <= now]
                if ready:
                    delivery = min(ready, key=lambda d: d.due)
                    self._queue.remove(delivery)
                    return delivery
                wait = min((d.due for d in self._queue), default=now + 1.0) - now
                self._cond.wait(timeout=max(0.01, min(wait, 1.0)))
            return None

    def _run(self) -> None:
        while (delivery := self._next()) is not None:
            if not self._hold(delivery):
                self._attempt(delivery)

    def _hold(self, delivery: Delivery) -> bool:
        """``webhook_out_of_order``: put a first attempt back by ``delay`` seconds, so events
        queued meanwhile overtake it."""
        if delivery.held or delivery.attempts:
            return False
        spec = self.faults.fire("webhook_out_of_order", DELIVERY_PATH)
        if spec is None:
            return False
        self.count_fault("webhook_out_of_order")
        delivery.held = True
        delivery.due = self.clock() + float(spec.params["delay"])
        with self._cond:
            self._queue.append(delivery)
        return True

    def _attempt(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        secret = delivery.subscription.secret.encode()
        first = delivery.attempts == 1
        if first and self.faults.fire("webhook_bad_signature", DELIVERY_PATH):
            self.count_fault("webhook_bad_signature")
            secret = _WRONG_SECRET
        # every attempt is signed over a later timestamp than the one before, so a receiver
        # can tell an honest retry (new signature) from a replayed attempt (same signature)
        timestamp = max(int(self.clock()), delivery.last_timestamp + 1)
        delivery.last_timestamp = timestamp
        signature = sign(secret, timestamp, delivery.body)
        if first and (spec := self.faults.fire("webhook_late", DELIVERY_PATH)):
            self.count_fault("webhook_late")
            time.sleep(float(spec.params["delay"]))
        status = self._post(delivery, timestamp, signature)
        self.stats["attempts"] += 1
        if 200 <= status < 300:
            delivery.sent.append((timestamp, signature))
            self.stats["delivered"] += 1
            self._after_ack(delivery)
            return
        attempts = int(self.faults.knobs.get("webhook_attempts", 8))
        if delivery.attempts >= attempts:
            self.stats["gave_up"] += 1
            return
        base = float(self.faults.knobs.get("webhook_retry_base", 0.5))
        delivery.due = self.clock() + min(base * 2 ** (delivery.attempts - 1), 60.0)
        with self._cond:
            self._queue.append(delivery)
            self._cond.notify_all()

    def _after_ack(self, delivery: Delivery) -> None:
        """The duplicate, replay and stale faults act on acknowledged deliveries."""
        if self.faults.fire("webhook_duplicate", DELIVERY_PATH):
            self.count_fault("webhook_duplicate")
            self.stats["duplicates_sent"] += 1
            copy = Delivery(delivery.subscription, delivery.event_id, delivery.body,
                            attempts=1, due=self.clock(),
                            last_timestamp=delivery.last_timestamp)
            self._attempt(copy)
        if self.faults.fire("webhook_replay", DELIVERY_PATH):
            self.count_fault("webhook_replay")
            timestamp, signature = delivery.sent[-1]
            self.stats["replays_sent"] += 1
            self._post(delivery, timestamp, signature)
        if spec := self.faults.fire("webhook_stale", DELIVERY_PATH):
            self.count_fault("webhook_stale")
            timestamp = int(self.clock()) - int(spec.params["age"])
            signature = sign(delivery.subscription.secret.encode(), timestamp, delivery.body)
            self.stats["stale_sent"] += 1
            self._post(delivery, timestamp, signature)

    def _post(self, delivery: Delivery, timestamp: int, signature: str) -> int:
        request = urllib.request.Request(  # noqa: S310 (http(s) checked at subscription)
            delivery.subscription.callback_url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "hoip-webhooks/1.0",
                "X-HOIP-Event-Id": delivery.event_id,
                "X-HOIP-Timestamp": str(timestamp),
                "X-HOIP-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        except (OSError, ValueError):
            status = 0  # refused, reset, timed out: no answer
        self.answers[str(status)] += 1
        return status
