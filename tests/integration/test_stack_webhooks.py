"""The H.OIP push receiver as a service of the local stack (``make up`` starts it): started,
found ready through its health endpoint, and stopped, on a private stack beside the shared one
(its own root and port), so the shared stack is never touched."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from infra import stack as services
from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_up_starts_the_receiver_and_down_stops_it(tmp_path, monkeypatch, kafka_bootstrap):
    tag = unique_tag()
    for name, value in {
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
        "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"stk{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1",
        "ECOHUB_LINEAGE__TRANSPORT": "off",
    }.items():
        monkeypatch.setenv(name, value)  # the spawned receiver inherits the caller's settings
    stack = services.Stack(root=tmp_path, webhooks_port=_free_port())
    try:
        [row] = services.up(["webhooks"], stack)
        assert row.ready and row.pid is not None, row
        health_url = f"http://127.0.0.1:{stack.webhooks_port}/healthz"
        with urllib.request.urlopen(health_url, timeout=10) as answer:
            health = json.load(answer)
        assert health["status"] == "ok" and health["accepted"] == 0
        assert services.up(["webhooks"], stack)[0].pid == row.pid  # idempotent
    finally:
        services.down(["webhooks"], stack)
    [after] = services.status(["webhooks"], stack)
    assert (after.pid, after.ready) == (None, False)
    log = (tmp_path / "var" / "log" / "webhooks.out").read_text()
    assert "H.OIP webhook receiver on" in log
