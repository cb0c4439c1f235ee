"""DAG integrity: the DAG folder imports cleanly, fast, without I/O, and each DAG has the
structure, tags and retry policy operators rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORTALS = ("stinet", "techport", "hoip")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    import os

    os.environ["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow_home"))
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags(dagbag):
    expected = {f"ecohub_sync_{p}" for p in PORTALS} | {
        "ecohub_load",
        "ecohub_replay",
        "ecohub_report",
        "ecohub_reconcile_deletes",
    }
    assert set(dagbag.dag_ids) == expected


@pytest.mark.parametrize(
    ("dag_id", "tasks"),
    [
        *[(f"ecohub_sync_{p}", {"ensure_topics", "list_streams", "sync_stream"}) for p in PORTALS],
        ("ecohub_load", {"consume", "reconcile"}),
        ("ecohub_replay", {"replay_stream"}),
        ("ecohub_report", {"write_report"}),
        ("ecohub_reconcile_deletes", {f"reconcile_{p}" for p in PORTALS}),
    ],
)
def test_task_structure(dagbag, dag_id, tasks):
    dag = dagbag.dags[dag_id]
    assert {t.task_id for t in dag.tasks} == tasks
    assert "ecohub" in dag.tags
    for t in dag.tasks:
        assert t.retries >= 1, t.task_id
        assert t.execution_timeout is not None, t.task_id


@pytest.mark.parametrize("portal", PORTALS)
def test_sync_dag_emits_one_asset_per_entity_topic(dagbag, portal):
    from ecohub.catalog import portal_entities, topic_name

    task = dagbag.dags[f"ecohub_sync_{portal}"].get_task("sync_stream")
    names = sorted(a.name for a in task.outlets)
    assert names == sorted(topic_name(e) for e in portal_entities()[portal])
    dag = dagbag.dags[f"ecohub_sync_{portal}"]
    upstream = dag.get_task("list_streams").upstream_task_ids
    assert upstream == {"ensure_topics"}


DAG_FILES = sorted((ROOT / "dags").glob("*.py"))


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_no_engine_at_parse_time(dag_file):
    """Parsing must not pull the engine's heavy modules (GX, kafka, SQLAlchemy, requests)."""
    code = (
        f"import sys, runpy; runpy.run_path({str(dag_file)!r});"
        "heavy = [m for m in ('great_expectations', 'kafka', 'connectors', 'ecohub.pipeline',"
        " 'ecohub.loader', 'boto3', 'pandas') if m in sys.modules];"
        " print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1:] in ([""], []), out.stdout


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_one_concern_per_short_dag_file(dag_file):
    text = dag_file.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 80, dag_file.name
    assert "os.environ" not in text and "getenv" not in text, "DAGs read only the settings"


def test_assets_and_schedules_follow_the_configuration_file(tmp_path):
    """A TOML file changes the topics, so it must change the Assets and schedules too."""
    config = tmp_path / "ecohub.toml"
    config.write_text(
        '[kafka]\ntopic_prefix = "cityhub"\n[portals.techport]\nschedule = "@daily"\n',
        encoding="utf-8",
    )
    code = (
        "import runpy; g = runpy.run_path('dags/ecohub_sync.py');"
        "dag = g['ecohub_sync_techport']; task = dag.get_task('sync_stream');"
        "print(sorted(a.name for a in task.outlets)[0]);"
        "print(g['ecohub_sync_stinet'].schedule, dag.schedule);"
        "load = runpy.run_path('dags/ecohub_load.py')['ecohub_load'];"
        "print(sorted(a.name for a in load.schedule.objects)[0])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOHUB_")}
    env["ECOHUB_CONFIG_FILE"] = str(config)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**env, "AIRFLOW_HOME": str(tmp_path / "airflow")},
    )
    assert out.stdout.splitlines()[-3:] == [
        "cityhub.organization.v1",
        "@hourly @daily",
        "cityhub.challenge.v1",
    ], out.stdout + out.stderr


def test_replay_default_stream_is_valid_for_every_portal(dagbag):
    """Empty stream = every stream of the chosen portal (one stream name exists on one portal)."""
    params = dagbag.dags["ecohub_replay"].params
    assert params["stream"] is None
    assert set(params.get_param("portal").schema["enum"]) == set(PORTALS)


def test_reconcile_dag_triggers_each_sync_dag_with_deletes_on(dagbag):
    dag = dagbag.dags["ecohub_reconcile_deletes"]
    for portal in PORTALS:
        task = dag.get_task(f"reconcile_{portal}")
        assert task.trigger_dag_id == f"ecohub_sync_{portal}"
        assert task.conf == {"reconcile_deletes": True}
        sync = dagbag.dags[f"ecohub_sync_{portal}"]
        assert sync.params["reconcile_deletes"] is False
