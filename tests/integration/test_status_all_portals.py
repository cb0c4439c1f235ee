"""`ecohub status` after every portal has synced and loaded: one row per (portal, stream), each
balanced, consumer lag 0 — and `ecohub report` then shows the same run counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration
ECOHUB = str(Path(sys.executable).with_name("ecohub"))
PORTALS = ("stinet", "techport", "hoip")


def test_status_shows_every_portal_balanced(tmp_path):
    import simulators

    tag = unique_tag()
    servers = simulators.start_all(scale="small", seed=5, ports={p: 0 for p in PORTALS})
    env = {
        **os.environ,
        "ECOHUB_VAR_DIR": str(tmp_path / "var"),
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/warehouse.db",
        "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"st{tag}",
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"st-{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1",
        **{f"ECOHUB_{p.upper()}__BASE_URL": s.url for p, s in servers.items()},
    }

    def ecohub(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([ECOHUB, *args], env=env, capture_output=True, text=True, timeout=900)

    try:
        synced = {}
        for portal in PORTALS:
            out = ecohub("sync", portal)
            assert out.returncode == 0, out.stderr[-3000:]
            synced[portal] = [json.loads(line) for line in out.stdout.splitlines() if line]
    finally:
        for server in servers.values():
            server.stop()
    assert ecohub("consume", "--idle-timeout", "1").returncode == 0
    out = ecohub("status", "--json")
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    status = json.loads(out.stdout)
    assert status["consumer_lag"] == 0
    rows = {(r["portal"], r["stream"]): r for r in status["runs"]}
    expected = {(p, r["stream"]) for p, reports in synced.items() for r in reports}
    assert set(rows) == expected
    assert {r["status"] for r in rows.values()} == {"balanced"}
    for portal, reports in synced.items():
        for report in reports:
            row = rows[(portal, report["stream"])]
            assert (row["fetched"], row["published"], row["dead_lettered"]) == (
                report["fetched"],
                report["published"],
                report["dead_lettered"],
            )
            assert row["fetched"] == row["published"] + row["dead_lettered"]
    text = ecohub("status")
    for portal in PORTALS:
        assert portal in text.stdout
