"""A fourth portal is one registered spec: SciPort (``tests/new_portal/``: spec, connector of two
declarative streams, mapping, tiny simulator) runs end to end -- sync over real HTTP, Kafka, the
Great Expectations gate, the warehouse -- with no file outside ``tests/`` naming it.

What the registration alone must give it: settings (``ECOHUB_SCIPORT__*`` and the simulator's
dev key), the connector and mapping lookups, the simulator (port, sizes), entity topics, the
schemas' portal enums and key patterns, the quality suites' portal value sets, its
``stg_sciport`` table, source rank, the CLI's choices and its sync DAG.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from ecohub.portals import PortalSpec, register_portal, unregister_portal
from ecohub.warehouse.tables import staging_tables
from tests.fixtures.kafka_topics import delete_marked_topics, unique_tag
from tests.new_portal import BROKEN_LAB, REVERSED_PROJECT, SPEC

ROOT = Path(__file__).resolve().parents[1]
# what a deployment reads: no file here may need to know the new portal
OUTSIDE_TESTS = ("ecohub", "connectors", "dags", "schemas", "quality", "simulators", "infra",
                 "docker-compose.yml", ".env.example")


@pytest.fixture
def sciport() -> Iterator[PortalSpec]:
    register_portal(SPEC)
    try:
        yield SPEC
    finally:
        unregister_portal(SPEC.name)
        staging_tables()  # the model forgets stg_sciport again


def _truth(url: str, resource: str) -> dict[str, dict]:
    body = requests.get(f"{url}/_admin/truth/{resource}", timeout=30).text
    return {r["key"]: r for r in map(json.loads, body.splitlines()) if r}


def _change(url: str, resource: str, key: str, op: str) -> None:
    requests.post(f"{url}/_admin/change", json={"resource": resource, "key": key, "op": op},
                  timeout=30).raise_for_status()


def _settings(tmp_path: Path, url: str, tag: str):
    from ecohub.settings import load_settings

    return load_settings({
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/warehouse.db",
        "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"newportal{tag}",
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"newportal-{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1",
        "ECOHUB_SCIPORT__BASE_URL": url,
        "ECOHUB_SCIPORT__PAGE_SIZE": "5",  # several pages per stream
    })


@pytest.mark.integration
def test_a_fourth_portal_runs_end_to_end(tmp_path, sciport):
    import simulators
    from ecohub.db import get_engine
    from ecohub.loader import consume, lag
    from ecohub.pipeline import sync
    from ecohub.warehouse.runs import reconcile
    from ecohub.warehouse.tables import entity_version, quarantine, staging_table

    tag = unique_tag()
    with simulators.start("sciport", scale="small", seed=7, port=0) as server:
        settings = _settings(tmp_path, server.url, tag)
        key = settings.portal("sciport").api_key
        assert key is not None and key.get_secret_value() == "dev-sciport-key"
        first = sync("sciport", settings=settings)
        labs, projects = _truth(server.url, "labs"), _truth(server.url, "projects")
        deleted_lab, updated_project = "LAB_0000007", "PRJ_0000002"
        _change(server.url, "labs", deleted_lab, "delete")
        _change(server.url, "projects", updated_project, "update")
        second = sync("sciport", settings=settings)
    try:
        loaded = consume(settings, idle_timeout_s=3.0)
        total_lag = sum(lag(settings).values())
    finally:
        delete_marked_topics(settings.kafka.bootstrap_servers, mark=tag)

    # sync: every record fetched over HTTP, the nameless lab dead-lettered with its reason
    assert [(r.stream, r.fetched, r.published, r.dead_lettered) for r in first] == [
        ("labs", len(labs), len(labs) - 1, 1), ("projects", len(projects), len(projects), 0)]
    assert first[0].dead_letter_reasons == {"required field 'name' is missing or empty": 1}
    assert first[0].pages == 3 and first[1].pages == 4  # page size 5: 12 and 20 records
    # the incremental run reads the look-back window: at least the two changes, not everything
    assert {r.stream: r.deletes for r in second} == {"labs": 1, "projects": 0}
    assert all(r.fetched < len(labs) + len(projects) for r in second)

    # quality gate: the project ending before it starts is quarantined, naming the expectation
    assert total_lag == 0
    assert loaded.quarantined == 1
    engine = get_engine(settings.warehouse_url)
    with engine.connect() as conn:
        q = conn.execute(select(quarantine.c.entity_key, quarantine.c.failed_expectations)).one()
        rows = conn.execute(
            select(entity_version).where(entity_version.c.portal == "sciport")
        ).mappings().all()
        staged = conn.execute(select(staging_table("sciport").c.entity_key)).scalars().all()
    reversed_key = f"sciport:research_project:PRJ_{REVERSED_PROJECT:07d}"
    assert q.entity_key == reversed_key
    assert "research_project.dates.ordered" in json.dumps(q.failed_expectations)

    # warehouse: SCD2 history, current rows, contents
    current = {r["entity_key"]: r for r in rows if r["is_current"]}
    lab_keys = {f"sciport:organization:{k}" for k in labs} - {
        f"sciport:organization:LAB_{BROKEN_LAB:07d}"}
    project_keys = {f"sciport:research_project:{k}" for k in projects} - {reversed_key}
    assert set(current) == lab_keys | project_keys
    assert set(staged) == set(current)
    assert current[f"sciport:organization:{deleted_lab}"]["is_deleted"] is True
    assert sum(not r["is_deleted"] for r in current.values()) == len(current) - 1
    history = [r for r in rows if r["entity_key"] == f"sciport:research_project:{updated_project}"]
    assert len(history) == 2 and sum(r["is_current"] for r in history) == 1
    project = current[f"sciport:research_project:{updated_project}"]["data"]
    assert project["title"] == "Nghiên cứu vật liệu nano, đợt 2 (bản 2)"
    assert project["budget"]["amount_vnd"] == 3_000_000_000
    assert project["host_organization"] == {"key": "sciport:organization:LAB_0000002",
                                            "name": "Phòng thí nghiệm Vật liệu số 2"}
    assert [f["code"] for f in project["fields"]] == ["101"]
    assert project["status"] == "in_progress"
    lab = current["sciport:organization:LAB_0000004"]["data"]
    assert (lab["name"], lab["org_kind"], lab["portal"]) == (
        "Phòng thí nghiệm Vật liệu số 4", "laboratory", "sciport")

    # reconciliation: both runs balance (fetched = published + dead-lettered, events =
    # loaded + quarantined)
    for report in (*first, *second):
        balance = reconcile(engine, report.run_id, consumer_lag=total_lag)
        assert balance.balanced and balance.complete, balance


def test_the_registration_reaches_connector_simulators_rank_and_cli(sciport, capsys):
    import simulators
    from connectors import get_connector
    from ecohub import cli
    from ecohub.catalog import portal_entities
    from ecohub.resolve import portal_rank
    from ecohub.settings import env_names, load_settings

    assert type(get_connector("sciport", load_settings({}))).__name__ == "SciportConnector"
    assert simulators.portals()[-1] == "sciport" and simulators.default_port("sciport") == 59104
    assert portal_entities()["sciport"] == ("organization", "research_project")
    assert portal_rank("sciport") > portal_rank("hoip")
    assert "ECOHUB_SCIPORT__API_KEY" in env_names()
    with pytest.raises(SystemExit):
        cli.main(["sync", "nowhere"])
    assert "(choose from 'stinet', 'techport', 'hoip', 'sciport')" in capsys.readouterr().err


def test_the_registration_reaches_the_dags(sciport, tmp_path, monkeypatch):
    # no capsys here: importing Airflow binds its log handlers to the current stderr
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(ROOT / "dags"))
    assert dagbag.import_errors == {}
    outlets = dagbag.dags["ecohub_sync_sciport"].get_task("sync_stream").outlets
    assert sorted(a.name for a in outlets) == [
        "ecohub.organization.v1", "ecohub.research_project.v1"]
    reconcile_tasks = {t.task_id for t in dagbag.dags["ecohub_reconcile_deletes"].tasks}
    assert "reconcile_sciport" in reconcile_tasks
    assert dagbag.dags["ecohub_replay"].params.get_param("portal").schema["enum"][-1] == "sciport"


def test_a_deployment_registers_it_through_the_environment(tmp_path):
    """Every process of a deployment (CLI, DAG processor, workers) registers the specs named by
    ECOHUB_PORTAL_SPECS when it imports the hub."""
    env = {**os.environ, "ECOHUB_PORTAL_SPECS": "tests.new_portal:SPEC",
           "PYTHONPATH": str(ROOT), "ECOHUB_VAR_DIR": str(tmp_path)}
    out = subprocess.run([str(Path(sys.executable).with_name("ecohub")), "sync", "nowhere"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 2
    assert "(choose from 'stinet', 'techport', 'hoip', 'sciport')" in out.stderr


def test_nothing_outside_tests_names_the_new_portal():
    found = subprocess.run(
        ["git", "grep", "-il", "sciport", "--", *OUTSIDE_TESTS],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert found.returncode == 1 and found.stdout == "", found.stdout  # 1: no match
