"""Validate events with Great Expectations and load the warehouse exactly once, then reconcile
the runs whose events are all consumed. Scheduled on the entity-topic Assets the sync DAGs
emit (names from the configured topic prefix)."""

from __future__ import annotations

from dataclasses import asdict

from airflow.sdk import DAG, AssetAny, get_current_context, task

from ecohub.catalog import ENTITY_TYPES
from ecohub.orchestration import DEFAULT_ARGS, START, dag_settings, entity_assets
from ecohub.settings import load_settings

with DAG(
    dag_id="ecohub_load",
    description="Validate events with Great Expectations and load the warehouse, exactly once",
    schedule=AssetAny(*entity_assets(ENTITY_TYPES, dag_settings())),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "load", "quality"],
) as ecohub_load:

    @task
    def consume() -> dict:
        # deferred: no engine at DAG parse time
        from ecohub.lineage import parent_from_airflow, parent_run
        from ecohub.loader import consume as run
        from ecohub.loader import default_workers

        settings = load_settings()
        with parent_run(parent_from_airflow(get_current_context())):  # OpenLineage parent
            # ECOHUB_LOADER_WORKERS=N: N loader processes in the task, one consumer group
            workers = default_workers(settings)
            return asdict(run(settings, idle_timeout_s=10.0, workers=workers))

    @task
    def reconcile() -> list[dict]:
        # deferred: no engine at DAG parse time
        from ecohub.lineage import parent_from_airflow, parent_run
        from ecohub.ops import reconcile_pending

        with parent_run(parent_from_airflow(get_current_context())):
            return reconcile_pending(load_settings())

    consume() >> reconcile()
