"""Helpers of the tests that run connectors against the portal simulators.

Ground truth comes from the simulators' admin paths (outside the portal contracts); the
connectors under test only ever see the contract endpoints.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from connectors import get_connector
from connectors.harness import Sink, SinkRow
from connectors.toolkit.connector import Connector
from connectors.toolkit.incremental import from_utc_text, to_utc_text
from ecohub.settings import LandingSettings, Settings, load_settings

# Faults the acceptance criteria name, plus truncated bodies; counts keep the runs short
# and deterministic, rates make them hit anywhere.
FAULTS: dict[str, Any] = {
    "rate_limit_burst": {"rate": 0.04, "retry_after": 1},
    "server_error": {"rate": 0.04},
    "truncated": {"rate": 0.02},
    "repeated_page": {"count": 2},
    "head_insert": {"count": 2},
    "expired_token": {"count": 2},
}


def faults_for(portal: str, **changes: Any) -> dict[str, Any]:
    """The fault set of one portal. On H.OIP ``expired_token`` revokes the bearer token: two
    hits in a row would reject a freshly issued token (which means bad credentials), so its
    hits are spread out instead."""
    faults = {**FAULTS, **changes}
    if portal == "hoip":
        faults["expired_token"] = {"rate": 0.05}
    return faults


SECRETS = {"techport": "dev-techport-key", "hoip": "dev-hoip-secret"}


@dataclass(frozen=True)
class Truth:
    key: str
    version: int
    updated: str
    deleted: bool


def settings_for(sims: dict[str, Any], landing_dir: Path, **portal_overrides: Any) -> Settings:
    """The embedded defaults, pointed at the simulators and a test landing directory."""
    base = load_settings({})
    portals = dict(base.portals)
    for name, sim in sims.items():
        values = {
            "base_url": sim.url,
            "rate_limit": 200.0,
            "backoff_base": 0.05,
            "backoff_max": 2.0,
            **portal_overrides,
        }
        portals[name] = portals[name].model_copy(update=values)
    return base.model_copy(
        update={
            "portals": portals,
            "landing": LandingSettings(url=f"file://{landing_dir}"),
        }
    )


def resource_of(connector: Connector, stream: str) -> str:
    """The simulator's name for the resource behind a stream."""
    spec = connector.stream(stream)
    if "resource" in spec.options:
        return str(spec.options["resource"])
    if spec.options.get("protocol") == "oai-pmh":
        return "documents"
    return spec.path.rstrip("/").rsplit("/", 1)[-1]


def truth(sim: Any, resource: str) -> dict[str, Truth]:
    answer = requests.get(f"{sim.url}/_admin/truth/{resource}", timeout=60)
    answer.raise_for_status()
    rows = (json.loads(line) for line in answer.text.splitlines() if line.strip())
    return {r["key"]: Truth(r["key"], r["version"], r["updated"], r["deleted"]) for r in rows}


def set_faults(sim: Any, faults: dict[str, Any]) -> None:
    requests.post(f"{sim.url}/_admin/faults", json=faults, timeout=10).raise_for_status()


def fired(sim: Any) -> dict[str, int]:
    stats = requests.get(f"{sim.url}/_admin/stats", timeout=10).json()
    return dict(stats["faults_fired"])


def advance(sim: Any, steps: int = 1) -> dict[str, Any]:
    answer = requests.post(f"{sim.url}/_admin/advance", json={"steps": steps}, timeout=120)
    answer.raise_for_status()
    return dict(answer.json())


def mismatches(rows: dict[str, SinkRow], expected: dict[str, Truth], versioned: bool) -> list[str]:
    """Every way the sink differs from the ground truth (empty when they agree exactly)."""
    problems = []
    live = {k: t for k, t in expected.items() if not t.deleted}
    published_live = {k: r for k, r in rows.items() if not r.deleted}
    problems += [f"missing {k}" for k in sorted(set(live) - set(published_live))]
    problems += [f"should be gone {k}" for k in sorted(set(published_live) - set(live))]
    for key in sorted(set(live) & set(published_live)):
        row, want = published_live[key], live[key]
        if row.cursor != want.updated:
            problems.append(f"{key}: cursor {row.cursor} != {want.updated}")
        if versioned and row.version != str(want.version):
            problems.append(f"{key}: version {row.version} != {want.version}")
    problems += [f"unknown key {k}" for k in sorted(set(rows) - set(expected))]
    return problems


def is_versioned(connector: Connector, stream: str) -> bool:
    """OAI documents carry no version field: their datestamp is their version."""
    return connector.stream(stream).options.get("protocol") != "oai-pmh"


def window_pages(
    connector: Connector,
    stream: str,
    state: dict[str, Any],
    expected: dict[str, Truth],
    page_size: int,
) -> tuple[str, int]:
    """(start of the look-back window, listing pages a no-change run needs to read it)."""
    since = from_utc_text(state["cursor"]) - timedelta(seconds=connector.settings.lookback_seconds)
    floor = to_utc_text(since)
    spec = connector.stream(stream)
    inside = [t for t in expected.values() if not t.deleted or spec.deletes == "inline"]
    count = sum(1 for t in inside if to_utc_text(connector.parse_cursor(spec, t.updated)) >= floor)
    return floor, max(1, math.ceil(count / page_size))


def sink_rows(engine: Any, portal: str, stream: str) -> dict[str, SinkRow]:
    return Sink(engine).rows(portal, stream)


def connector_for(portal: str, settings: Settings) -> Connector:
    return get_connector(portal, settings)


__all__ = [
    "FAULTS",
    "SECRETS",
    "SecretStr",
    "Truth",
    "advance",
    "connector_for",
    "fired",
    "is_versioned",
    "mismatches",
    "resource_of",
    "set_faults",
    "settings_for",
    "sink_rows",
    "truth",
    "window_pages",
]
