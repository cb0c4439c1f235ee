"""Airflow end to end over the real services: Techport simulator -> sync DAG -> Kafka ->
load DAG (scheduled on the entity-topic Assets) -> warehouse, under a real scheduler and
dag-processor; and ``airflow dags test`` of the Techport DAG (the foundation's acceptance)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from infra.stack import S3_ENDPOINT_URL
from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# the stack's keys are picked up by the settings from its credentials file
S3 = {"ECOHUB_LANDING__S3_ENDPOINT_URL": S3_ENDPOINT_URL}


@pytest.fixture
def techport():
    import simulators

    with simulators.start("techport", scale="small", seed=7, port=0) as server:
        yield server


def _ecohub_env(tmp_path: Path, techport_url: str) -> dict[str, str]:
    tag = unique_tag()
    return {
        **S3,
        "ECOHUB_TECHPORT__BASE_URL": techport_url,
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/warehouse.db",
        "ECOHUB_LANDING__URL": f"s3://ecohub-landing/e2e-{tag}",
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"e2e{tag}",
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"e2e-{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1",
        "ECOHUB_TECHPORT__SCHEDULE": "",
    }


def _warehouse_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("select portal, count(*) from entity_version where is_current group by portal")
        ).all()
        runs = conn.execute(text("select status, count(*) from runs group by status")).all()
    engine.dispose()
    return {**{f"current:{p}": n for p, n in rows}, **{f"runs:{s}": n for s, n in runs}}


def test_airflow_dags_test_runs_techport_sync_green(tmp_path, techport):
    env = {**os.environ, **_ecohub_env(tmp_path, techport.url)}
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run(
        [airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
    )
    out = subprocess.run(
        [airflow, "dags", "test", "ecohub_sync_techport"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = (out.stdout + out.stderr)[-4000:]
    assert out.returncode == 0, tail
    assert "success" in tail.lower()
    engine = create_engine(env["ECOHUB_WAREHOUSE_URL"])
    with engine.connect() as conn:
        fetched, published, dead = conn.execute(
            text("select sum(fetched), sum(published), sum(dead_lettered) from run_extracts")
        ).one()
    assert fetched > 0 and fetched == published + dead


def test_real_scheduler_runs_sync_then_load_on_assets(tmp_path, techport):
    from infra.airflow_local import LocalAirflow

    env = _ecohub_env(tmp_path, techport.url)
    # only the two DAGs under test run: the other portals' hourly syncs and the daily DAGs
    # would run too (against portals that are not there), taking the slots and the cores
    dags = ["ecohub_sync_techport", "ecohub_load"]
    af = LocalAirflow(tmp_path / "airflow", api_port=8788, extra_env=env, only_dags=dags)
    af.start()
    try:
        af.wait_for_dags(dags)
        run_id = af.trigger("ecohub_sync_techport")
        run = af.wait_for_run("ecohub_sync_techport", run_id or None, timeout=900)
        assert run["state"] == "success", (tmp_path / "airflow").as_posix()
        load = af.wait_for_run("ecohub_load", None, timeout=600)
        assert load["state"] == "success"
    finally:
        af.stop()
    counts = _warehouse_counts(env["ECOHUB_WAREHOUSE_URL"])
    assert counts.get("current:techport", 0) > 0, counts
    assert counts.get("runs:unbalanced", 0) == 0 and counts.get("runs:balanced", 0) >= 1, counts
