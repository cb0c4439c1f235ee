"""Deletes travel the whole way: after a change step on the simulators, an incremental sync
(with key-set reconciliation for Techport, tombstones for H.OIP) closes exactly the deleted
entities' current versions in the warehouse, and every run still balances."""

from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import text

from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration

CASES = [
    # portal, stream, its resource on the simulator's truth path, entity type of its records
    ("techport", "technologies", "cong-nghe", "technology_offer"),
    ("hoip", "startup_projects", "startup-projects", "startup_project"),
]


def _truth(url: str, resource: str) -> dict[str, dict]:
    body = requests.get(f"{url}/_admin/truth/{resource}", timeout=60).text
    return {str(r["key"]): r for r in map(json.loads, body.splitlines()) if r}


def _settings(tmp_path, portal, url):
    from ecohub.settings import load_settings

    tag = unique_tag()
    return load_settings(
        {
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
            "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
            "ECOHUB_KAFKA__TOPIC_PREFIX": f"del{tag}",
            "ECOHUB_KAFKA__CONSUMER_GROUP": f"del-{tag}",
            "ECOHUB_KAFKA__PARTITIONS": "1",
            f"ECOHUB_{portal.upper()}__BASE_URL": url,
        }
    )


@pytest.mark.parametrize(("portal", "stream", "resource", "entity_type"), CASES)
def test_deletes_close_current_versions(tmp_path, portal, stream, resource, entity_type):
    import simulators
    from ecohub.db import get_engine
    from ecohub.loader import consume, lag
    from ecohub.pipeline import sync
    from ecohub.warehouse.runs import reconcile

    with simulators.start(portal, scale="small", seed=11, port=0) as server:
        settings = _settings(tmp_path, portal, server.url)
        first = sync(portal, [stream], settings=settings)
        requests.post(
            f"{server.url}/_admin/advance", json={"steps": 3}, timeout=60
        ).raise_for_status()
        second = sync(portal, [stream], settings=settings, reconcile_deletes=True)
        truth = _truth(server.url, resource)
    consume(settings, idle_timeout_s=1.0)
    engine = get_engine(settings.warehouse_url)
    total_lag = sum(lag(settings).values())
    for report in (*first, *second):
        assert reconcile(engine, report.run_id, consumer_lag=total_lag).balanced

    deleted_truth = {k for k, r in truth.items() if r.get("deleted")}
    assert deleted_truth, "the change step must delete something for this test to mean anything"
    assert second[0].deletes >= 1, "the incremental sync after the change step saw no delete"
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select source_id, is_deleted from entity_version "
                "where is_current and entity_type = :t and portal = :p"
            ),
            {"t": entity_type, "p": portal},
        ).all()
    current = {str(sid): bool(d) for sid, d in rows}
    live_truth = {k for k, r in truth.items() if not r.get("deleted") and not r.get("defect")}
    deleted_in_wh = {k for k, d in current.items() if d}
    # every key the portal deleted is closed in the warehouse; nothing live is closed
    known_deleted = {k for k in deleted_truth if k in current}
    assert known_deleted, (deleted_truth, sorted(current)[:5])
    assert known_deleted <= deleted_in_wh
    assert not (deleted_in_wh & live_truth)
