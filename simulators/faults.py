"""Run-time switchable fault injection, the same on all three portals.

Why: connectors must survive what real portals do on bad days. Faults are configured with
``POST /_admin/faults`` (or ``start(..., faults=...)``) as a JSON object; each entry names a
fault and when it fires:

``{"rate": 0.1}``      on each eligible request with this probability (seeded: same sequence of
                       requests, same firings), or
``{"count": 3}``       on the next 3 eligible requests (the default is ``count: 1``);
``"after": N``         lets the first N eligible requests through first (e.g. to hit page 5);
``"paths": [...]``     restricts the fault to path prefixes.

Faults and their own parameters:

=================== =========================================================================
rate_limit_burst    answer 429 with ``Retry-After`` (``retry_after`` s, default 1;
                    ``retry_after_format``: ``seconds`` or ``http-date``)
server_error        answer ``status`` (default 503; 500/502/504 allowed)
slow                wait ``delay`` seconds (default 0.5) before answering
timeout             wait ``delay`` seconds (default 35, longer than client timeouts) first
truncated           cut the body: ``mode`` ``body`` (default; shorter valid HTTP body, broken
                    JSON/XML) or ``connection`` (announced length, connection closed early)
repeated_page       answer a paging request with the previous page of the same listing again
head_insert         before answering a paging request, create ``records`` (default 1) new
                    records that sort at the head of the listing being paged (a late arrival)
expired_token       Stinet: the presented resumptionToken is treated as expired
                    (``badResumptionToken``); H.OIP: the bearer token is revoked (401);
                    Techport: never eligible
oversized           answer a ``bytes``-long (default 64 MiB) valid-looking body
webhook_*           H.OIP push deliveries: ``duplicate``, ``out_of_order`` (``delay``),
                    ``late`` (``delay``), ``bad_signature``, ``replay``, ``stale`` (``age``);
                    see :mod:`simulators.webhooks`
=================== =========================================================================

Knobs (same JSON object, not faults): ``rate_limit`` ``{"per_second": 25, "burst": 50}``
(Techport), ``token_ttl`` seconds (H.OIP access tokens), ``resumption_ttl`` seconds (Stinet),
``webhook_attempts`` and ``webhook_retry_base`` seconds (H.OIP deliveries: attempts per
delivery, first back-off, doubled each retry).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from simulators.rand import rng

__all__ = ["FAULTS", "KNOBS", "FaultInjector", "FaultSpec"]

FAULTS: dict[str, dict[str, Any]] = {
    "rate_limit_burst": {"retry_after": 1, "retry_after_format": "seconds"},
    "server_error": {"status": 503},
    "slow": {"delay": 0.5},
    "timeout": {"delay": 35.0},
    "truncated": {"mode": "body"},
    "repeated_page": {},
    "head_insert": {"records": 1},
    "expired_token": {},
    "oversized": {"bytes": 64 * 1024 * 1024},
    # H.OIP push interface (simulators/webhooks.py); they match the path "/webhooks"
    "webhook_duplicate": {},
    "webhook_out_of_order": {"delay": 1.0},
    "webhook_late": {"delay": 2.0},
    "webhook_bad_signature": {},
    "webhook_replay": {},
    "webhook_stale": {"age": 3600},
}
KNOBS: dict[str, Any] = {
    "rate_limit": {"per_second": 25.0, "burst": 50},
    "token_ttl": 3600,
    "resumption_ttl": 600,
    "webhook_attempts": 8,
    "webhook_retry_base": 0.5,
}
_COMMON = {"rate", "count", "after", "paths"}


@dataclass
class FaultSpec:
    """One configured fault and its firing history."""

    name: str
    rate: float | None
    count: int | None
    after: int
    paths: tuple[str, ...]
    params: dict[str, Any]
    seed: int
    seen: int = 0
    fired: int = 0
    _rng: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._rng = rng(self.seed, "fault", self.name)

    def decide(self, path: str) -> bool:
        if self.paths and not path.startswith(self.paths):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.count is not None:
            hit = self.fired < self.count
        else:
            hit = self._rng.random() < (self.rate or 0.0)
        if hit:
            self.fired += 1
        return hit

    def describe(self) -> dict[str, Any]:
        when = {"count": self.count} if self.count is not None else {"rate": self.rate}
        return {
            **when,
            "after": self.after,
            "paths": list(self.paths),
            **self.params,
            "seen": self.seen,
            "fired": self.fired,
        }


def _number(name: str, key: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ValueError(f"{name}.{key} must be a number between {lo} and {hi}, got {value!r}")
    return float(value)


def _parse(name: str, raw: Any, seed: int) -> FaultSpec:
    if not isinstance(raw, dict):
        raise ValueError(f"fault {name!r} must be an object, got {type(raw).__name__}")
    allowed = _COMMON | set(FAULTS[name])
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(f"fault {name!r}: unknown key(s) {unknown}; valid: {sorted(allowed)}")
    if "rate" in raw and "count" in raw:
        raise ValueError(f"fault {name!r}: give either rate or count, not both")
    rate = _number(name, "rate", raw["rate"], 0, 1) if "rate" in raw else None
    count = int(_number(name, "count", raw.get("count", 1), 0, 1e9)) if rate is None else None
    paths = raw.get("paths", [])
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and p.startswith("/") for p in paths
    ):
        raise ValueError(f"fault {name!r}: paths must be a list of path prefixes starting with '/'")
    params = {**FAULTS[name], **{k: v for k, v in raw.items() if k in FAULTS[name]}}
    if name == "server_error" and params["status"] not in (500, 502, 503, 504):
        raise ValueError("server_error.status must be one of 500, 502, 503, 504")
    if name == "truncated" and params["mode"] not in ("body", "connection"):
        raise ValueError("truncated.mode must be 'body' or 'connection'")
    if name == "rate_limit_burst" and params["retry_after_format"] not in ("seconds", "http-date"):
        raise ValueError("rate_limit_burst.retry_after_format must be 'seconds' or 'http-date'")
    for key in ("delay", "retry_after", "bytes", "records", "age"):
        if key in params:
            _number(name, key, params[key], 0, 1e10)
    after = int(_number(name, "after", raw.get("after", 0), 0, 1e9))
    return FaultSpec(name, rate, count, after, tuple(paths), params, seed)


class FaultInjector:
    """The active faults and knobs of one simulator; thread-safe."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self.specs: dict[str, FaultSpec] = {}
        self.knobs: dict[str, Any] = {
            k: (dict(v) if isinstance(v, dict) else v) for k, v in KNOBS.items()
        }

    def configure(self, config: dict[str, Any]) -> None:
        """Replace the active faults (an empty object clears them); knobs are merged.

        Raises ``ValueError`` naming the bad entry and the valid names; nothing changes then.
        """
        if not isinstance(config, dict):
            raise ValueError("fault configuration must be a JSON object")
        unknown = sorted(set(config) - set(FAULTS) - set(KNOBS))
        if unknown:
            raise ValueError(
                f"unknown fault(s) {unknown}; valid faults: {sorted(FAULTS)}; "
                f"knobs: {sorted(KNOBS)}"
            )
        specs = {n: _parse(n, v, self.seed) for n, v in config.items() if n in FAULTS}
        knobs = dict(self.knobs)
        if "rate_limit" in config:
            raw = config["rate_limit"]
            if not isinstance(raw, dict) or set(raw) - {"per_second", "burst"}:
                raise ValueError("rate_limit must be {'per_second': float, 'burst': int}")
            knobs["rate_limit"] = {
                "per_second": _number(
                    "rate_limit", "per_second", raw.get("per_second", 25.0), 0.01, 1e6
                ),
                "burst": int(_number("rate_limit", "burst", raw.get("burst", 50), 1, 1e6)),
            }
        for key in ("token_ttl", "resumption_ttl", "webhook_retry_base"):
            if key in config:
                knobs[key] = _number(key, "value", config[key], 0.1, 1e8)
        if "webhook_attempts" in config:
            knobs["webhook_attempts"] = int(
                _number("webhook_attempts", "value", config["webhook_attempts"], 1, 100)
            )
        with self._lock:
            self.specs = specs
            self.knobs = knobs

    def fire(self, name: str, path: str) -> FaultSpec | None:
        """Whether fault ``name`` fires on this eligible request (counts it as seen)."""
        with self._lock:
            spec = self.specs.get(name)
            return spec if spec is not None and spec.decide(path) else None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "faults": {n: s.describe() for n, s in self.specs.items()},
                "knobs": dict(self.knobs),
            }
