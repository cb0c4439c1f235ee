"""The three connectors against their simulators with faults on: full sync, a change step,
an incremental sync, then a run without changes. The result must be exactly the ground truth.

Small scale (part of ``make test``); the real-scale run is tests/acceptance/test_connectors_real.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).parents[1] / "connectors"))

from simkit import (
    advance,
    faults_for,
    fired,
    is_versioned,
    mismatches,
    resource_of,
    set_faults,
    settings_for,
    sink_rows,
    truth,
    window_pages,
)

import simulators
from connectors import KeyStore, StateStore, get_connector
from connectors.harness import Sink, sync
from ecohub.landing import Landing

pytestmark = pytest.mark.integration
PAGE_SIZE = 50
OAI_PAGE = 100  # fixed by Stinet's OAI-PMH endpoint
EXPECTED_FAULTS = {
    "stinet": {"rate_limit_burst", "server_error", "repeated_page", "head_insert", "expired_token"},
    "techport": {"rate_limit_burst", "server_error", "repeated_page", "head_insert"},
    "hoip": {"rate_limit_burst", "server_error", "repeated_page", "head_insert", "expired_token"},
}


def stats_by_path(sim) -> dict[str, int]:
    import requests

    return dict(requests.get(f"{sim.url}/_admin/stats", timeout=10).json()["by_path"])


@pytest.mark.parametrize("portal", ["stinet", "techport", "hoip"])
def test_sync_under_faults_matches_the_ground_truth(portal, tmp_path):
    with simulators.start(portal, scale="small", seed=11, port=0, faults=faults_for(portal)) as sim:
        settings = settings_for({portal: sim}, tmp_path / "landing", page_size=PAGE_SIZE)
        engine = create_engine(f"sqlite:///{tmp_path}/harness.db")
        landing = Landing.from_settings(settings)
        connector = get_connector(portal, settings)
        streams = connector.stream_names

        for stream in streams:
            sync(connector, stream, engine=engine, landing=landing, run_id=f"{portal}-full")
        step = advance(sim, steps=2)
        for stream in streams:
            sync(connector, stream, engine=engine, landing=landing, run_id=f"{portal}-incr")

        # the faults really happened, and the change step really changed things
        assert EXPECTED_FAULTS[portal] <= set(fired(sim)), fired(sim)
        changes = [r for s in step["steps"] for r in s["resources"].values()]
        assert sum(len(c["deleted"]) for c in changes) > 0
        assert sum(len(c["late"]) for c in changes) > 0

        set_faults(sim, {})
        for stream in streams:
            expected = truth(sim, resource_of(connector, stream))
            rows = sink_rows(engine, portal, stream)
            assert mismatches(rows, expected, is_versioned(connector, stream)) == [], stream
            assert Sink(engine).duplicates(portal, stream) == {}, stream
            gone = {k for k, t in expected.items() if t.deleted}
            assert all(rows[k].deleted for k in gone if k in rows), stream
            # key sets are kept (and exact) only where deletes are found by comparing them
            keys = KeyStore(engine).keys(portal, stream)
            reconciled = connector.stream(stream).deletes == "reconcile"
            assert keys == (set(expected) - gone if reconciled else set()), stream
            deleted_by_step = {k for c in changes for k in c["deleted"]} & set(expected)
            assert deleted_by_step <= {k for k, r in rows.items() if r.deleted} | (
                deleted_by_step - set(rows)
            )


@pytest.mark.parametrize("portal", ["stinet", "techport", "hoip"])
def test_a_run_without_changes_re_reads_only_the_lookback_window(portal, tmp_path):
    with simulators.start(portal, scale="small", seed=5, port=0) as sim:
        settings = settings_for({portal: sim}, tmp_path / "landing", page_size=PAGE_SIZE)
        engine = create_engine(f"sqlite:///{tmp_path}/harness.db")
        landing = Landing.from_settings(settings)
        connector = get_connector(portal, settings)
        for stream in connector.stream_names:
            sync(connector, stream, engine=engine, landing=landing, run_id="first")
        advance(sim)
        for stream in connector.stream_names:
            sync(connector, stream, engine=engine, landing=landing, run_id="second")

        states = StateStore(engine)
        for stream in connector.stream_names:
            spec = connector.stream(stream)
            size = OAI_PAGE if spec.options.get("protocol") == "oai-pmh" else PAGE_SIZE
            expected = truth(sim, resource_of(connector, stream))
            state = states.get(portal, stream)
            floor, pages = window_pages(connector, stream, state, expected, size)
            before = stats_by_path(sim)
            report = sync(
                connector, stream, engine=engine, landing=landing, run_id="third", reconcile=False
            )
            after = stats_by_path(sim)
            listing_path = spec.path.rstrip("/")
            assert report.records == 0, stream
            assert after.get(listing_path, 0) - before.get(listing_path, 0) == pages, stream
            manifest = landing.read_manifest(portal, stream, "third")
            assert manifest["summary"]["since"] == floor, stream
            assert states.get(portal, stream)["cursor"] == state["cursor"], stream
