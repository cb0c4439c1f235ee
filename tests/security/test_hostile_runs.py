"""Whole stream reads against a hostile portal: endless listings, slow trickles, element floods.

A portal that never ends a listing (fresh resumption tokens forever) or trickles pages slowly
must fail the run with :class:`RunLimitError` at the stream's ``max_pages`` or
``max_run_seconds``, and the stream's cursor must not move (every batch carries in-progress
state only).
"""

from __future__ import annotations

import itertools
import time

import pytest
from hostile import Out, Req
from hostile_kit import make_client, rejected
from pydantic import SecretStr

from connectors.stinet import StinetConnector
from connectors.toolkit.http import Request
from connectors.toolkit.safety import parse_json
from ecohub.errors import PortalContractError, RunLimitError, UnsafeRedirectError
from ecohub.landing import Landing
from ecohub.settings import LandingSettings, PortalSettings

OAI_NS = "http://www.openarchives.org/OAI/2.0/"


def _oai(records: str, token: str | None) -> bytes:
    resumption = f"<resumptionToken>{token}</resumptionToken>" if token else ""
    return (
        f'<?xml version="1.0"?><OAI-PMH xmlns="{OAI_NS}"><ListRecords>{records}{resumption}'
        "</ListRecords></OAI-PMH>"
    ).encode()


def _endless(delay: float = 0.0):
    counter = itertools.count()

    def serve(req: Req, out: Out) -> None:
        if delay:
            out.stop.wait(delay)
        out.reply(200, _oai("", f"fresh-{next(counter)}-{time.monotonic_ns()}"),
                  {"Content-Type": "text/xml"})

    return serve


def _connector(portal, **overrides) -> StinetConnector:
    values = dict(base_url=portal.url, rate_limit=1000.0, backoff_base=0.0, timeout=2.0,
                  max_retries=0)
    return StinetConnector(PortalSettings(**(values | overrides)), sleep=lambda s: None)


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing.from_settings(LandingSettings(url=f"file://{tmp_path}/landing"))


def _read(connector, landing, batches: list) -> None:
    for batch in connector.read("documents", state=None, run_id="stinet-run-1", landing=landing):
        batches.append(batch)


def test_endless_fresh_resumption_tokens_stop_at_max_pages(portal, attacker, landing):
    portal.routes["/oai"] = _endless()
    batches: list = []
    outcome = rejected(lambda: _read(_connector(portal, max_pages=25), landing, batches),
                       RunLimitError)
    assert "max_pages" in outcome.error.message
    assert len(portal.seen) == 25
    assert len(batches) == 25
    assert all(b.state["cursor"] is None and b.state["progress"] for b in batches)


def test_a_slow_endless_listing_stops_at_max_run_seconds(portal, attacker, landing):
    portal.routes["/oai"] = _endless(delay=0.1)
    batches: list = []
    outcome = rejected(
        lambda: _read(_connector(portal, max_run_seconds=1.0), landing, batches), RunLimitError
    )
    assert "max_run_seconds" in outcome.error.message
    assert 3 <= len(portal.seen) <= 11
    assert all(b.state["cursor"] is None for b in batches)


def test_an_xml_element_flood_is_refused_by_the_configured_budget(portal, attacker, landing):
    record = (
        "<record><header><identifier>oai:x:{i}</identifier>"
        "<datestamp>2026-01-01T00:00:00Z</datestamp></header></record>"
    )
    flood = "".join(record.format(i=i) for i in range(2_000))
    portal.routes["/oai"] = lambda req, out: out.reply(200, _oai(flood, None))
    outcome = rejected(lambda: _read(_connector(portal, xml_max_elements=1_000), landing, []),
                       PortalContractError)
    assert "element budget" in outcome.error.message


def test_a_next_link_to_the_attacker_in_a_listing_stops_the_run(portal, attacker, landing):
    def serve(req: Req, out: Out) -> None:
        body = (
            '{"data": [], "meta": {"page": 1, "total": 0}, '
            f'"links": {{"next": "http://127.0.0.1:{attacker.port}\\\\@127.0.0.1:{portal.port}/x"}}}}'
        )
        out.reply(200, body.encode(), {"Content-Type": "application/json"})

    portal.routes["/api/v1/tasks"] = serve
    connector = _connector(portal, auth="api_key", api_key=SecretStr("canary-techport-key-7Qx9"))
    rejected(
        lambda: list(connector.read("tasks", state=None, run_id="r", landing=landing)),
        UnsafeRedirectError,
    )
    assert [r.path for r in portal.seen] == ["/api/v1/tasks"]


def test_the_client_alone_reaches_the_portal(portal, attacker):
    """Control case: the same client and portal do talk when nothing is hostile."""
    portal.routes["/ok"] = lambda req, out: out.reply(200, b"{}")
    client = make_client(portal)
    _, parsed = client.http.get(Request("/ok"), parse=parse_json)
    assert parsed == {}
