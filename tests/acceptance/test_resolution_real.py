"""Issue 6 acceptance at the simulators' real scale: entity resolution of organizations and
experts across the three portals, through the whole pipeline (sync -> Kafka -> Great
Expectations -> warehouse), scores precision and recall >= 0.95 against ground truth.

Run with `make acceptance` (services up, ECOHUB_ACCEPTANCE=1); about two minutes."""

from __future__ import annotations

import json
import os
import uuid

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.environ.get("ECOHUB_ACCEPTANCE") != "1", reason="make acceptance only"),
]

STREAMS = {
    "stinet": ["organizations", "experts"],
    "techport": ["suppliers", "consultants"],
    "hoip": ["organizations"],
}


def test_entity_resolution_precision_and_recall_on_real_scale(tmp_path):
    import simulators
    from ecohub import resolve as er
    from ecohub.db import get_engine
    from ecohub.kafka import ensure_topics
    from ecohub.loader import consume, lag
    from ecohub.pipeline import new_run_id, sync_stream
    from ecohub.settings import load_settings
    from ecohub.warehouse.runs import reconcile

    servers = simulators.start_all(scale="real", seed=42, ports={p: 0 for p in simulators.PORTALS})
    try:
        prefix = f"er{uuid.uuid4().hex[:6]}"
        env = {
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/er.db",
            "ECOHUB_KAFKA__TOPIC_PREFIX": prefix,
            "ECOHUB_KAFKA__CONSUMER_GROUP": f"{prefix}-loader",
            "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
            **{f"ECOHUB_{p.upper()}__BASE_URL": s.url for p, s in servers.items()},
        }
        settings = load_settings(env)
        ensure_topics(settings)
        runs = []
        for portal, streams in STREAMS.items():
            run_id = new_run_id(portal)
            runs.append(run_id)
            for stream in streams:
                sync_stream(portal, stream, run_id=run_id, settings=settings)
        consume(settings, idle_timeout_s=5)
        engine = get_engine(settings.warehouse_url)
        total_lag = sum(lag(settings).values())
        assert total_lag == 0
        for run_id in runs:
            assert reconcile(engine, run_id, consumer_lag=total_lag).balanced
        er.resolve(engine)
        scores = er.score_against_truth(engine, er.fetch_truth([s.url for s in servers.values()]))
    finally:
        for s in servers.values():
            s.stop()
    print(json.dumps(scores, indent=2))
    for kind in ("organization", "person"):
        assert scores[kind]["precision"] >= 0.95, scores
        assert scores[kind]["recall"] >= 0.95, scores
