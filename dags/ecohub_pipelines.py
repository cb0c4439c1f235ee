"""ecohub's Airflow DAGs: one sync DAG per portal, the load-and-quality DAG scheduled on the
entity-topic Assets they emit, a replay DAG and a report DAG.

This file only wires tasks; every task body imports the engine lazily, so parsing it costs
nothing but the standard library and ``airflow.sdk`` (see Airflow's best practices: no I/O and no
heavy imports at parse time). Tasks are transactions: a sync task publishes and saves cursor state
page by page, so a retry resumes; the loader is exactly-once through offsets stored with rows.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, AssetAny, Param, get_current_context, task

from ecohub.catalog import ENTITY_TYPES, PORTAL_ENTITIES, asset_uri, topic_name

PREFIX = os.environ.get("ECOHUB_KAFKA__TOPIC_PREFIX", "ecohub")
START = datetime(2026, 1, 1)
DEFAULT_ARGS = {
    "owner": "ecohub",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=2),
}


def _assets(entity_types: tuple[str, ...]) -> list[Asset]:
    return [Asset(name=topic_name(e, PREFIX), uri=asset_uri(e, PREFIX)) for e in entity_types]


def _sync_dag(portal: str) -> DAG:
    schedule = os.environ.get(f"ECOHUB_{portal.upper()}__SCHEDULE", "@hourly") or None
    with DAG(
        dag_id=f"ecohub_sync_{portal}",
        description=f"Incremental sync of {portal}: fetch, land, normalize, publish",
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["ecohub", "sync", portal],
        params={
            "reconcile_deletes": Param(
                False,
                type="boolean",
                description="also list every key to detect deletions (Techport has no delete "
                "signal); the ecohub_reconcile_deletes DAG triggers this daily",
            )
        },
        doc_md=f"Pulls every stream of **{portal}** since its saved cursor (with lookback), lands "
        "raw pages, publishes canonical events, records extract counts for reconciliation.",
    ) as dag:

        @task
        def list_streams(portal: str = portal) -> list[str]:
            from connectors import get_connector

            return get_connector(portal).stream_names

        @task(outlets=_assets(PORTAL_ENTITIES[portal]), max_active_tis_per_dag=1)
        def sync_stream(stream: str, portal: str = portal) -> dict:
            from connectors.airflow import settings_with_airflow_connections
            from ecohub.lineage import parent_from_airflow, parent_run
            from ecohub.pipeline import sync_stream as run
            from ecohub.settings import load_settings

            context = get_current_context()
            settings = settings_with_airflow_connections(load_settings())
            with parent_run(parent_from_airflow(context)):  # OpenLineage: the task is the parent
                return run(
                    portal,
                    stream,
                    run_id=f"{portal}-{context['run_id']}",
                    settings=settings,
                    reconcile_deletes=bool(context["params"].get("reconcile_deletes")),
                ).as_dict()

        @task
        def ensure_topics() -> list[str]:
            from ecohub.kafka import ensure_topics as run
            from ecohub.settings import load_settings

            return run(load_settings())

        streams = list_streams()
        ensure_topics() >> streams
        sync_stream.expand(stream=streams)
    return dag


for _portal in PORTAL_ENTITIES:
    globals()[f"ecohub_sync_{_portal}"] = _sync_dag(_portal)


with DAG(
    dag_id="ecohub_reconcile_deletes",
    description="Daily key-set reconciliation: deletes for portals without a delete signal",
    schedule="@daily",
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "sync", "deletes"],
) as ecohub_reconcile_deletes:
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    for _portal in PORTAL_ENTITIES:
        TriggerDagRunOperator(
            task_id=f"reconcile_{_portal}",
            trigger_dag_id=f"ecohub_sync_{_portal}",
            conf={"reconcile_deletes": True},
        )


with DAG(
    dag_id="ecohub_load",
    description="Validate events with Great Expectations and load the warehouse, exactly once",
    schedule=AssetAny(*_assets(ENTITY_TYPES)),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "load", "quality"],
) as ecohub_load:

    @task
    def consume() -> dict:
        from dataclasses import asdict, is_dataclass

        from ecohub.lineage import parent_from_airflow, parent_run
        from ecohub.loader import consume as run
        from ecohub.settings import load_settings

        with parent_run(parent_from_airflow(get_current_context())):
            stats = run(load_settings(), idle_timeout_s=10.0)
        return asdict(stats) if is_dataclass(stats) else dict(stats)  # type: ignore[arg-type]

    @task
    def reconcile() -> list[dict]:
        from ecohub.lineage import parent_from_airflow, parent_run
        from ecohub.ops import reconcile_pending
        from ecohub.settings import load_settings

        with parent_run(parent_from_airflow(get_current_context())):
            return reconcile_pending(load_settings())

    consume() >> reconcile()


with DAG(
    dag_id="ecohub_replay",
    description="Rebuild events from the raw landing zone without calling the portals",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "replay"],
    params={
        "portal": Param("techport", enum=list(PORTAL_ENTITIES)),
        "stream": Param("technologies", type="string"),
        "date_from": Param(None, type=["null", "string"], format="date"),
        "date_to": Param(None, type=["null", "string"], format="date"),
    },
) as ecohub_replay:

    @task
    def replay_stream() -> dict:
        from datetime import date

        from ecohub.lineage import parent_from_airflow, parent_run
        from ecohub.pipeline import replay

        context = get_current_context()
        p = context["params"]
        with parent_run(parent_from_airflow(context)):
            report = replay(
                p["portal"],
                p["stream"],
                date_from=date.fromisoformat(p["date_from"]) if p["date_from"] else None,
                date_to=date.fromisoformat(p["date_to"]) if p["date_to"] else None,
            )
        return report.as_dict()

    replay_stream()


with DAG(
    dag_id="ecohub_report",
    description="Write the auditors' quality and reconciliation report",
    schedule="@daily",
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "report"],
) as ecohub_report:

    @task
    def write_report() -> str:
        from ecohub.report import write_report as run
        from ecohub.settings import load_settings

        return str(run(load_settings()))

    write_report()
